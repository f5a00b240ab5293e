"""What routing does when dispatch announces a change: orders that leave their day or
their route leave the plans (routing.services.live)."""

from __future__ import annotations

from django.dispatch import receiver

from dispatch.models import OrderStatus
from dispatch.signals import order_rescheduled, order_status_changed
from routing.services.live import order_left_routes, order_rescheduled_in_plans
from routing.services.routes import DROPPED


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
