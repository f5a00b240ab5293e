"""Orders in, and the status state machine, the only writer of `Order.status`.

Every channel (API, CSV, Shopify, dashboard) creates and changes orders here, and every
input is checked by the one order input schema (dispatch.services.order_input). Who acts
is the request's (audit.services.current_actor) unless the caller names someone else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from audit.services import current_actor
from core.bulk import copy_insert
from dispatch.models import Order, OrderEvent, OrderStatus
from dispatch.models.orders import FINAL_STATUSES
from dispatch.services import (
    geocoding,  # the module: geocoding → dispatch.tasks → shopify → here
    pairs,
)
from dispatch.services.order_input import (
    LATEST_BEFORE_DELIVERY,
    UnreadDate,
    order_clean,
    order_schema,
)
from dispatch.signals import (
    order_rescheduled,
    order_status_changed,
    orders_created,
    orders_located,
)
from tenants.selectors import current_tenant

# The state machine: from each status, where an order may go next.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.UNASSIGNED: frozenset({OrderStatus.PLANNED, OrderStatus.CANCELLED}),
    OrderStatus.PLANNED: frozenset(
        {OrderStatus.UNASSIGNED, OrderStatus.DISPATCHED, OrderStatus.CANCELLED}
    ),
    OrderStatus.DISPATCHED: frozenset(
        {OrderStatus.EN_ROUTE, OrderStatus.UNASSIGNED, OrderStatus.PLANNED, OrderStatus.CANCELLED}
    ),
    OrderStatus.EN_ROUTE: frozenset(
        {OrderStatus.ARRIVED, OrderStatus.DISPATCHED, OrderStatus.FAILED, OrderStatus.CANCELLED}
    ),
    OrderStatus.ARRIVED: frozenset({OrderStatus.DELIVERED, OrderStatus.FAILED}),
    OrderStatus.DELIVERED: frozenset(),
    # A failed delivery can go back to the pool to be tried again another time.
    OrderStatus.FAILED: frozenset({OrderStatus.UNASSIGNED}),
    OrderStatus.CANCELLED: frozenset(),
}


class OrderConflict(Exception):
    """An order with this external id already exists for this source."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} already has this external id")
        self.order_id = order_id


def _geocode_state(values: dict[str, Any]) -> dict[str, Any]:
    has_location = values.get("lat") is not None and values.get("lng") is not None
    return {
        "geocode_status": Order.GeocodeStatus.PROVIDED
        if has_location
        else Order.GeocodeStatus.PENDING,
        "geocode_error": "",
    }


def _dated(clean: dict[str, Any]) -> dict[str, Any]:
    """The order's values with its date as stored: a date the store wrote that could not
    be read (UnreadDate) leaves the order needing a date, with the text kept to show."""
    date = clean.get("delivery_date")
    if isinstance(date, UnreadDate):
        limit = Order._meta.get_field("delivery_date_as_written").max_length
        return {**clean, "delivery_date": None, "delivery_date_as_written": date.text[:limit]}
    if "delivery_date" in clean:
        return {**clean, "delivery_date_as_written": ""}
    return clean


def _tenant_country() -> str:
    return current_tenant().country


@dataclass
class BulkResult:
    """Per-item outcome of a bulk create, in the order the items were sent."""

    index: int
    status: str  # created | exists | invalid
    id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    order: Order | None = None  # the new order, when created


