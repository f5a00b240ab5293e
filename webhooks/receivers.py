"""What the other apps announce, as webhook events (recorded inside their transactions)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from dispatch.models import Order
from dispatch.signals import order_status_changed, orders_created
from notifications.signals import eta_window_changed
from routing.models import PlanRoute
from routing.signals import route_version_created
from webhooks.models import Event
from webhooks.services import emit, emit_many


def _order(order) -> dict[str, Any]:
    return {
        "id": order.pk,
        "external_id": order.external_id,
        "source": order.source,
        "kind": order.kind,  # "pickup": the first half of a pickup-and-delivery pair
        "status": order.status,
        "delivery_date": order.delivery_date,
        "time_windows": order.time_windows,
    }


@receiver(orders_created, dispatch_uid="webhook-created")
def on_orders_created(sender, *, order_ids, **kwargs) -> None:
    def orders():  # read only when a subscription wants them
        for order in Order.objects.filter(pk__in=order_ids).order_by("pk"):
            yield f"order.created:{order.pk}", {"order": _order(order)}

    emit_many(Event.ORDER_CREATED, orders())


def _wanted(*events: str) -> bool:
    """Whether any active subscription wants one of `events` (one small query, so that a
    business without webhooks pays nothing more on every status change)."""
    from django.db.models import Q

    from webhooks.models import Subscription

    wanted = Q()
    for event in events:
        wanted |= Q(events__contains=[event])
    return Subscription.objects.filter(wanted, active=True).exists()


@receiver(order_status_changed, dispatch_uid="webhook-status")
def on_status_changed(sender, *, order, from_status, to_status, actor, reason="", **kwargs):
    if not _wanted(Event.ORDER_STATUS_CHANGED, Event.ROUTE_COMPLETED):
        return
    last = order.events.order_by("-created_at", "-id").values_list("pk", flat=True).first()
    emit(
        Event.ORDER_STATUS_CHANGED,
        key=f"order.status:{order.pk}:{last}",
        data={
            "order": _order(order),
            "from": from_status,
            "to": str(to_status),
            "actor": actor,
            "reason": reason,
        },
    )
    if to_status in ("delivered", "failed", "cancelled"):
        _route_completed(order)


def _route(route) -> dict[str, Any]:
    return {
        "id": route.pk,
        "plan": route.plan_id,
        "date": route.plan.date,
        "driver": route.driver.name,
        "vehicle": route.vehicle.name,
        "version": route.version,
    }


def _route_completed(order) -> None:
    """The order's published route has no stop left to serve: route.completed, once."""
    routes = PlanRoute.objects.filter(
        plan__published_at__isnull=False, stops__order=order
    ).select_related("plan", "driver", "vehicle")
    for route in routes:
        orders = list(route.stops.exclude(order=None).values_list("order__status", flat=True))
        if orders and all(s in ("delivered", "failed", "cancelled") for s in orders):
            emit(
                Event.ROUTE_COMPLETED,
                key=f"route.completed:{route.pk}",
                data={
                    "route": _route(route),
                    "delivered": orders.count("delivered"),
                    "failed": orders.count("failed"),
                    "cancelled": orders.count("cancelled"),
                },
            )


@receiver(route_version_created, dispatch_uid="webhook-version")
def on_route_version(sender, *, version, **kwargs) -> None:
    """A route version for a driver: version 1 when the plan is published, then every change
    (a moved stop, an urgent order): `route.published` with its number."""
    route = version.route
    stops = list(
        route.stops.exclude(order=None).order_by("sequence").values_list("order_id", "starts_at")
    )
    emit(
        Event.ROUTE_PUBLISHED,
        key=f"route.published:{route.pk}:{version.number}",
        data={
            "route": {**_route(route), "version": version.number},
            "changes": version.changes,
            "stops": [{"order": o, "starts_at": t} for o, t in stops],
        },
    )


@receiver(eta_window_changed, dispatch_uid="webhook-eta")
def on_eta_promised(sender, *, order, starts_at, ends_at, eta, changes, **kwargs) -> None:
    emit(
        Event.ORDER_ETA_CHANGED,
        key=f"order.eta:{order.pk}:{changes}",
        data={"order": _order(order), "eta": eta, "window": {"start": starts_at, "end": ends_at}},
    )
