"""Delivery reports (read-only): per day, driver or route, over published routes.

Definitions (the README repeats them):
- An order counts for the route it was last on while published: the newest route version
  listing it (a stop moved between drivers counts for the second; a failed stop, which
  leaves its route, still counts for it).
- Delivered and failed: from the order's events (a failed order booked again still counts
  as failed here); failure reasons from its last "failed" event. An order attempted on two
  days counts for the later route only.
- On time: the driver's arrival (the "arrived" event, else "delivered") inside the window
  promised: the order's own time windows when it has them, else the arrival window first
  promised with "out for delivery". Orders with neither are not counted either way.
- Stops per hour: delivered and failed stops over the hours on the road, from the first
  "en route" of the route's orders to the last delivered or failed one.
- Planned distance and time: the route as published. Driven: the length of the driver's
  GPS track over those hours, and those hours.
- Customer ratings: the stars customers gave on the tracking page, per driver who
  delivered and per delivery day (the order's date), for orders of the days chosen.
- Fuel and CO2: each route's driven distance where there is a GPS track, else its
  planned one, at its vehicle's consumption and the energy's emission factor
  (`reports.services`). The saving: the route's distance in its planned order against the
  same stops in the order their orders arrived (`PlanRoute.arrival_order_distance_m`),
  both from the same travel matrix; only the sequencing, not who got which stops.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

from dispatch.models import Order, OrderEvent, Vehicle
from reports.services import Footprint, consumption_of, vehicle_footprint
from routing.models import PlanRoute, RouteVersion
from routing.optimiser.matrix import EARTH_RADIUS_M
from tracking.models import DeliveryRating, EtaPromise, LocationPing

GROUPS = ("day", "driver", "route")


@dataclass
class OrderFact:
    order: int
    route: int
    outcome: str  # delivered, failed, open
    reason: str = ""
    arrived_at: dt.datetime | None = None
    done_at: dt.datetime | None = None
    on_time: bool | None = None


@dataclass
class RouteFact:
    route: PlanRoute
    orders: list[OrderFact] = field(default_factory=list)
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    driven_m: int = 0

    @property
    def hours(self) -> float:
        if self.started_at is None or self.ended_at is None:
            return 0.0
        return max((self.ended_at - self.started_at).total_seconds(), 0) / 3600


@dataclass
class Row:
    key: str
    label: str
    stops: int = 0
    delivered: int = 0
    failed: int = 0
    on_time: int = 0
    with_window: int = 0
    hours: float = 0.0
    planned_m: int = 0
    driven_m: int = 0
    planned_s: int = 0
    driven_s: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.with_window if self.with_window else None

    @property
    def stops_per_hour(self) -> float | None:
        done = self.delivered + self.failed
        return done / self.hours if self.hours else None


def _in_windows(at: dt.datetime, day: dt.date, windows: list[dict]) -> bool:
    local = timezone.localtime(at)
    for window in windows:
        start = dt.time.fromisoformat(window["start"])
        end = dt.time.fromisoformat(window["end"])
        if local.date() == day and start <= local.time() <= end:
            return True
    return False


def track_length_m(points: list[tuple[float, float]]) -> float:
    """The length of a GPS track (haversine between consecutive fixes)."""
    total = 0.0
    for (lat1, lng1), (lat2, lng2) in itertools.pairwise(points):
        p1, p2 = math.radians(lat1), math.radians(lat2)
        dp, dl = p2 - p1, math.radians(lng2 - lng1)
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        total += 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
    return total


def route_facts(date_from: dt.date, date_to: dt.date) -> list[RouteFact]:
    """Every published route of the days from `date_from` to `date_to`, with its orders."""

    routes = {
        r.pk: RouteFact(r)
        for r in PlanRoute.objects.filter(
            plan__published_at__isnull=False, plan__date__range=(date_from, date_to)
        ).select_related("plan", "driver", "vehicle")
    }
    owner: dict[int, tuple[dt.datetime, int]] = {}  # order → (version time, route)
    versions = RouteVersion.objects.filter(route_id__in=routes).only(
        "route_id", "stops", "created_at"
    )
    for version in versions:
        for stop in version.stops:
            seen = owner.get(stop["order"])
            if seen is None or seen[0] <= version.created_at:
                owner[stop["order"]] = (version.created_at, version.route_id)
    orders = Order.objects.in_bulk(list(owner))
    events: dict[int, list[OrderEvent]] = defaultdict(list)
    for event in OrderEvent.objects.filter(order_id__in=list(owner)).order_by("created_at", "id"):
        events[event.order_id].append(event)
    promises = {p.order_id: p for p in EtaPromise.objects.filter(order_id__in=list(owner))}
    for order_id, (_created, route_id) in owner.items():
        order, fact = orders.get(order_id), routes[route_id]
        if order is None:
            continue
        day = fact.route.plan.date  # what happened that day (another day's try is not this)
        mine = {
            e.to_status: e
            for e in events[order_id]  # the last of each status that day
            if timezone.localdate(e.created_at) == day
        }
        # what happened on the route, from the events (a failed order may have been booked
        # again since); an order moved to another day before its attempt is not this day's
        outcome = "delivered" if "delivered" in mine else "failed" if "failed" in mine else "open"
        if order.status == "cancelled" or (
            outcome == "open" and order.delivery_date != fact.route.plan.date
        ):
            continue
        row = OrderFact(order_id, route_id, outcome)
        if outcome == "failed":
            row.reason = mine["failed"].reason or _("No reason given")
        arrived = mine.get("arrived") or mine.get("delivered")
        row.arrived_at = arrived.created_at if arrived else None
        done = mine.get(outcome)
        row.done_at = done.created_at if done else None
        if row.arrived_at is not None and outcome == "delivered":
            promise = promises.get(order_id)
            if order.time_windows:
                row.on_time = _in_windows(row.arrived_at, fact.route.plan.date, order.time_windows)
            elif promise is not None and promise.first_starts_at is not None:
                row.on_time = promise.first_starts_at <= row.arrived_at <= promise.first_ends_at
        fact.orders.append(row)
        set_off = mine.get("en_route")
        if set_off is not None and (
            fact.started_at is None or set_off.created_at < fact.started_at
        ):
            fact.started_at = set_off.created_at
        if row.done_at is not None and (fact.ended_at is None or row.done_at > fact.ended_at):
            fact.ended_at = row.done_at
    for fact in routes.values():
        if fact.started_at and fact.ended_at:
            points = list(
                LocationPing.objects.filter(
                    driver_id=fact.route.driver_id,
                    recorded_at__range=(fact.started_at, fact.ended_at),
                )
                .order_by("recorded_at")
                .values_list("lat", "lng")
            )
            fact.driven_m = round(track_length_m(points))
    return sorted(
        routes.values(), key=lambda f: (f.route.plan.date, f.route.driver.name, f.route.pk)
    )


def _day_label(day: dt.date) -> str:
    """ "Mon 07 Dec 2026", with the day and month names in the page's language."""
    return date_format(day, "D d M Y")


