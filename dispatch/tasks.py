"""Dispatch's background jobs. Each is queued by reference (tenants.tasks), runs in its
tenant's schema (`tenants.tasks.run_in_schema` enters it) and calls one service."""

from __future__ import annotations

from dispatch.services import geocoding, recurring, retention, shopify
from tenants.tasks import every_tenant


def geocode_orders(order_ids: list[int]) -> dict[str, int]:
    """Find the coordinates of these orders, if they still wait for them."""
    return geocoding.geocode_orders(order_ids)


def shopify_webhook_process(event_pk: int) -> str:
    """Apply a stored Shopify webhook (once, however often it is queued)."""
    return shopify.webhook_event_process(event_pk)


@every_tenant("purge old idempotency keys", "D")
def idempotency_records_purge() -> int:
    """Forget idempotency keys older than a day (clients retry within minutes)."""
    return retention.idempotency_records_purge()


@every_tenant("create recurring orders", "H")
def recurring_orders_materialise() -> dict[str, int]:
    """Make the orders of every schedule's days that are now within its lead time
    (hourly, so each tenant's new day is covered soon after its own midnight)."""
    return recurring.recurring_materialise_all()
