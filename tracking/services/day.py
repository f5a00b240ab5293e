"""Tracking rules: checking and storing GPS fixes, duty, stop events from the driver app,
live ETAs, retention. Synchronous; the websocket hub calls them in threads, inside the
tenant's schema."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import metrics
from dispatch.models import Driver, Order, OrderStatus
from dispatch.services.orders import order_transition
from routing.models import PlanStop
from routing.selectors import driver_stop
from routing.services.routes import VanPosition, arrival_from
from tenants.models import TrackingLink
from tenants.selectors import current_tenant
from tracking.models import DriverPosition, Duty, LocationPing
from tracking.services import observations

logger = logging.getLogger(__name__)

#: A batch from a phone that was offline for a long shift fits; larger ones are refused.
MAX_BATCH = 5000
#: Clocks drift; a fix stamped further ahead than this is refused.
FUTURE_SLACK = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Fix:
    recorded_at: dt.datetime
    lat: float
    lng: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    heading_deg: float | None = None

    def as_message(self, driver_id: int, seq: int) -> dict[str, Any]:
        return {
            "driver": driver_id,
            "lat": self.lat,
            "lng": self.lng,
            "accuracy_m": self.accuracy_m,
            "speed_mps": self.speed_mps,
            "heading_deg": self.heading_deg,
            "t": self.recorded_at.isoformat(),
            "seq": seq,
        }

    def as_json(self, driver_id: int, seq: int, name: str) -> str:
        """`as_message` with the driver's name, as JSON text: written directly, for the
        hub encodes thousands a second (`str` of a finite float is valid JSON)."""
        return (
            f'{{"driver": {driver_id:d}, "lat": {self.lat!r}, "lng": {self.lng!r}, '
            f'"accuracy_m": {_json_number(self.accuracy_m)}, '
            f'"speed_mps": {_json_number(self.speed_mps)}, '
            f'"heading_deg": {_json_number(self.heading_deg)}, '
            f'"t": "{self.recorded_at.isoformat()}", "seq": {seq:d}, '
            f'"name": {json.dumps(name)}}}'
        )


def _json_number(value: float | None) -> str:
    return "null" if value is None else repr(value)


_last_seq = 0
_seq_lock = threading.Lock()


def next_seq() -> int:
    """A server sequence number: microseconds since the epoch, strictly increasing in
    this process (a driver streams through one process at a time), from any thread."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns() // 1000)
        return _last_seq