def _key(fact: RouteFact, group: str) -> tuple[str, str]:
    route = fact.route
    if group == "day":
        return route.plan.date.isoformat(), _day_label(route.plan.date)
    if group == "driver":
        return f"driver-{route.driver_id}", route.driver.name
    return (
        f"route-{route.pk}",
        f"{date_format(route.plan.date, 'd M')} · {route.driver.name} · {route.vehicle.name}",
    )


def report(
    date_from: dt.date,
    date_to: dt.date,
    group: str = "day",
    *,
    facts: list[RouteFact] | None = None,
) -> tuple[list[Row], Row]:
    """The rows of one grouping and their total (of `facts` when the caller has them)."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}")
    rows: dict[str, Row] = {}
    total = Row("total", _("Total"))
    for fact in route_facts(date_from, date_to) if facts is None else facts:
        key, label = _key(fact, group)
        row = rows.setdefault(key, Row(key, label))
        for target in (row, total):
            target.stops += len(fact.orders)
            for order in fact.orders:
                target.delivered += order.outcome == "delivered"
                target.failed += order.outcome == "failed"
                if order.on_time is not None:
                    target.with_window += 1
                    target.on_time += order.on_time
                if order.reason:
                    target.reasons[order.reason] += 1
            target.hours += fact.hours
            target.planned_m += fact.route.planned_distance_m or fact.route.distance_m
            target.planned_s += fact.route.planned_duration_s or fact.route.duration_s
            target.driven_m += fact.driven_m
            target.driven_s += round(fact.hours * 3600)
    return list(rows.values()), total


@dataclass
class RatingRow:
    key: str
    label: str
    ratings: int = 0
    stars: int = 0

    @property
    def average(self) -> float | None:
        return self.stars / self.ratings if self.ratings else None


@dataclass
class Ratings:
    per_driver: list[RatingRow]
    per_day: list[RatingRow]
    total: RatingRow


def ratings(date_from: dt.date, date_to: dt.date) -> Ratings:
    """Customers' ratings of the orders delivered from `date_from` to `date_to`: count and
    average stars per driver (who delivered; "No driver" when none is known) and per day."""
    rows = DeliveryRating.objects.filter(
        order__delivery_date__range=(date_from, date_to)
    ).values_list("stars", "driver_id", "driver__name", "order__delivery_date")
    drivers: dict[str, RatingRow] = {}
    days: dict[dt.date, RatingRow] = {}
    total = RatingRow("total", _("Total"))
    for stars, driver_id, driver_name, day in rows:
        key = f"driver-{driver_id}" if driver_id is not None else "driver-none"
        driver = drivers.setdefault(key, RatingRow(key, driver_name or _("No driver")))
        daily = days.setdefault(day, RatingRow(day.isoformat(), _day_label(day)))
        for target in (driver, daily, total):
            target.ratings += 1
            target.stars += stars
    return Ratings(
        per_driver=_by_label(drivers.values()),
        per_day=[days[d] for d in sorted(days)],
        total=total,
    )


def _by_label(rows: Iterable[RatingRow]) -> list[RatingRow]:
    return sorted(rows, key=lambda r: (r.key == "driver-none", r.label.lower(), r.key))


# --- fuel and CO2 ------------------------------------------------------------------------


@dataclass
class EmissionRow:
    """Fuel and CO2 of a route, a day, an energy or the total, and the optimised order's
    saving over the routes whose arrival-order distance is known (`compared` of them)."""

    key: str
    label: str
    routes: int = 0
    footprint: Footprint = field(default_factory=Footprint)
    compared: int = 0
    optimised: Footprint = field(default_factory=Footprint)
    arrival: Footprint = field(default_factory=Footprint)
    # a route's own: its energy, consumption (typical when not set) and distance source
    energy: str = ""
    per_100km: Decimal | None = None
    typical: bool = False
    driven: bool = False

    @property
    def saved(self) -> Footprint:
        return self.arrival - self.optimised

    @property
    def saved_km_share(self) -> Decimal | None:
        """The share of the arrival-order distance saved (0.25: a quarter)."""
        if not self.arrival.distance_m:
            return None
        return Decimal(self.saved.distance_m) / Decimal(self.arrival.distance_m)

    @property
    def saved_co2_share(self) -> Decimal | None:
        return self.saved.co2_kg / self.arrival.co2_kg if self.arrival.co2_kg else None

    def add(self, other: EmissionRow) -> None:
        self.routes += other.routes
        self.footprint += other.footprint
        self.compared += other.compared
        self.optimised += other.optimised
        self.arrival += other.arrival


@dataclass
class Emissions:
    per_route: list[EmissionRow]
    per_day: list[EmissionRow]
    per_energy: list[EmissionRow]
    total: EmissionRow


def route_emissions(fact: RouteFact) -> EmissionRow:
    """One route's fuel and CO2 (driven distance when known, else planned) and saving."""
    route = fact.route
    van: Vehicle = route.vehicle
    per_100km, typical = consumption_of(van)
    driven = fact.driven_m > 0
    distance = fact.driven_m if driven else route.planned_distance_m or route.distance_m
    key, label = _key(fact, "route")
    row = EmissionRow(
        key,
        label,
        routes=1,
        footprint=vehicle_footprint(van, distance),
        energy=van.energy,
        per_100km=per_100km,
        typical=typical,
        driven=driven,
    )
    if route.arrival_order_distance_m is not None:
        row.compared = 1
        row.optimised = vehicle_footprint(van, route.distance_m)
        row.arrival = vehicle_footprint(van, route.arrival_order_distance_m)
    return row


def emissions(
    date_from: dt.date, date_to: dt.date, *, facts: list[RouteFact] | None = None
) -> Emissions:
    """Fuel and CO2 per route, per day, per vehicle energy and in total, with the saving
    of the optimised order; routes that went nowhere (no stops, no distance) left out."""
    per_route, days, energies = [], {}, {}
    total = EmissionRow("total", _("Total"))
    for fact in route_facts(date_from, date_to) if facts is None else facts:
        route = fact.route
        if not fact.orders and not (fact.driven_m or route.planned_distance_m or route.distance_m):
            continue
        row = route_emissions(fact)
        per_route.append(row)
        day = route.plan.date
        days.setdefault(day, EmissionRow(day.isoformat(), _day_label(day))).add(row)
        energy = energies.setdefault(
            row.energy, EmissionRow(row.energy, str(Vehicle.Energy(row.energy).label))
        )
        energy.add(row)
        total.add(row)
    order = list(Vehicle.Energy.values)
    return Emissions(
        per_route=per_route,
        per_day=[days[d] for d in sorted(days)],
        per_energy=sorted(energies.values(), key=lambda r: order.index(r.key)),
        total=total,
    )
