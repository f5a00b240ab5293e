"""Orders in: one validation for every channel (API, CSV, Shopify, dashboard), and the
status state machine, the only writer of `Order.status`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.bulk import copy_insert
from dispatch.models import Order, OrderEvent, OrderStatus
from dispatch.models.orders import FINAL_STATUSES
from dispatch.services.phones import phone_e164
from dispatch.signals import order_rescheduled, order_status_changed, orders_created
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

# What clients may send; everything else is refused by name.
WRITABLE_FIELDS = frozenset(
    {
        "external_id", "customer_name", "customer_phone", "customer_email", "address_line1",
        "address_line2", "city", "postcode", "region", "country", "lat", "lng",
        "delivery_date", "time_windows", "service_s", "weight_kg", "volume_l", "items",
        "required_skills", "priority", "notes",
    }
)  # fmt: skip
READ_ONLY_FIELDS = frozenset(
    {"id", "status", "source", "tenant", "created_at", "updated_at", "geocode_status", "events"}
)
TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
MAX_TIME_WINDOWS = 4
PRIORITY_NAMES = {label.lower(): value for value, label in Order.Priority.choices}


class OrderConflict(Exception):
    """An order with this external id already exists for this source."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id} already has this external id")
        self.order_id = order_id


def _text(value: Any, max_length: int, name: str, errors: dict, *, required: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        errors[name] = ["This field is required."]
    elif len(text) > max_length:
        errors[name] = [f"At most {max_length} characters."]
    return text


def _number(value: Any, name: str, errors: dict, *, default: Any, integer: bool, maximum=None):
    if value is None or value == "":
        return default
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[name] = ["Enter a number."]
        return default
    if not number.is_finite() or number < 0:
        errors[name] = ["Enter a number of 0 or more."]
        return default
    if maximum is not None and number > maximum:
        errors[name] = [f"At most {maximum}."]
        return default
    if integer:
        if number != number.to_integral_value():
            errors[name] = ["Enter a whole number."]
            return default
        return int(number)
    return number.quantize(Decimal("0.01"))


def _coordinate(value: Any, name: str, limit: int, errors: dict) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[name] = ["Enter a number in degrees."]
        return None
    if not -limit <= number <= limit:
        errors[name] = [f"Must be between -{limit} and {limit}."]
        return None
    return number


def _phone(value: Any, default_region: str, errors: dict) -> str:
    try:
        return phone_e164(value, region=default_region)
    except ValidationError as exc:
        errors["customer_phone"] = exc.messages
        return ""


def _time_windows(value: Any, errors: dict) -> list[dict[str, str]]:
    if value in (None, "", []):
        return []
    if not isinstance(value, list) or len(value) > MAX_TIME_WINDOWS:
        errors["time_windows"] = [
            f'Send a list of up to {MAX_TIME_WINDOWS} {{"start": "HH:MM", "end": "HH:MM"}}.'
        ]
        return []
    windows = []
    for window in value:
        start = window.get("start") if isinstance(window, dict) else None
        end = window.get("end") if isinstance(window, dict) else None
        if not (isinstance(start, str) and TIME_PATTERN.match(start)) or not (
            isinstance(end, str) and TIME_PATTERN.match(end)
        ):
            errors["time_windows"] = ['Each window needs "start" and "end" as HH:MM (24 h).']
            return []
        if start >= end:
            errors["time_windows"] = [f"Window {start}-{end} must end after it starts."]
            return []
        windows.append({"start": start, "end": end})
    windows.sort(key=lambda w: w["start"])
    for earlier, later in itertools.pairwise(windows):
        if later["start"] < earlier["end"]:
            errors["time_windows"] = ["Time windows must not overlap."]
            return []
    return windows


def _date(value: Any, errors: dict) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        errors["delivery_date"] = (
            ["This field is required."]
            if value in (None, "")
            else ["Use the date format YYYY-MM-DD."]
        )
        return None


def _skills(value: Any, errors: dict) -> list[str]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = [part for part in re.split(r"[,;|]", value)]
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        errors["required_skills"] = ["Send a list of skill names."]
        return []
    skills = sorted({s.strip().lower() for s in value if s.strip()})
    if any(len(s) > 40 for s in skills):
        errors["required_skills"] = ["Skill names have at most 40 characters."]
    return skills


def _priority(value: Any, errors: dict) -> int:
    if value in (None, ""):
        return Order.Priority.NORMAL
    if isinstance(value, str) and value.strip().lower() in PRIORITY_NAMES:
        return PRIORITY_NAMES[value.strip().lower()]
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number not in Order.Priority.values:
        errors["priority"] = ["Use 1 (low), 2 (normal), 3 (high) or 4 (urgent)."]
        return Order.Priority.NORMAL
    return number


def order_clean(
    data: Mapping[str, Any], *, default_country: str, partial: bool = False
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate and normalise one order's input, as sent by any channel.

    Returns (clean values, field errors). With `partial`, only the fields present are
    checked (for updates). Phones become E.164 (national numbers read in the tenant's
    country), emails lower case, time windows sorted. Nothing touches the database.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(data, Mapping):
        return {}, {"non_field_errors": ["Send an order as a JSON object."]}
    for name in sorted(set(data) & READ_ONLY_FIELDS):
        errors[name] = ["This field is read-only."]
    for name in sorted(set(data) - WRITABLE_FIELDS - READ_ONLY_FIELDS):
        errors[name] = ["Unknown field."]

    def present(name: str) -> bool:
        return not partial or name in data

    clean: dict[str, Any] = {}
    if present("external_id"):
        clean["external_id"] = _text(data.get("external_id"), 100, "external_id", errors)
    if present("customer_name"):
        clean["customer_name"] = _text(
            data.get("customer_name"), 150, "customer_name", errors, required=True
        )
    if present("customer_phone"):
        clean["customer_phone"] = _phone(data.get("customer_phone"), default_country, errors)
    if present("customer_email"):
        email = _text(data.get("customer_email"), 254, "customer_email", errors).lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors["customer_email"] = ["Enter a valid email address."]
        clean["customer_email"] = email
    for name, limit in (
        ("address_line1", 200),
        ("address_line2", 200),
        ("city", 100),
        ("postcode", 20),
        ("region", 100),
    ):
        if present(name):
            clean[name] = _text(data.get(name), limit, name, errors)
    if present("country"):
        country = _text(data.get("country"), 2, "country", errors).upper() or default_country
        if country and country not in phonenumbers.SUPPORTED_REGIONS:
            errors["country"] = [f"'{country}' is not an ISO 3166-1 alpha-2 country code."]
        clean["country"] = country
    if present("lat") or present("lng"):
        lat = _coordinate(data.get("lat"), "lat", 90, errors)
        lng = _coordinate(data.get("lng"), "lng", 180, errors)
        if (lat is None) != (lng is None) and "lat" not in errors and "lng" not in errors:
            errors["lat" if lat is None else "lng"] = ["Send both lat and lng, or neither."]
        clean["lat"], clean["lng"] = lat, lng
    if not partial and not clean.get("address_line1") and clean.get("lat") is None:
        errors.setdefault("address_line1", ["Send an address or lat/lng."])
    if present("delivery_date"):
        clean["delivery_date"] = _date(data.get("delivery_date"), errors)
    if present("time_windows"):
        clean["time_windows"] = _time_windows(data.get("time_windows"), errors)
    if present("service_s"):
        clean["service_s"] = _number(
            data.get("service_s"), "service_s", errors, default=300, integer=True, maximum=86_400
        )
    for name in ("weight_kg", "volume_l"):
        if present(name):
            clean[name] = _number(
                data.get(name), name, errors, default=Decimal(0), integer=False, maximum=9_999_999
            )
    if present("items"):
        clean["items"] = _number(
            data.get("items"), "items", errors, default=1, integer=True, maximum=100_000
        )
    if present("required_skills"):
        clean["required_skills"] = _skills(data.get("required_skills"), errors)
    if present("priority"):
        clean["priority"] = _priority(data.get("priority"), errors)
    if present("notes"):
        clean["notes"] = _text(data.get("notes"), 2000, "notes", errors)
    return clean, errors


def _geocode_state(values: dict[str, Any]) -> dict[str, Any]:
    has_location = values.get("lat") is not None and values.get("lng") is not None
    return {
        "geocode_status": Order.GeocodeStatus.PROVIDED
        if has_location
        else Order.GeocodeStatus.PENDING,
        "geocode_error": "",
    }


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
    items: Iterable[Mapping[str, Any]], *, source: str, actor: str
) -> list[BulkResult]:
    """Create many orders; good items are kept whatever is wrong with the others.

    An item whose `external_id` already exists for `source` is reported as `exists` with
    the existing order's id (so repeating a request creates nothing twice). Orders without
    coordinates are queued for geocoding.
    """
    country = _tenant_country()
    results: list[BulkResult] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    seen_external: dict[str, int] = {}
    for index, data in enumerate(items):
        clean, errors = order_clean(data, default_country=country)
        external = clean.get("external_id", "")
        if not errors and external and external in seen_external:
            errors = {"external_id": [f"Repeats item {seen_external[external]} of this request."]}
        if errors:
            results.append(BulkResult(index=index, status="invalid", errors=errors))
            continue
        if external:
            seen_external[external] = index
        valid.append((index, clean))
        results.append(BulkResult(index=index, status="created"))

    externals = [clean["external_id"] for _, clean in valid if clean["external_id"]]
    with transaction.atomic():
        existing = _existing_ids(source=source, external_ids=externals)
        to_create = []
        for index, clean in valid:
            if clean["external_id"] in existing:
                results[index].status, results[index].id = "exists", existing[clean["external_id"]]
                continue
            to_create.append((index, Order(source=source, **clean, **_geocode_state(clean))))
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
        copy_insert(
            OrderEvent,
            [
                OrderEvent(order=order, from_status="", to_status=order.status, actor=actor)
                for order in created_by_index.values()
            ],
        )
        pending = [o.pk for o in created_by_index.values() if o.geocode_status == "pending"]
        if pending:
            transaction.on_commit(lambda: _queue_geocoding(pending))
        if created_by_index:
            orders_created.send(sender=Order, order_ids=[o.pk for o in created_by_index.values()])
    return results


def _existing_ids(*, source: str, external_ids: list[str]) -> dict[str, int]:
    """external id → order id, of those already known for `source`."""
    return dict(
        Order.objects.filter(source=source, external_id__in=external_ids).values_list(
            "external_id", "id"
        )
    )


def _queue_geocoding(order_ids: list[int]) -> None:
    from dispatch.services.geocoding import geocode_orders_later

    geocode_orders_later(schema_name=connection.schema_name, order_ids=order_ids)


def order_create(data: Mapping[str, Any], *, source: str, actor: str) -> Order:
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
    actor: str,
    source_updated_at: dt.datetime | None = None,
) -> Order:
    """Change an order's details. Orders out for delivery or finished are not editable.

    `source_updated_at` (e.g. Shopify's `updated_at`) makes stale updates harmless: an
    update older than the one already applied changes nothing.
    """
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
            {"status": [f"A {order.get_status_display().lower()} order cannot be changed."]}
        )
    clean, errors = order_clean(data, default_country=_tenant_country(), partial=True)
    if "external_id" in clean and clean["external_id"] != order.external_id:
        errors.setdefault("external_id", ["The external id cannot change."])
    if errors:
        raise ValidationError(errors)
    changed = {name for name, value in clean.items() if getattr(order, name) != value}
    old_date, old_windows = order.delivery_date, order.time_windows
    for name in changed:
        setattr(order, name, clean[name])
    if {"lat", "lng", "address_line1", "city", "postcode", "country"} & changed:
        if not {"lat", "lng"} & changed:  # address changed, coordinates not: find them again
            order.lat = order.lng = None
        for name, value in _geocode_state({"lat": order.lat, "lng": order.lng}).items():
            setattr(order, name, value)
        if order.geocode_status == Order.GeocodeStatus.PENDING:
            transaction.on_commit(lambda: _queue_geocoding([order.pk]))
    if source_updated_at:
        order.source_updated_at = source_updated_at
    order.save()
    if "delivery_date" in changed and order.status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
        # planned for the old day: back to the pool, to be planned on the new one
        order = order_transition(
            order=order, to=OrderStatus.UNASSIGNED, actor=actor,
            reason=f"rescheduled to {order.delivery_date:%Y-%m-%d}",
        )  # fmt: skip
    if {"delivery_date", "time_windows"} & changed:
        order_rescheduled.send(
            sender=Order, order=order, old_date=old_date, old_windows=old_windows, actor=actor
        )
    return order