def orders_create(
    items: Iterable[Mapping[str, Any]], *, source: str, actor: str | None = None
) -> list[BulkResult]:
    """Create many orders; good items are kept whatever is wrong with the others.

    An item whose `external_id` already exists for `source` is reported as `exists` with
    the existing order's id (so repeating a request creates nothing twice). Orders without
    coordinates are queued for geocoding.
    """
    actor = actor or current_actor()
    schema = order_schema(default_country=_tenant_country())
    results: list[BulkResult] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    seen_external: dict[str, int] = {}
    for index, data in enumerate(items):
        clean, errors = schema.clean(data)
        external = clean.get("external_id", "")
        if not errors and external and external in seen_external:
            errors = {
                "external_id": [
                    gettext("Repeats item %(index)s of this request.")
                    % {"index": seen_external[external]}
                ]
            }
        if errors:
            results.append(BulkResult(index=index, status="invalid", errors=errors))
            continue
        if external:
            seen_external[external] = index
        valid.append((index, clean))
        results.append(BulkResult(index=index, status="created"))

    externals = [clean["external_id"] for _, clean in valid if clean["external_id"]]
    valid_by_index = dict(valid)
    with transaction.atomic():
        existing = _existing_ids(source=source, external_ids=externals)
        to_create = []
        for index, clean in valid:
            if clean["external_id"] in existing:
                results[index].status, results[index].id = "exists", existing[clean["external_id"]]
                continue
            values = _dated({k: v for k, v in clean.items() if k != "pickup"})
            to_create.append((index, Order(source=source, **values, **_geocode_state(clean))))
        try:
            with transaction.atomic():
                copy_insert(Order, [order for _, order in to_create])
        except IntegrityError:
            # A concurrent request created some of the same external ids in between:
            # fall back to one at a time, each deciding created/exists on its own.
            for index, order in to_create:
                order.pk = None  # bulk_create may have set ids before the rollback
                try:
                    with transaction.atomic():
                        order.save()
                except IntegrityError:
                    other = Order.objects.get(source=source, external_id=order.external_id)
                    results[index].status, results[index].id = "exists", other.pk
                    order.pk = None
        created_by_index = {index: order for index, order in to_create if order.pk}
        for index, order in created_by_index.items():
            results[index].id, results[index].order = order.pk, order
        # an order sent with a `pickup`: its pickup order and the pair, in this transaction
        pickups = pairs.pairs_create(
            [
                (order, valid_by_index[i]["pickup"])
                for i, order in created_by_index.items()
                if valid_by_index[i].get("pickup")
            ],
            actor=actor,
        )
        copy_insert(
            OrderEvent,
            [
                OrderEvent(order=order, from_status="", to_status=order.status, actor=actor)
                for order in created_by_index.values()
            ],
        )
        created = [*created_by_index.values(), *pickups]
        _pairs_known(created)
        pending = [o.pk for o in created if o.geocode_status == "pending"]
        if pending:
            geocoding.geocode_orders_later(order_ids=pending)
        if created:
            orders_created.send(sender=Order, order_ids=[o.pk for o in created])
    return results


def _pairs_known(orders: Iterable[Order]) -> None:
    """New orders' pairs are known (made above, or none): say so to the reverse
    one-to-one accessors, so that the answer does not ask the database for each order."""
    for relation in ("pair_as_delivery", "pair_as_pickup"):
        field = Order._meta.get_field(relation)
        for order in orders:
            if not field.is_cached(order):
                field.set_cached_value(order, None)


def _existing_ids(*, source: str, external_ids: list[str]) -> dict[str, int]:
    """external id → order id, of those already known for `source`."""
    return dict(
        Order.objects.filter(source=source, external_id__in=external_ids).values_list(
            "external_id", "id"
        )
    )


def order_create(data: Mapping[str, Any], *, source: str, actor: str | None = None) -> Order:
    """Create one order. Raises ValidationError (field errors) or OrderConflict."""
    (result,) = orders_create([data], source=source, actor=actor)
    if result.status == "invalid":
        raise ValidationError(result.errors)
    if result.status == "exists":
        raise OrderConflict(result.id)
    return result.order


