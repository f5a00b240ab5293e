"""What the stores do when an order moves: its progress is written back to the store it
came from (stores.services.writeback). When one order of a route sets off, the van has
left with every parcel of the route, so each of them is marked out for delivery; a
delivered or failed stop is written back as it ends. Pickups are not written back (the
store's order is the delivery)."""

from __future__ import annotations

from django.dispatch import receiver

from dispatch.models import Order, OrderStatus
from dispatch.signals import order_status_changed, store_disconnected
from routing.selectors import published_stop
from stores.models import WriteBack
from stores.services import writeback
from stores.services.sources import registry


def _store_sources() -> list[str]:
    return [s.key for s in registry.all_sources() if s.writes_back]


#: An order in the van: given to the driver, on the way, at the door.
IN_THE_VAN = (OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, OrderStatus.ARRIVED)


def _set_off_key(order_id: int, route_id: int) -> str:
    """Once per order and route: an order that failed and is rebooked sets off again on
    another day's route, and the shop is told so again."""
    return f"set_off:{order_id}:{route_id}"


def _route_set_off(order: Order) -> None:
    """`order` set off on its route: the van has left with every parcel of the route, so
    each store order in it is marked out for delivery (`order` itself always)."""
    itself = order.source in _store_sources() and order.kind == Order.Kind.DELIVERY
    stop = published_stop(order.pk)
    if stop is None:  # not on a published route (a stop moved by hand): itself only
        if itself:
            writeback.record(order, WriteBack.Action.SET_OFF, key=f"set_off:{order.pk}:none")
        return
    route_id = stop.route_id
    # its newest published route only: the stops of an older plan of the day are not
    # in this van
    others = list(
        Order.objects.filter(
            planstop__route_id=route_id,
            source__in=_store_sources(),
            kind=Order.Kind.DELIVERY,
            status__in=IN_THE_VAN,
        )
        .exclude(pk=order.pk)
        .distinct()
    )
    candidates = [order, *others] if itself else others
    recorded = set(
        WriteBack.objects.filter(
            key__in=[_set_off_key(o.pk, route_id) for o in candidates]
        ).values_list("key", flat=True)
    )  # every tap of the day after the first finds them recorded: one query
    for each in candidates:
        key = _set_off_key(each.pk, route_id)
        if key not in recorded:
            writeback.record(each, WriteBack.Action.SET_OFF, key=key)


@receiver(order_status_changed, dispatch_uid="stores-write-back")
def on_status_changed(sender, *, order, from_status, to_status, **kwargs) -> None:
    if to_status == OrderStatus.EN_ROUTE:
        _route_set_off(order)
    elif order.source not in _store_sources() or order.kind != Order.Kind.DELIVERY:
        return
    elif to_status == OrderStatus.DELIVERED:
        writeback.record(order, WriteBack.Action.DELIVERED)
    elif to_status == OrderStatus.FAILED:
        # once per failure: a rebooked order that fails again is told again
        last = order.events.order_by("-created_at", "-id").values_list("pk", flat=True).first()
        writeback.record(order, WriteBack.Action.FAILED, key=f"failed:{order.pk}:{last}")


@receiver(store_disconnected, dispatch_uid="stores-disconnected")
def on_store_disconnected(sender, *, platform, store, **kwargs) -> None:
    """A store uninstalled or disconnected for good: what it had pending is dropped."""
    writeback.cancel_pending(platform=platform, store=store)