def _finite(value: Any) -> bool:
    """A JSON number that is a real, finite float (not a bool, not a 400-digit integer)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _number(value: Any, name: str, low: float, high: float, errors: dict, *, required: bool):
    if value is None:
        if required:
            errors[name] = _("Required.")
        return None
    if not _finite(value):
        errors[name] = _("Must be a number.")
        return None
    if not low <= value <= high:
        errors[name] = _("Between %(low)s and %(high)s.") % {"low": f"{low:g}", "high": f"{high:g}"}
        return None
    return float(value)


def phone_instant(value: Any) -> dt.datetime | None:
    """An instant as a phone writes it: milliseconds since the epoch (a number) or ISO
    8601 with an offset (a string); None for anything else, a time without an offset
    included."""
    if _finite(value):
        try:
            return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and len(value) <= 40:
        try:
            at = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return at if at.tzinfo is not None else None
    return None


def _timestamp(value: Any, errors: dict, now: dt.datetime) -> dt.datetime | None:
    """`t`: ISO 8601 with an offset, or milliseconds since the epoch (what JS gives)."""
    at = phone_instant(value)
    if at is None:
        naive = isinstance(value, str) and phone_instant(f"{value}+00:00") is not None
        errors["t"] = (
            _("Needs a UTC offset.")
            if naive
            else _("Required: ISO 8601 with an offset, or milliseconds since the epoch.")
        )
        return None
    if at > now + FUTURE_SLACK:
        errors["t"] = _("In the future: check the phone's clock.")
        return None
    return at


def fix_clean(data: Any, *, now: dt.datetime | None = None) -> Fix:
    """A checked fix from what the phone sent; ValidationError with field errors."""
    if not isinstance(data, Mapping):
        raise ValidationError({"fix": _("Must be an object.")})
    errors: dict[str, str] = {}
    now = now or timezone.now()
    at = _timestamp(data.get("t"), errors, now)
    lat = _number(data.get("lat"), "lat", -90, 90, errors, required=True)
    lng = _number(data.get("lng"), "lng", -180, 180, errors, required=True)
    accuracy = _number(data.get("accuracy_m"), "accuracy_m", 0, 100_000, errors, required=False)
    speed = _number(data.get("speed_mps"), "speed_mps", 0, 100, errors, required=False)
    heading = _number(data.get("heading_deg"), "heading_deg", 0, 360, errors, required=False)
    if errors:
        raise ValidationError(errors)
    return Fix(at, lat, lng, accuracy, speed, heading)


def fixes_clean(items: Any) -> tuple[list[Fix], list[dict]]:
    """The good fixes of a batch, and for each bad one `{"index", "errors"}`."""
    if not isinstance(items, list):
        raise ValidationError({"fixes": _("Must be a list.")})
    if len(items) > MAX_BATCH:
        raise ValidationError({"fixes": _("At most %(count)s per request.") % {"count": MAX_BATCH}})
    good, bad, now = [], [], timezone.now()
    for index, item in enumerate(items):
        try:
            good.append(fix_clean(item, now=now))
        except ValidationError as exc:
            bad.append({"index": index, "errors": exc.message_dict})
    return good, bad


# One statement text whatever the batch size (arrays, not a VALUES list), so PostgreSQL
# and psycopg reuse it instead of parsing a new one every flush; one statement for both
# tables, so one round trip and no BEGIN and COMMIT (the hub's thread waits for the GIL
# again after each, behind a busy event loop). Each array is passed as one PostgreSQL
# array literal built here with str.join (`_array`): psycopg quotes a Python list element
# by element in Python, which took a sixth of the web process at 3,000 streaming drivers
# (docs/profiles/). Phone times travel as microseconds since the epoch (exact, no time
# zone to spell) and the new rows come back the same way. Positions are upserted in
# driver order, so two flushes at once lock them in the same order.
_STORE = """
    WITH fix AS (
        SELECT d, 'epoch'::timestamptz + r * interval '1 microsecond' AS r,
            la, ln, ac, sp, hd, sq
        FROM unnest(
            %s::bigint[], %s::bigint[], %s::float8[], %s::float8[], %s::float8[],
            %s::float8[], %s::float8[], %s::bigint[]
        ) AS t(d, r, la, ln, ac, sp, hd, sq)
    ), ping AS (
        INSERT INTO tracking_locationping
            (driver_id, recorded_at, received_at, lat, lng, accuracy_m, speed_mps,
             heading_deg, seq)
        SELECT d, r, %s, la, ln, ac, sp, hd, sq FROM fix
        ON CONFLICT (driver_id, recorded_at) DO NOTHING
        RETURNING driver_id, recorded_at
    ), position AS (
        INSERT INTO tracking_driverposition
            (driver_id, recorded_at, lat, lng, accuracy_m, speed_mps, heading_deg, seq)
        SELECT DISTINCT ON (d) d, r, la, ln, ac, sp, hd, sq FROM fix ORDER BY d, r DESC
        ON CONFLICT (driver_id) DO UPDATE SET
            recorded_at = EXCLUDED.recorded_at, lat = EXCLUDED.lat, lng = EXCLUDED.lng,
            accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps,
            heading_deg = EXCLUDED.heading_deg, seq = EXCLUDED.seq
        WHERE tracking_driverposition.recorded_at < EXCLUDED.recorded_at
        RETURNING driver_id
    )
    SELECT driver_id, (extract(epoch FROM recorded_at) * 1000000)::bigint FROM ping
    UNION ALL
    SELECT driver_id, NULL FROM position