@transaction.atomic
def order_update(
    *,
    order: Order,
    data: Mapping[str, Any],
    actor: str | None = None,
    source_updated_at: dt.datetime | None = None,
    notify_customer: bool = True,
) -> Order:
    """Change an order's details. Orders out for delivery or finished are not editable.

    `source_updated_at` (e.g. Shopify's `updated_at`) makes stale updates harmless: an
    update older than the one already applied changes nothing. `notify_customer` False
    rebooks without a message to the customer (a draft plan's choice of day, which the
    customer hears of when it is published).
    """
    actor = actor or current_actor()
    if isinstance(data, Mapping) and not {"delivery_date", "pickup"}.isdisjoint(data):
        order = pairs.locked_with_partner(order)  # the change may go on to the other end
    else:
        order = Order.objects.select_for_update().get(pk=order.pk)
    if (
        source_updated_at
        and order.source_updated_at
        and source_updated_at <= order.source_updated_at
    ):
        return order
    if order.status in FINAL_STATUSES or order.status in (
        OrderStatus.EN_ROUTE,
        OrderStatus.ARRIVED,
    ):
        raise ValidationError(
            {
                "status": [
                    gettext("A %(status)s order cannot be changed.")
                    % {"status": order.get_status_display().lower()}
                ]
            }
        )
    clean, errors = order_clean(data, default_country=_tenant_country(), partial=True)
    if "external_id" in clean and clean["external_id"] != order.external_id:
        errors.setdefault("external_id", [gettext("The external id cannot change.")])
    if "pickup" in clean and order.kind == Order.Kind.PICKUP:
        errors.setdefault("pickup", [gettext("A pickup has no pickup of its own.")])
    if errors:
        raise ValidationError(errors)
    pickup_sent = clean.pop("pickup", None)
    if isinstance(clean.get("delivery_date"), UnreadDate) and order.delivery_date is not None:
        # A day it has beats a date that cannot be read, but the dispatcher is told.
        _unread_date_note(order=order, written=clean.pop("delivery_date").text, actor=actor)
    clean = _dated(clean)
    changed = {name for name, value in clean.items() if getattr(order, name) != value}
    old_date, old_windows = order.delivery_date, order.time_windows
    for name in changed:
        setattr(order, name, clean[name])
    if order.latest_date and order.delivery_date and order.latest_date < order.delivery_date:
        blamed = "latest_date" if "latest_date" in changed else "delivery_date"
        raise ValidationError({blamed: [str(LATEST_BEFORE_DELIVERY)]})
    if {"lat", "lng", "address_line1", "city", "postcode", "country"} & changed:
        if not {"lat", "lng"} & changed:  # address changed, coordinates not: find them again
            order.lat = order.lng = None
        for name, value in _geocode_state({"lat": order.lat, "lng": order.lng}).items():
            setattr(order, name, value)
        if order.geocode_status == Order.GeocodeStatus.PENDING:
            geocoding.geocode_orders_later(order_ids=[order.pk])
    if source_updated_at:
        order.source_updated_at = source_updated_at
    order.save()
    if {"lat", "lng"} & changed and order.lat is not None and order.lng is not None:
        # given coordinates by hand (or new ones): auto-dispatch may place it now
        orders_located.send(sender=Order, order_ids=[order.pk])
    if "delivery_date" in changed and order.status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
        # planned for the old day: back to the pool, to be planned on the new one
        order = order_transition(
            order=order,
            to=OrderStatus.UNASSIGNED,
            actor=actor,
            reason=f"rescheduled to {order.delivery_date:%Y-%m-%d}",
        )
    if {"delivery_date", "time_windows"} & changed and order.delivery_date is not None:
        order_rescheduled.send(
            sender=Order,
            order=order,
            old_date=old_date,
            old_windows=old_windows,
            actor=actor,
            notify_customer=notify_customer,
        )
    if "delivery_date" in changed:  # first: a failed pickup rebooked takes new details
        _partner_follows(order, actor=actor)
    if pickup_sent is not None:
        _pickup_set(delivery=order, pickup=pickup_sent, actor=actor)
    return order


#: Why a pickup in these states cannot take new details (its delivery still can).
_PICKUP_FIXED = {
    OrderStatus.DELIVERED: gettext_lazy("The parcel has been collected: the pickup cannot change."),
    OrderStatus.EN_ROUTE: gettext_lazy(
        "The driver is on the way to the pickup: it cannot change now."
    ),
    OrderStatus.ARRIVED: gettext_lazy("The driver is at the pickup: it cannot change now."),
    OrderStatus.FAILED: gettext_lazy("The pickup failed: rebook it before changing it."),
    OrderStatus.CANCELLED: gettext_lazy("The pickup was cancelled: it cannot change."),
}