@transaction.atomic
def order_reschedule(
    *, order: Order, delivery_date: Any, time_windows: Any = None, actor: str, reason: str = ""
) -> Order:
    """Book an order for another day (and windows): a failed delivery to be tried again, or
    one the customer asked to move. It leaves the routes of the old day and its customer
    is told (the `order_rescheduled` signal). Rescheduling to what it already has changes
    nothing."""
    order = Order.objects.select_for_update().get(pk=order.pk)
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
            order=order, to=OrderStatus.UNASSIGNED, actor=actor,
            reason=reason or f"rescheduled to {clean['delivery_date']:%Y-%m-%d}",
        )  # fmt: skip
    same = order.delivery_date == clean["delivery_date"] and order.time_windows == clean.get(
        "time_windows", order.time_windows
    )
    order = order_update(order=order, data=clean, actor=actor)
    if failed and same:  # tried again on the same day, in the same window: still news
        order_rescheduled.send(sender=Order, order=order, old_date=order.delivery_date,
                               old_windows=order.time_windows, actor=actor)  # fmt: skip
    return order


@transaction.atomic
def order_transition(*, order: Order, to: str, actor: str, reason: str = "") -> Order:
    """Move an order to status `to`, if the state machine allows it, and record who and why.

    The only writer of Order.status. Moving to the status it already has is a no-op
    (retries and double clicks are harmless).
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if to not in OrderStatus.values:
        raise ValidationError({"status": [f"'{to}' is not a status."]})
    if order.status == to:
        return order
    if to not in ALLOWED_TRANSITIONS[order.status]:
        raise ValidationError(
            {"status": [f"An order cannot go from {order.status} to {to}."]}, code="transition"
        )
    OrderEvent.objects.create(
        order=order, from_status=order.status, to_status=to, actor=actor, reason=reason[:300]
    )
    from_status, order.status = order.status, to
    order.save(update_fields=["status", "updated_at"])
    order_status_changed.send(
        sender=Order, order=order, from_status=from_status, to_status=to, actor=actor, reason=reason
    )
    return order