"""
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _micros(at: dt.datetime) -> int:
    """An aware instant as whole microseconds since the epoch (exact)."""
    return (at - _EPOCH) // _MICROSECOND


def _array(values: Iterable[int | float | None]) -> str:
    """A PostgreSQL array literal of numbers (None: NULL). `str` of an int, or of a finite
    float (the shortest text that reads back as the same float), is valid input for
    bigint and float8."""
    return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"


def _columns(rows: list[tuple[int, int, Fix, int]]) -> list[str]:
    """`(driver, µs, fix, seq)` rows as the statements' eight array parameters."""
    return [
        _array([d for d, _, _, _ in rows]),
        _array([r for _, r, _, _ in rows]),
        _array([f.lat for _, _, f, _ in rows]),
        _array([f.lng for _, _, f, _ in rows]),
        _array([f.accuracy_m for _, _, f, _ in rows]),
        _array([f.speed_mps for _, _, f, _ in rows]),
        _array([f.heading_deg for _, _, f, _ in rows]),
        _array([s for _, _, _, s in rows]),
    ]


@dataclass
class Stored:
    new: list[tuple[int, Fix, int]]  # (driver, fix, seq) first seen now
    moved: set[int]  # drivers whose latest position changed


def fixes_store(items: Iterable[tuple[int, Fix, int]]) -> Stored:
    """Store `(driver_id, fix, seq)` in the current schema: duplicates (same driver and
    phone time) are kept once; each driver's position moves only to a newer fix, so a
    late batch never takes a map back. One statement."""
    items = list(items)
    new: list[tuple[int, Fix, int]] = []
    moved: set[int] = set()
    if not items:
        return Stored(new, moved)
    received = timezone.now()
    by_key: dict[tuple[int, int], tuple[int, int, Fix, int]] = {}
    for driver, fix, seq in items:  # of copies sent together, the first one counts
        key = (driver, _micros(fix.recorded_at))
        if key not in by_key:
            by_key[key] = (driver, key[1], fix, seq)
    with connection.cursor() as cursor:
        cursor.execute(_STORE, [*_columns(list(by_key.values())), received])
        rows = cursor.fetchall()
    for driver, micros in rows:
        if micros is None:  # a position moved
            moved.add(driver)
        else:
            _, _, fix, seq = by_key[(driver, micros)]
            new.append((driver, fix, seq))
    metrics.GPS_FIXES.inc(len(new))
    return Stored(new, moved)


# --- duty -------------------------------------------------------------------------------


def is_on_duty(driver_id: int) -> bool:
    return Duty.objects.filter(driver_id=driver_id, on_duty=True).exists()


def duty_set(*, driver: Driver, on_duty: bool) -> Duty:
    """Start or end the driver's shift (the phone streams only while on duty)."""
    duty, _ = Duty.objects.update_or_create(driver=driver, defaults={"on_duty": on_duty})
    return duty


# --- stop events from the driver app --------------------------------------------------------

#: Why an order may not be marked delivered or failed yet (None: it may), registered by the
#: apps that make such rules (proofs: "this business needs a photo"); a stop event over the
#: socket passes them as the proof form does.
OutcomeRule = Callable[[Order, str], str | None]
_outcome_rules: list[OutcomeRule] = []


def outcome_rule(rule: OutcomeRule) -> OutcomeRule:
    """Register `rule` (once) for every delivered or failed stop event."""
    if rule not in _outcome_rules:
        _outcome_rules.append(rule)
    return rule


#: What the driver's buttons mean for the order.
STOP_EVENTS = {
    "en_route": OrderStatus.EN_ROUTE,
    "arrived": OrderStatus.ARRIVED,
    "departed": OrderStatus.DELIVERED,  # served and gone
    "delivered": OrderStatus.DELIVERED,
    "failed": OrderStatus.FAILED,
}


