"""What we tell a customer, now, about when their order comes: one answer for the SMS,
the email, the tracking page, its socket and the API.

The answer moves through the day in stages:
- ``booked``: not on a published route yet; the window the customer booked, if any.
- ``planned``: on a published route that has not set off towards them; an arrival window
  around the route's time for the stop.
- ``live``: the customer was told a window (out for delivery, then each "ETA changed", kept
  as their `EtaPromise`); while the live estimate (the route's progress and the driver's
  phone) keeps to it, that window stands, so every surface repeats what the SMS said;
  when the estimate leaves it, a new window around the estimate (the watcher tells them).
- ``over``: delivered, failed or cancelled: no window.

An arrival window never contradicts the booked one without saying so: an estimate inside
the booked window gets an arrival window inside it too (moved, or narrowed to it), and an
estimate outside it gets a window whose text says "later than the 09:00-12:00 you booked".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.utils import timezone, translation
from django_tenants.utils import schema_context

from core.i18n import order_language
from dispatch.models import Order, OrderStatus
from routing.models import PlanRoute
from routing.selectors import published_stop
from routing.services.routes import route_timeline
from tenants.models import Tenant, TrackingLink
from tenants.selectors import current_tenant, travel_source
from tenants.services.formats import Formats
from tracking.models import DeliveryRating, DriverPosition, EtaPromise, TrackingSettings


def tracking_settings() -> TrackingSettings:
    """The tenant's promise and tracking-page settings (one row, made on first use)."""
    row, _ = TrackingSettings.objects.get_or_create(pk=1)
    return row


#: Statuses after which there is no arrival to promise.
OVER = frozenset({"delivered", "failed", "cancelled"})


@dataclass(frozen=True)
class Promise:
    """What the customer of one order is told now (times are aware, in UTC)."""

    order_id: int
    status: str
    stage: str  # booked | planned | live | over
    day: dt.date | None
    booked: tuple[dt.datetime, dt.datetime] | None  # the booked window the estimate meets
    window: tuple[dt.datetime, dt.datetime] | None  # the arrival window told now
    eta: dt.datetime | None  # the single best estimate (inside `window`)
    off_booking: str  # "", "early" or "late": the window is outside the booked one
    route_id: int | None
    driver: str | None
    stops_before: int | None
    # the texts, in the tenant's time zone and locale
    window_text: str  # "10:15-11:15", or "12:10-13:10 (later than the 09:00-12:00 you booked)"
    eta_text: str  # "10:40"
    booked_text: str  # "09:00-12:00" (every booked window, comma separated)
    date_text: str  # "Tuesday 1 December"
    # the customer's language (core.i18n.order_language): the texts are in it
    language: str = ""

    @property
    def headline(self) -> str:
        """The tracking page's line: "Expected 10:15-11:15", "Delivery window 09:00-12:00"."""
        if not self.window_text:
            return ""
        return f"{'Delivery window' if self.stage == 'booked' else 'Expected'} {self.window_text}"

    def as_message(self) -> dict:
        """For sockets and the API."""
        if self.language and self.language != translation.get_language():
            with translation.override(self.language):  # the headline's words
                return self.as_message()
        window = self.window
        return {
            "stage": self.stage,
            "eta": self.eta.isoformat() if self.eta else None,
            "eta_from": window[0].isoformat() if window else None,
            "eta_to": window[1].isoformat() if window else None,
            "off_booking": self.off_booking,
            "eta_text": self.eta_text,
            "date_text": self.date_text,
            "window_text": self.window_text,
            "text": self.headline,
        }


def booked_windows(order, formats: Formats) -> list[tuple[dt.datetime, dt.datetime]]:
    """The order's booked windows as instants on its delivery day, in the tenant's zone."""
    if order.delivery_date is None:
        return []
    windows = []
    for window in order.time_windows or []:
        start, end = (dt.time.fromisoformat(window[k]) for k in ("start", "end"))
        windows.append(
            (
                dt.datetime.combine(order.delivery_date, start, tzinfo=formats.zone),
                dt.datetime.combine(order.delivery_date, end, tzinfo=formats.zone),
            )
        )
    return windows


def _round_window(eta: dt.datetime, minutes: int) -> tuple[dt.datetime, dt.datetime]:
    """`minutes` wide, centred on `eta`, starting on a five-minute mark (10:40 with 60
    minutes gives 10:10-11:10)."""
    start = (eta - dt.timedelta(minutes=minutes / 2)).replace(second=0, microsecond=0)
    start -= dt.timedelta(minutes=start.minute % 5)
    return start, start + dt.timedelta(minutes=minutes)


