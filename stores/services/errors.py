"""The two ways a call to a store fails, as every store module and the write-back engine
speak of them. Apart from stores.services.sources.base (which re-exports them) so that a
store's API client (stores.services.shopify_admin) can raise them without importing the
order sources that use it: no import circle inside stores.services."""

from __future__ import annotations


class RetryLater(Exception):
    """Try again, not before `after` seconds (None: the usual backoff); `counts`: whether
    this try uses up one of the tries (a throttled call does not)."""

    def __init__(self, message: str, *, after: float | None = None, counts: bool = True):
        super().__init__(message)
        self.after = after
        self.counts = counts


class PermanentError(Exception):
    """The store refused for good: shown on the order and on the store's settings."""