def stop_event(
    *,
    driver: Driver,
    order_id: Any,
    event: Any,
    reason: Any = "",
    at: dt.datetime | None = None,
) -> Order:
    """The driver reports a stop: only orders on this driver's published routes, in the
    order the state machine allows (en route → arrived → delivered or failed). A repeat
    (a double tap, a resend after a reconnect) changes nothing. `at`: when the driver
    tapped, when the phone sends it later (kept offline)."""
    if not isinstance(event, str) or event not in STOP_EVENTS:
        raise ValidationError(
            {"event": _("One of: %(choices)s.") % {"choices": ", ".join(STOP_EVENTS)}}
        )
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        raise ValidationError({"order": _("Must be an order id.")})
    actor = f"driver:{driver.pk}"
    done = Order.objects.filter(pk=order_id, status=STOP_EVENTS[event]).first()
    last = done.events.order_by("-created_at", "-id").first() if done else None
    if last is not None and last.actor == actor:
        return done  # a repeat (a double tap, a resend): a failed stop has left the route
    stop = driver_stop(driver, order_id)
    if stop is None:
        raise ValidationError({"order": _("This order is not on your route.")})
    order, target = stop.order, STOP_EVENTS[event]
    if order.status == target:
        return order
    if target in (OrderStatus.DELIVERED, OrderStatus.FAILED):
        for rule in _outcome_rules:
            missing = rule(order, target)
            if missing:
                raise ValidationError({"proof": missing})
    steps = {
        OrderStatus.ARRIVED: [OrderStatus.EN_ROUTE, OrderStatus.ARRIVED],
        OrderStatus.DELIVERED: [OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, OrderStatus.DELIVERED],
        OrderStatus.FAILED: [OrderStatus.EN_ROUTE, OrderStatus.FAILED],
        OrderStatus.EN_ROUTE: [OrderStatus.EN_ROUTE],
    }[target]
    # a driver who taps "delivered" straight away passed the steps before it
    if order.status in steps:
        steps = steps[steps.index(order.status) + 1 :]
    elif order.status == OrderStatus.ARRIVED and target == OrderStatus.FAILED:
        steps = [OrderStatus.FAILED]
    reason = str(reason or "")[:300]
    if "\x00" in reason:
        raise ValidationError({"reason": _("Must not contain NUL characters.")})
    with transaction.atomic():
        for status in steps:
            order = order_transition(order=order, to=status, actor=actor, reason=reason, at=at)
    return order


def heading_to(driver_id: int) -> int | None:
    """The order the driver is on the way to (en route), on a published route."""
    stop = (
        PlanStop.objects.filter(
            route__driver_id=driver_id,
            route__plan__published_at__isnull=False,
            order__status=OrderStatus.EN_ROUTE,
        )
        .order_by("-route__plan__date", "-order__updated_at")  # the one set off for last
        .values_list("order_id", flat=True)
        .first()
    )
    return stop


def eta_from(fix: Fix, order_id: int, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the driver at `fix` should reach the order, by the travel model the plans use."""
    return arrival_from(fix.recorded_at, fix.lat, fix.lng, order_id, now=now)


def van_position(driver_id: int) -> VanPosition | None:
    """The driver's latest phone position, for timing their route (routing asks)."""
    position = DriverPosition.objects.filter(driver_id=driver_id).first()
    if position is None:
        return None
    return VanPosition(position.recorded_at, position.lat, position.lng)


# --- snapshot and retention -----------------------------------------------------------------


def positions_snapshot() -> dict[str, Any]:
    """Every driver's latest position in the current schema, and the newest sequence
    number among them: a client that reconnects starts from here and ignores messages
    older than what it has."""
    rows = DriverPosition.objects.select_related("driver").order_by("driver__name")
    positions = [
        {
            "driver": p.driver_id,
            "name": p.driver.name,
            "lat": p.lat,
            "lng": p.lng,
            "accuracy_m": p.accuracy_m,
            "speed_mps": p.speed_mps,
            "heading_deg": p.heading_deg,
            "t": p.recorded_at.isoformat(),
            "seq": p.seq,
        }
        for p in rows
    ]
    return {"positions": positions, "seq": max((p["seq"] for p in positions), default=0)}


def locations_purge(*, days: int | None = None) -> int:
    """Delete GPS history older than the tenant's retention setting; returns how many.
    The days those fixes belong to are first read into the learner's observations (no
    positions in them), so what the drivers taught outlives the raw positions. A day that
    cannot be read is logged, and its fixes still go: the retention is a promise."""
    days = current_tenant().location_retention_days if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=days)
    try:  # each day in its own savepoint: one bad day does not lose the others
        observations.days_read_before_purge(cutoff)
    except Exception:
        logger.exception("GPS purge: the days before %s could not be read for learning", cutoff)
    deleted, _ = LocationPing.objects.filter(recorded_at__lt=cutoff).delete()
    return deleted


def tracking_link_for(order: Order) -> str:
    """The order's public tracking token (created once; 256 random bits)."""
    link, _ = TrackingLink.objects.get_or_create(
        tenant=current_tenant(),
        order_id=order.pk,
        defaults={"token": secrets.token_urlsafe(32)},
    )
    return link.token
