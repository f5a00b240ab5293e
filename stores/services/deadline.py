"""The time one try of a write-back may take. The engine (stores.services.writeback) sets
it around a source's `write_back`; the store modules call `check` before each call to the
store, so a slow store stops the try (it is tried again later) instead of running past the
try's lease while another worker takes the write-back up.

Held in a context variable rather than passed down: the check sits in the API clients
(WooCommerceApi.call) under the sources, which also serve calls outside any try (the
Stores page's key check), where there is no deadline and `check` does nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.utils import timezone

from stores.services.errors import RetryLater

_ends_at: ContextVar[dt.datetime | None] = ContextVar("store_try_ends_at", default=None)


@contextmanager
def limit(*, seconds: float) -> Iterator[None]:
    """Calls to stores inside this block are not started after `seconds` from now."""
    token = _ends_at.set(timezone.now() + dt.timedelta(seconds=seconds))
    try:
        yield
    finally:
        _ends_at.reset(token)


def check() -> None:
    """Before a call to a store: RetryLater (a counted try) once the try's time is up."""
    ends_at = _ends_at.get()
    if ends_at is not None and timezone.now() >= ends_at:
        raise RetryLater("The store answered too slowly: the try ran out of time.")