def arrival_window(
    eta: dt.datetime, minutes: int, booked: list[tuple[dt.datetime, dt.datetime]]
) -> tuple[tuple[dt.datetime, dt.datetime], tuple[dt.datetime, dt.datetime] | None, str]:
    """`(window, booked window, off_booking)`: the arrival window to promise around `eta`.

    Inside a booked window the arrival window stays inside it (moved in, or the booked
    window itself when that is narrower); outside every booked window it is centred on
    the estimate, and `off_booking` says whether it is early or late for the nearest one.
    """
    start, end = _round_window(eta, minutes)
    if not booked:
        return (start, end), None, ""
    for low, high in booked:
        if low <= eta <= high:
            if start < low:
                start, end = low, min(low + (end - start), high)
            elif end > high:
                start, end = max(high - (end - start), low), high
            return (start, end), (low, high), ""
    nearest = min(booked, key=lambda w: min(abs(eta - w[0]), abs(eta - w[1])))
    return (start, end), nearest, "early" if eta < nearest[0] else "late"


#: `told=NOT_TOLD`: the caller knows the customer was told no window yet.
NOT_TOLD = object()


def customer_promise(
    order,
    *,
    now: dt.datetime | None = None,
    live=None,
    settings_row=None,
    told=None,
    formats: Formats | None = None,
) -> Promise:
    """What the customer of `order` is told now (current schema), in their language."""
    language = order_language(order)
    with translation.override(language):
        promise = _customer_promise(
            order, now=now, live=live, settings_row=settings_row, told=told, formats=formats
        )
    return replace(promise, language=language)


def _customer_promise(
    order,
    *,
    now: dt.datetime | None = None,
    live=None,
    settings_row=None,
    told=None,
    formats: Formats | None = None,
) -> Promise:
    """What the customer of `order` is told now (current schema).

    `live`: the order's `Eta` when the caller has timed the route
    already (the watcher times each route once); `told`: their `EtaPromise` (or
    NOT_TOLD), `settings_row` and `formats`, likewise when the caller has them.
    """
    formats = formats or Formats.of(current_tenant())
    row = settings_row or tracking_settings()
    booked = booked_windows(order, formats)
    booked_text = ", ".join(formats.span(low, high) for low, high in booked)
    common = {
        "order_id": order.pk,
        "status": str(order.status),
        "day": order.delivery_date,
        "booked_text": booked_text,
        "date_text": formats.date(order.delivery_date) if order.delivery_date else "",
    }
    if order.status in OVER:
        return Promise(
            **common,
            stage="over",
            booked=None,
            window=None,
            eta=None,
            off_booking="",
            route_id=None,
            driver=None,
            stops_before=None,
            window_text="",
            eta_text="",
        )
    if live is None:
        live = order_eta(order, now=now or timezone.now())
    estimate = live.eta or live.planned_arrival
    if live.route is None or estimate is None:
        window = booked[0] if len(booked) == 1 else None  # several: the text lists them
        return Promise(
            **common,
            stage="booked",
            booked=window,
            window=window,
            eta=None,
            off_booking="",
            route_id=None,
            driver=None,
            stops_before=None,
            window_text=booked_text,
            eta_text="",
        )
    if told is None:
        told = EtaPromise.objects.filter(order_id=order.pk).first()
    elif told is NOT_TOLD:
        told = None
    window, meets, off = arrival_window(estimate, row.eta_window_minutes, booked)
    if told is not None and told.starts_at <= estimate <= told.ends_at:
        window = (told.starts_at, told.ends_at)
        meets, off = _booked_relation(window, booked)
    return Promise(
        **common,
        stage="live" if told is not None else "planned",
        booked=meets,
        window=window,
        eta=estimate,
        off_booking=off,
        route_id=live.route,
        driver=live.driver,
        stops_before=live.stops_before,
        window_text=_window_text(window, meets, off, order.delivery_date, formats),
        eta_text=formats.time(estimate),
    )


def _booked_relation(window, booked) -> tuple[tuple | None, str]:
    """The booked window a told window belongs to, and whether it lies outside it."""
    if not booked:
        return None, ""
    for low, high in booked:
        if low <= window[0] and window[1] <= high:
            return (low, high), ""
    middle = window[0] + (window[1] - window[0]) / 2
    nearest = min(booked, key=lambda w: min(abs(middle - w[0]), abs(middle - w[1])))
    return nearest, "early" if middle < nearest[0] else "late"


def _window_text(window, meets, off: str, day: dt.date | None, formats: Formats) -> str:
    text = formats.span(*window)
    start_day = formats.local(window[0]).date()
    if day is not None and start_day != day:  # past midnight: say which day
        text = f"{formats.date(start_day)} {text}"
    if off and meets is not None:
        text += f" ({'earlier' if off == 'early' else 'later'} than the "
        text += f"{formats.span(*meets)} you booked)"
    return text


@dataclass
class Eta:
    order: int
    status: str
    plan: int | None = None
    route: int | None = None
    route_version: int | None = None
    driver: str | None = None
    stops_before: int | None = None
    # Both are when service starts (the driver at the door, after waiting for the window).
    planned_arrival: dt.datetime | None = None  # as published (the route's last version)
    eta: dt.datetime | None = None  # as expected now: moved by the driver's progress
    windows: list | None = None
    travel: dict | None = None  # where the times come from: roads, or straight lines and why


