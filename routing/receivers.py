"""What routing does when dispatch announces a change: orders that leave their day or
their route leave the plans (routing.services.live); orders that arrive for today, get
their coordinates or are rebooked for today are auto-dispatched by a job after the commit
(routing.services.auto_dispatch), when the tenant asked for it."""

from __future__ import annotations

from django.dispatch import receiver

from dispatch.models import Order, OrderStatus
from dispatch.signals import (
    order_rescheduled,
    order_status_changed,
    orders_created,
    orders_located,
)
from routing import tasks
from routing.services.auto_dispatch import tenant_today
from routing.services.live import order_left_routes, order_rescheduled_in_plans
from routing.services.routes import DROPPED
from tenants.selectors import current_tenant
from tenants.tasks import enqueue_after_commit


@receiver(order_status_changed, dispatch_uid="routing-drop-stop")
def on_order_status_changed(sender, *, order, from_status, to_status, actor, **kwargs) -> None:
    """An order that fails or is cancelled leaves every route; one sent back to
    unassigned leaves published routes (a draft plan keeps it: it is open again)."""
    if to_status in DROPPED:
        unassigned = to_status == OrderStatus.UNASSIGNED
        order_left_routes(
            order=order,
            reason="manual" if unassigned else str(to_status),
            actor=actor,
            published_only=unassigned,
        )


@receiver(order_rescheduled, dispatch_uid="routing-rescheduled")
def on_order_rescheduled(sender, *, order, actor="", **kwargs) -> None:
    order_rescheduled_in_plans(order=order, actor=actor)
    _auto_dispatch_later([order.pk])


@receiver(orders_created, dispatch_uid="routing-auto-dispatch-created")
def on_orders_created(sender, *, order_ids, **kwargs) -> None:
    _auto_dispatch_later(order_ids)


@receiver(orders_located, dispatch_uid="routing-auto-dispatch-located")
def on_orders_located(sender, *, order_ids, **kwargs) -> None:
    _auto_dispatch_later(order_ids)


def _auto_dispatch_later(order_ids: list[int]) -> None:
    """One job per batch, after the commit, for the batch's open orders booked for today
    (the job checks again: it may run much later)."""
    if not current_tenant().auto_dispatch:
        return
    today = Order.objects.filter(
        pk__in=list(order_ids), delivery_date=tenant_today(), status=OrderStatus.UNASSIGNED
    )
    ids = sorted(today.values_list("pk", flat=True))
    if ids:
        enqueue_after_commit(
            tasks.orders_auto_dispatch, ids, task_name=f"auto-dispatch-{ids[0]}-{len(ids)}"
        )
