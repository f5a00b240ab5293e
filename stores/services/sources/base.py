"""What every order source is, and what an online store adds.

- `OrderSource`: a way orders come in (the API, a CSV file, a store). It names the
  `Order.Source` it creates orders under and says whether changes are written back.
- `StoreSource`: an online store platform (Shopify, WooCommerce). Its webhooks are
  verified by the platform module and applied by dispatch.services.store_intake; when an
  order it created sets off, is delivered or fails, the write-back engine
  (stores.services.writeback) calls `write_back`, which talks to the store.

A write-back raises `RetryLater` for a passing failure (a throttled call, the store down)
and `PermanentError` for one that no retry will fix (the token revoked, the order gone);
anything else is retried with backoff until the tries run out. A write-back's try has a
deadline: a source calls `stores.services.deadline.check()` before each call to the store
(it raises RetryLater once the try's time is up).
"""

from __future__ import annotations

from typing import Any, ClassVar

from dispatch.models import Order
from stores.services.errors import PermanentError, RetryLater

__all__ = ["OrderSource", "PermanentError", "RetryLater", "StoreSource"]


class OrderSource:
    """A way orders come in."""

    key: ClassVar[str]  # the Order.Source value
    label: ClassVar[str]
    writes_back: ClassVar[bool] = False

    def describe(self, store: str) -> str:
        """Where an order of this source came from, for people."""
        return self.label if not store else f"{self.label} ({store})"


class StoreSource(OrderSource):
    """An online store platform: orders in by signed webhooks, their progress written back."""

    writes_back = True

    def connection(self, store: str) -> Any | None:
        """The store's active connection (None: disconnected, nothing is written back)."""
        raise NotImplementedError

    def can_write_back(self, store: str) -> bool:
        """Whether changes of this store's orders are written back (an app with a token,
        a store with API keys)."""
        return self.connection(store) is not None

    def write_back(self, action: str, order: Order, *, store: str, state: dict) -> dict:
        """Write `action` (WriteBack.Action) of `order` back to the store; `state` holds
        what earlier write-backs of this order returned (e.g. a fulfilment id). Returns
        what to keep. Raises RetryLater or PermanentError."""
        raise NotImplementedError

    def record_error(self, store: str, message: str) -> None:
        """Show a permanent write-back error on the store's settings page."""
