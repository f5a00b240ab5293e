"""What the stores do when an order moves: its progress is written back to the store it
came from (stores.services.writeback). When one order of a route sets off, the van has
left with every parcel of the route, so each of them is marked out for delivery."""

from __future__ import annotations

from django.dispatch import receiver

from dispatch.models import Order, OrderStatus
from dispatch.models.orders import FINAL_STATUSES
from dispatch.signals import order_status_changed
from routing.models import PlanStop
from stores.models import WriteBack
from stores.services import writeback
from stores.services.sources import registry


def _store_sources() -> list[str]:
    return [s.key for s in registry.all_sources() if s.writes_back]


def _route_orders(order: Order) -> list[Order]:
    """The store orders on the published route `order` sets off on (itself included)."""
    route_ids = PlanStop.objects.filter(
        order=order, route__plan__published_at__isnull=False
    ).values_list("route_id", flat=True)
    on_route = PlanStop.objects.filter(route_id__in=list(route_ids)).values("order_id")
    orders = Order.objects.filter(
        pk__in=on_route, source__in=_store_sources(), kind=Order.Kind.DELIVERY
    ).exclude(status__in=FINAL_STATUSES)
    return list({order.pk: order, **{o.pk: o for o in orders}}.values())


@receiver(order_status_changed, dispatch_uid="stores-write-back")
def on_status_changed(sender, *, order, from_status, to_status, **kwargs) -> None:
    if order.source not in _store_sources() and to_status != OrderStatus.EN_ROUTE:
        return
    if to_status == OrderStatus.EN_ROUTE:
        for each in _route_orders(order):
            if each.source in _store_sources():
                writeback.record(each, WriteBack.Action.SET_OFF)
    elif to_status == OrderStatus.DELIVERED:
        writeback.record(order, WriteBack.Action.DELIVERED)
    elif to_status == OrderStatus.FAILED:
        last = order.events.order_by("-created_at", "-id").values_list("pk", flat=True).first()
        writeback.record(order, WriteBack.Action.FAILED, key=f"failed:{order.pk}:{last}")