def _pickup_set(*, delivery: Order, pickup: dict[str, Any], actor: str) -> None:
    """An update's `pickup`: the pair's pickup takes the values sent; an order without one
    gets one while it is still in the pool (a planned route was made without it).

    Only what differs from the pickup's own values is sent on: the dashboard's form sends
    the pickup back with every edit of its delivery, and a delivery whose parcel has been
    collected must stay editable (its phone, its notes) as long as its pickup is left as
    it is."""
    current = pairs.pickup_of(delivery)
    if current is not None:
        differ = {name: value for name, value in pickup.items() if getattr(current, name) != value}
        if {"lat", "lng"} & differ.keys():  # a pair: sent together, or refused
            differ.update(lat=pickup.get("lat"), lng=pickup.get("lng"))
        if not differ:
            return
        if current.status in _PICKUP_FIXED:
            raise ValidationError({"pickup": [str(_PICKUP_FIXED[current.status])]})
        order_update(order=current, data=differ, actor=actor)
        return
    if delivery.status != OrderStatus.UNASSIGNED:
        raise ValidationError(
            {"pickup": [gettext("Add a pickup before the order is planned: unassign it first.")]}
        )
    (new,) = pairs.pairs_create([(delivery, pickup)], actor=actor)
    if new.geocode_status == Order.GeocodeStatus.PENDING:
        geocoding.geocode_orders_later(order_ids=[new.pk])
    orders_created.send(sender=Order, order_ids=[new.pk])


def _partner_follows(order: Order, *, actor: str) -> None:
    """Both ends of a pair are on one day: the other end moves with this one (unless it
    is already out on the road or finished)."""
    partner = pairs.partner_of(order)
    if partner is None or partner.delivery_date == order.delivery_date:
        return
    if partner.status == OrderStatus.FAILED:
        order_reschedule(order=partner, delivery_date=order.delivery_date, actor=actor)
    elif partner.status not in FINAL_STATUSES and partner.status not in (
        OrderStatus.EN_ROUTE,
        OrderStatus.ARRIVED,
    ):
        order_update(order=partner, data={"delivery_date": order.delivery_date}, actor=actor)


def _unread_date_note(*, order: Order, written: str, actor: str) -> None:
    """Put on the order's history that the store sent a date that could not be read and
    the order kept its day: an event that changes no status (from and to are the same),
    written once per text and day (a store resends its note with every update)."""
    reason = (
        f"The store sent a date we could not read: {written!r}; "
        f"the order kept {order.delivery_date:%Y-%m-%d}."
    )[:300]
    if not order.events.filter(reason=reason).exists():
        OrderEvent.objects.create(
            order=order,
            from_status=order.status,
            to_status=order.status,
            actor=actor,
            reason=reason,
        )


def order_note(*, order: Order, reason: str, actor: str | None = None) -> None:
    """Put a note on the order's history (why something was done to it, e.g. the day a
    multi-day plan chose): an event that changes no status, written once per text."""
    reason = reason[:300]
    if not order.events.filter(reason=reason).exists():
        OrderEvent.objects.create(
            order=order,
            from_status=order.status,
            to_status=order.status,
            actor=actor or current_actor(),
            reason=reason,
        )