def order_eta(order: Order, *, now: dt.datetime | None = None) -> Eta:
    """Where `order` stands: its published route, how many stops come first, the
    arrival as published and as expected now."""
    source = travel_source()
    result = Eta(
        order=order.pk,
        status=order.status,
        windows=order.time_windows,
        travel={"kind": source.kind, "label": source.label, "reason": source.reason},
    )
    stop = published_stop(order.pk)
    if stop is None:
        return result
    route = stop.route
    version = route.versions.order_by("-number").first()
    stops = version.stops if version else []
    published = next((s for s in stops if s["order"] == order.pk), None)
    result.plan, result.route, result.route_version = route.plan_id, route.pk, route.version
    result.driver = route.driver.name
    result.planned_arrival = (
        dt.datetime.fromisoformat(published["starts_at"]) if published else None
    )
    if order.status in (OrderStatus.DELIVERED,):
        return result
    timeline = route_timeline(route, now=now or timezone.now())
    ordered = list(route.stops.order_by("sequence").values_list("pk", "order_id"))
    index = next(k for k, (_, oid) in enumerate(ordered) if oid == order.pk)
    result.stops_before = sum(1 for pk, oid in ordered[:index] if oid and pk not in timeline.behind)
    times = timeline.stops.get(stop.pk)
    result.eta = times.starts_at if times else None
    return result


# --- the customer's page and socket --------------------------------------------------------

ENDED = ("delivered", "failed", "cancelled")


@dataclass
class LinkState:
    schema: str
    order_id: int
    expired: bool


def link_state(token: str) -> LinkState | None:
    """What a tracking token points at, and whether it has expired; None when unknown
    (as is a token with a NUL in it, which PostgreSQL would refuse with an error)."""
    if "\x00" in token:
        return None
    link = TrackingLink.objects.select_related("tenant").filter(token=token).first()
    if link is None or link.tenant.status != "active":
        return None
    with schema_context(link.tenant.schema_name):
        order = Order.objects.filter(pk=link.order_id).first()
        if order is None:
            return None
        expired = False
        if order.status in ENDED:
            ended = order.events.filter(to_status=order.status).order_by("-created_at").first()
            ttl = dt.timedelta(hours=tracking_settings().tracking_link_ttl_hours)
            expired = ended is not None and ended.created_at + ttl < timezone.now()
    return LinkState(link.tenant.schema_name, link.order_id, expired)


def link_language(state: LinkState) -> str:
    """The language of a tracking link's page: its order's (core.i18n.order_language)."""
    tenant = Tenant.objects.get(schema_name=state.schema)
    with schema_context(state.schema):
        order = Order.objects.filter(pk=state.order_id).only("language").first()
        return order_language(order, tenant)


def customer_snapshot(order_id: int, *, settings_row=None) -> dict | None:
    """What the customer's page may show of their order right now (current schema): the
    status, an arrival window around the estimate, and, only while the driver is on the
    way to this customer and the business shows it, the driver's position; the driver's
    first name and the stops before theirs when the business allows."""
    row = settings_row or tracking_settings()
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return None
    promise = customer_promise(order, settings_row=row)
    snapshot: dict[str, Any] = {
        "status": order.status,
        **promise.as_message(),
        "windows": order.time_windows,
        "position": None,
        "driver": (promise.driver or "").split(" ")[0]
        if promise.driver and row.tracking_show_driver_name
        else None,
        "stops_before": promise.stops_before if row.tracking_show_stops_before else None,
        "destination": [order.lat, order.lng] if order.lat is not None else None,
    }
    if (
        row.tracking_show_map
        and order.status == OrderStatus.EN_ROUTE
        and promise.route_id is not None
    ):
        route = PlanRoute.objects.filter(pk=promise.route_id).only("driver_id").first()
        position = DriverPosition.objects.filter(driver_id=route.driver_id).first()
        if position is not None:
            snapshot["position"] = {"lat": position.lat, "lng": position.lng, "seq": position.seq}
    return snapshot


@dataclass(frozen=True)
class Collection:
    """Where a delivery's parcel is collected first (a pickup-and-delivery pair), as the
    driver and the customer see it: from whom, where, and when it was collected."""

    pickup: Order
    name: str
    place: str
    collected_at: dt.datetime | None  # when the driver said "Picked up"

    @property
    def collected(self) -> bool:
        return self.pickup.status == OrderStatus.DELIVERED


def collection_of(order: Order) -> Collection | None:
    """The collection of a delivery with a pickup, else None (a plain order, a pickup)."""
    if order.kind == Order.Kind.PICKUP:
        return None
    pair = getattr(order, "pair_as_delivery", None)  # reverse one-to-one: None if none
    if pair is None:
        return None
    pickup = pair.pickup
    collected_at = None
    if pickup.status == OrderStatus.DELIVERED:
        collected_at = (
            pickup.events.filter(to_status=OrderStatus.DELIVERED)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
    place = ", ".join(p for p in (pickup.address_line1, pickup.city) if p)
    return Collection(pickup, pickup.customer_name, place, collected_at)


def order_rating(order_id: int) -> DeliveryRating | None:
    """The customer's rating of the order (current schema), if they gave one."""
    return DeliveryRating.objects.filter(order_id=order_id).first()
