"""Pickup-and-delivery pairs: an order collected at one address, then delivered at another.

Each end is an order of its own (its stop, status, proof, messages and tracking page work
as for any order); the pickup has `kind` "pickup" and `PickupDelivery` links the two. The
order services (dispatch.services.orders) call these when an order is sent with a
`pickup`, and keep the two ends together when one is cancelled or rebooked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

from core.bulk import copy_insert
from dispatch.models import Order, OrderEvent, PickupDelivery

#: What the pickup takes from its delivery: the parcel and the day are the same.
SHARED_WITH_DELIVERY = (
    "delivery_date",
    "delivery_date_as_written",
    "weight_kg",
    "volume_l",
    "items",
    "required_skills",
    "barcodes",
    "priority",
)


def pickup_order_of(*, delivery: Order, pickup: Mapping[str, Any]) -> Order:
    """The (unsaved) pickup order for `delivery`, from the clean `pickup` values."""
    values = {name: getattr(delivery, name) for name in SHARED_WITH_DELIVERY}
    values.update(pickup)
    located = values.get("lat") is not None and values.get("lng") is not None
    return Order(
        **values,
        kind=Order.Kind.PICKUP,
        source=delivery.source,
        geocode_status=Order.GeocodeStatus.PROVIDED if located else Order.GeocodeStatus.PENDING,
    )


def pairs_create(pairs: Iterable[tuple[Order, Mapping[str, Any]]], *, actor: str) -> list[Order]:
    """Create the pickup order of each (saved delivery, clean pickup values) and link the
    two; in the caller's transaction. Returns the new pickups."""
    pairs = list(pairs)
    pickups = [pickup_order_of(delivery=d, pickup=p) for d, p in pairs]
    if not pickups:
        return []
    copy_insert(Order, pickups)
    copy_insert(
        OrderEvent,
        [OrderEvent(order=p, from_status="", to_status=p.status, actor=actor) for p in pickups],
    )
    PickupDelivery.objects.bulk_create(
        PickupDelivery(pickup=p, delivery=d) for p, (d, _) in zip(pickups, pairs, strict=True)
    )
    return pickups


def partner_of(order: Order) -> Order | None:
    """The other end of `order`'s pair (its delivery for a pickup, and the reverse), or None."""
    if order.kind == Order.Kind.PICKUP:
        pair = PickupDelivery.objects.select_related("delivery").filter(pickup=order).first()
        return pair.delivery if pair else None
    pair = PickupDelivery.objects.select_related("pickup").filter(delivery=order).first()
    return pair.pickup if pair else None


def locked_with_partner(order: Order) -> Order:
    """`order` read again and locked (select_for_update) together with the other end of
    its pair, both in pk order; in the caller's transaction. Changes that go on to the
    other end (cancelling, failing or rebooking one end, an update of the pickup's details)
    lock both ends first, always in the same order: a store cancelling the delivery while a
    dispatcher cancels its pickup then wait for each other instead of deadlocking. An order
    without a pair is locked alone. Raises Order.DoesNotExist as `get` would."""
    link = (
        PickupDelivery.objects.filter(Q(pickup_id=order.pk) | Q(delivery_id=order.pk))
        .values_list("pickup_id", "delivery_id")
        .first()
    )
    ids = {order.pk, *(link or ())}
    locked = {
        row.pk: row for row in Order.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    if order.pk not in locked:
        raise Order.DoesNotExist(f"Order {order.pk} does not exist.")
    return locked[order.pk]


def pickup_of(order: Order) -> Order | None:
    """The pickup of a delivery, or None (a plain order, or a pickup itself)."""
    return partner_of(order) if order.kind != Order.Kind.PICKUP else None


def pickups_by_delivery(delivery_ids: Iterable[int]) -> dict[int, Order]:
    """delivery id → its pickup order, for those of `delivery_ids` that have one."""
    pairs = PickupDelivery.objects.select_related("pickup").filter(delivery_id__in=delivery_ids)
    return {pair.delivery_id: pair.pickup for pair in pairs}
