"""Publishing a plan: routes handed to their drivers, orders dispatched, version 1 of
every route recorded; and the order-status moves that follow a route's changes."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from dispatch.models import Order, OrderStatus
from dispatch.services.orders import order_transition
from routing.models import Plan, PlanStop
from routing.signals import plan_published

from .routes import plan_touched, revision_check, version_create


def order_dispatch(order: Order, *, actor: str) -> None:
    """Move an order to dispatched through the statuses the state machine requires
    (failed → unassigned → planned → dispatched); already there, nothing happens."""
    order.refresh_from_db(fields=["status"])
    path = {
        OrderStatus.FAILED: [OrderStatus.UNASSIGNED, OrderStatus.PLANNED, OrderStatus.DISPATCHED],
        OrderStatus.UNASSIGNED: [OrderStatus.PLANNED, OrderStatus.DISPATCHED],
        OrderStatus.PLANNED: [OrderStatus.DISPATCHED],
    }.get(order.status, [])
    for status in path:
        order_transition(order=order, to=status, actor=actor, reason="On a published route")


def order_release(order: Order, *, actor: str, reason: str = "Taken off its route") -> None:
    """A dispatched or planned order taken off every route goes back to unassigned."""
    order.refresh_from_db(fields=["status"])
    if order.status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
        order_transition(order=order, to=OrderStatus.UNASSIGNED, actor=actor, reason=reason)


@transaction.atomic
def plan_publish(*, plan: Plan, actor: str, revision: int | None = None) -> Plan:
    """Hand the plan's routes to their drivers: orders on them become dispatched, each
    route gets version 1 (whose `route_version_created` drives customer notifications
    and the `route.published` webhook), and `plan_published` is sent.

    Refused while the plan is being solved and when an order on it has meanwhile gone
    out with another plan (or was cancelled). Rules a manual edit broke stay flagged on
    the routes; the dispatcher saw them before pressing publish. Publishing twice is
    harmless.
    """
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.is_published:
        return plan
    revision_check(plan, revision)  # what the dispatcher confirmed is what goes out
    if plan.status != Plan.Status.DONE:
        raise ValidationError({"plan": gettext("Only a solved plan can be published.")})
    stops = PlanStop.objects.filter(route__plan=plan, order__isnull=False).select_related("order")
    taken = sorted(
        s.order_id
        for s in stops
        if s.order.status not in (OrderStatus.UNASSIGNED, OrderStatus.PLANNED)
    )
    if taken:
        listed = ", ".join(f"#{pk}" for pk in taken[:20])
        raise ValidationError(
            {
                "plan": gettext(
                    "Orders %(orders)s are no longer open (dispatched with another plan, "
                    "cancelled or delivered). Re-solve the plan first."
                )
                % {"orders": listed}
            }
        )
    for stop in stops:
        order_dispatch(stop.order, actor=actor)
    routes = list(plan.routes.filter(stops__isnull=False).distinct())
    for route in routes:
        route.planned_distance_m, route.planned_duration_s = route.distance_m, route.duration_s
        route.save(update_fields=["planned_distance_m", "planned_duration_s"])
        version_create(route, reason="Published", actor=actor)
    plan.published_at, plan.published_by = timezone.now(), actor[:150]
    plan.save(update_fields=["published_at", "published_by"])
    plan_touched(plan, actor=actor)
    plan_published.send(sender=Plan, plan=plan, routes=routes)
    return plan