@transaction.atomic
def order_reschedule(
    *,
    order: Order,
    delivery_date: Any,
    time_windows: Any = None,
    actor: str | None = None,
    reason: str = "",
    notify_customer: bool = True,
) -> Order:
    """Book an order for another day (and windows): a failed delivery to be tried again, or
    one the customer asked to move. It leaves the routes of the old day and its customer
    is told (the `order_rescheduled` signal), unless `notify_customer` is False.
    Rescheduling to what it already has changes nothing."""
    actor = actor or current_actor()
    order = pairs.locked_with_partner(order)  # its other end moves with it
    data: dict[str, Any] = {"delivery_date": delivery_date}
    if time_windows is not None:
        data["time_windows"] = time_windows
    clean, errors = order_clean(data, default_country=_tenant_country(), partial=True)
    if clean.get("delivery_date") and clean["delivery_date"] < timezone.localdate():
        errors["delivery_date"] = ["The new day is in the past."]
    if errors:
        raise ValidationError(errors)
    failed = order.status == OrderStatus.FAILED
    if failed:
        order = order_transition(
            order=order,
            to=OrderStatus.UNASSIGNED,
            actor=actor,
            reason=reason or f"rescheduled to {clean['delivery_date']:%Y-%m-%d}",
        )
    same = order.delivery_date == clean["delivery_date"] and order.time_windows == clean.get(
        "time_windows", order.time_windows
    )
    if order.latest_date and clean["delivery_date"] > order.latest_date:
        clean["latest_date"] = None  # moved past its last day: that day alone, as asked
    order = order_update(order=order, data=clean, actor=actor, notify_customer=notify_customer)
    if failed and same:  # tried again on the same day, in the same window: still news
        order_rescheduled.send(
            sender=Order,
            order=order,
            old_date=order.delivery_date,
            old_windows=order.time_windows,
            actor=actor,
            notify_customer=notify_customer,
        )
    return order


#: Transitions that may go on to the other end of a pair, which lock both ends first:
#: cancelled and failed do; en route, as a driver's failed attempt is en route, then
#: failed, in one transaction (tracking's stop events).
_MAY_GO_ON_TO_PARTNER = frozenset({OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.EN_ROUTE})


@transaction.atomic
def order_transition(
    *,
    order: Order,
    to: str,
    actor: str | None = None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> Order:
    """Move an order to status `to`, if the state machine allows it, and record who and why.

    The only writer of Order.status. Moving to the status it already has is a no-op
    (retries and double clicks are harmless). `at` is when it happened, when that was
    earlier than now (a driver's phone sends what it recorded offline): never before the
    order's previous event, never after now.
    """
    actor = actor or current_actor()
    if to in _MAY_GO_ON_TO_PARTNER:
        order = pairs.locked_with_partner(order)
    else:
        order = Order.objects.select_for_update().get(pk=order.pk)
    if to not in OrderStatus.values:
        raise ValidationError(
            {"status": [gettext("'%(status)s' is not a status.") % {"status": to}]}
        )
    if order.status == to:
        return order
    if to not in ALLOWED_TRANSITIONS[order.status]:
        raise ValidationError(
            {
                "status": [
                    gettext("An order cannot go from %(from)s to %(to)s.")
                    % {"from": order.status, "to": to}
                ]
            },
            code="transition",
        )
    now = timezone.now()
    if at is not None:
        previous = order.events.order_by("-created_at").values_list("created_at", flat=True).first()
        at = min(max(at, previous or at), now)
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=to,
        actor=actor,
        reason=reason[:300],
        created_at=at or now,
    )
    from_status, order.status = order.status, to
    order.save(update_fields=["status", "updated_at"])
    order_status_changed.send(
        sender=Order, order=order, from_status=from_status, to_status=to, actor=actor, reason=reason
    )
    if to == OrderStatus.CANCELLED:
        _partner_cancelled(order, actor=actor)
    elif to == OrderStatus.FAILED and order.kind == Order.Kind.PICKUP:
        _delivery_released(order, actor=actor)
    return order


def _delivery_released(pickup: Order, *, actor: str) -> None:
    """A parcel that could not be collected cannot be delivered: its delivery leaves the
    routes (back to the pool) until the pair is booked again."""
    delivery = pairs.partner_of(pickup)
    if delivery is not None and delivery.status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
        order_transition(
            order=delivery,
            to=OrderStatus.UNASSIGNED,
            actor=actor,
            reason=f"its pickup (order #{pickup.pk}) could not be collected",
        )


def _partner_cancelled(order: Order, *, actor: str) -> None:
    """Cancelling either end of a pair cancels the other (when it still can be)."""
    partner = pairs.partner_of(order)
    if partner is not None and OrderStatus.CANCELLED in ALLOWED_TRANSITIONS[partner.status]:
        what = "pickup" if order.kind == Order.Kind.PICKUP else "delivery"
        order_transition(
            order=partner,
            to=OrderStatus.CANCELLED,
            actor=actor,
            reason=f"its {what} (order #{order.pk}) was cancelled",
        )
