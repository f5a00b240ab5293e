"""Notifications' jobs (django-q2, run in one tenant's schema by tenants.tasks)."""

from __future__ import annotations

import datetime as dt

from notifications.services import sending as services
from tenants.tasks import every_tenant


def deliver(notification_id: int) -> str:
    """Send one message (or decide it is not to be sent), with retries."""
    return services.deliver(notification_id)


def on_order_status(order_id: int, status: str) -> int:
    return services.on_order_status(order_id, status)


def notify_orders(order_ids: list[int], event: str) -> int:
    return services.notify_orders(order_ids, event)


def route_watch_by_id(route_id: int) -> int:
    return services.route_watch_by_id(route_id)


def notify_rescheduled(order_id: int) -> int:
    return services.notify_rescheduled(order_id)


# customers hear when the live ETA leaves the window promised, or is minutes away
@every_tenant("watch ETAs", "I", 1)
def eta_watch(now: dt.datetime | None = None) -> int:
    return services.eta_watch(now)


# messages whose worker died while sending: asked of the provider, not sent twice
@every_tenant("reconcile messages", "I", 5)
def sending_reconcile(now: dt.datetime | None = None) -> int:
    return services.sending_reconcile(now)


# messages left pending with no job (the broker was away when they were queued)
@every_tenant("re-queue stranded messages", "I", 5)
def pending_requeue(now: dt.datetime | None = None) -> int:
    return services.pending_requeue(now)
