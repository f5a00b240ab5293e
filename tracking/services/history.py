"""Delivery history with a known truth: days of published routes driven, with the stop
events and GPS pings a driver's phone would have sent, made from a hidden `Truth` (how
traffic really slows by hour and area, which doors really take long). The learner reads
the days as it reads real ones; tests and the benchmark compare what it learned, and its
ETAs, with the truth, which lives only in the returned `GeneratedHistory`, never in the
database.

The truth follows the model the learner fits (`routing.services.corrections`): a leg
takes the road model's time (uncorrected `travel_matrix`, whatever the tenant's provider
is) x the truth's factor of the local hour it sets off in x the factor of the area of
its middle x lognormal noise (median 1); a door takes the order's configured
`service_s` x lognormal noise, plus the address's extra seconds when it is a slow door.
So the medians the learner should find are exactly the truth's factors and extras.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import time
import zoneinfo
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from core.bulk import copy_insert
from dispatch.models import Depot, Driver, Order, OrderEvent, OrderStatus, Vehicle
from dispatch.services.fleet import depot_create, driver_create, vehicle_create
from routing.models import Plan, PlanRoute, PlanStop, RouteVersion
from routing.optimiser.schedule import UNREACHABLE_S
from routing.services import baseline
from routing.services.corrections import (
    AREA_CELL_M,
    METRES_PER_DEGREE,
    address_key,
    cell_of,
    configured_factor,
    leg_cell,
)
from routing.services.matrix import travel_matrix
from tenants.selectors import TravelSource, current_tenant, travel_source

#: Who published the generated plans and drove the generated days (events' actor is
#: the driver's, as from the app): a day with a plan published by it is not made again.
HISTORY_ACTOR = "system:history"
#: Routes set off from this local time (seconds after midnight) and are planned to be back
#: by the second, spread over the drivers of a day: every hour from early morning to the
#: evening is driven, both rush hours included.
FIRST_START_S = 6 * 3600 + 30 * 60
LAST_END_S = 18 * 3600 + 30 * 60
#: The configured door times of the addresses (each address keeps one).
SERVICE_CHOICES_S = (180, 240, 300, 360)
#: GPS jitter of a phone's fix, metres (standard deviation per axis).
GPS_JITTER_M = 4.0


@dataclass(frozen=True)
class RushWindow:
    """Traffic `factor` x slower from `start_hour` to `end_hour` (local, end excluded) on
    `weekdays` (0 = Monday)."""

    weekdays: tuple[int, ...]
    start_hour: int
    end_hour: int
    factor: float


@dataclass(frozen=True)
class Truth:
    """How the world really is, hidden from the learner.

    `addresses`: where the customers are (lat, lng), the pool each day's orders are
    drawn from (`labels`: their address lines, optional); `rush`: the true slowdowns by
    local hour; `areas`: grid cell (`corrections.cell_of`) → true factor (1 elsewhere);
    `slow_doors`: `address_key` → the seconds a visit there takes beyond the order's
    configured time (median); `noise_sigma`: the log standard deviation of each leg's and
    each door's time."""

    center: tuple[float, float]
    addresses: tuple[tuple[float, float], ...]
    rush: tuple[RushWindow, ...] = ()
    areas: Mapping[str, float] = field(default_factory=dict)
    slow_doors: Mapping[str, int] = field(default_factory=dict)
    noise_sigma: float = 0.15
    labels: tuple[str, ...] = ()

    def hour_factor(self, local: dt.datetime) -> float:
        """The true travel factor of a leg setting off at `local` (the tenant's time)."""
        for window in self.rush:
            if (
                local.weekday() in window.weekdays
                and window.start_hour <= local.hour < window.end_hour
            ):
                return window.factor
        return 1.0

    def area_factor(self, a: tuple[float, float], b: tuple[float, float]) -> float:
        """The true travel factor of the leg from `a` to `b` (its middle's cell)."""
        return self.areas.get(leg_cell(a, b), 1.0)

    def door_extra_s(self, key: str) -> int:
        """The seconds beyond the configured time a door at `key` takes (median)."""
        return int(self.slow_doors.get(key, 0))

    def door_s(self, order: Order) -> int:
        """The typical (median) time at the door of `order`: its configured time plus its
        address's extra; what a learner should find."""
        return int(order.service_s) + self.door_extra_s(address_key(order.lat, order.lng))

    @classmethod
    def default_for(
        cls,
        area_center: tuple[float, float],
        *,
        seed: int = 27,
        addresses: int = 400,
        radius_m: float = 4000.0,
        points: Sequence[tuple[float, float]] | None = None,
        labels: Sequence[str] = (),
    ) -> Truth:
        """A realistic truth around `area_center` (lat, lng): weekday rush 07-09 x1.45 and
        16-18 x1.3; the area 2 km north of the centre x1.25; about 8% of the addresses
        slow doors (+6 to 9 minutes); noise sigma 0.15. The addresses are `points` when
        given (real ones: the demo's), else `addresses` points spread evenly over a disc
        of `radius_m` (at most one per `address_key`)."""
        rng = np.random.default_rng([seed, 1])
        lat0, lng0 = area_center
        if points is None:
            angle = rng.uniform(0, 2 * math.pi, addresses * 2)
            reach = radius_m * np.sqrt(rng.uniform(0.0025, 1, addresses * 2))
            lat = lat0 + reach * np.sin(angle) / METRES_PER_DEGREE
            lng = lng0 + reach * np.cos(angle) / (METRES_PER_DEGREE * math.cos(math.radians(lat0)))
            candidates = list(zip(lat.tolist(), lng.tolist(), strict=True))
        else:
            candidates = [(float(a), float(b)) for a, b in points]
        chosen, seen, kept_labels = [], set(), []
        for k, (lat_k, lng_k) in enumerate(candidates):
            key = address_key(lat_k, lng_k)
            if key in seen:
                continue
            seen.add(key)
            chosen.append((round(lat_k, 6), round(lng_k, 6)))
            if labels:
                kept_labels.append(labels[k])
            if len(chosen) == addresses:
                break
        slow_count = max(1, round(len(chosen) * 0.08))
        slow = rng.choice(len(chosen), slow_count, replace=False)
        slow_doors = {
            address_key(*chosen[int(k)]): int(rng.integers(360, 541)) for k in sorted(slow)
        }
        north = cell_of(lat0 + AREA_CELL_M / METRES_PER_DEGREE, lng0)
        weekdays = (0, 1, 2, 3, 4)
        return cls(
            center=(float(lat0), float(lng0)),
            addresses=tuple(chosen),
            rush=(RushWindow(weekdays, 7, 9, 1.45), RushWindow(weekdays, 16, 18, 1.3)),
            areas={north: 1.25},
            slow_doors=slow_doors,
            noise_sigma=0.15,
            labels=tuple(kept_labels),
        )


@dataclass(frozen=True, slots=True)
class TrueStop:
    """One generated stop as it really happened (UTC instants, seconds)."""

    order_id: int
    driver_id: int
    date: dt.date
    sequence: int
    address_key: str
    set_off_at: dt.datetime  # left the stop before (or the depot): the leg's start
    arrived_at: dt.datetime
    left_at: dt.datetime  # delivered and gone
    planned_at: dt.datetime  # the plan's arrival (road model, configured rush hours)
    estimate_s: int  # the road model's time of the leg, uncorrected
    travel_s: int
    door_s: int


@dataclass
class GeneratedHistory:
    """What `history_generate` made, with the truth behind it (kept only here)."""

    truth: Truth
    dates: list[dt.date] = field(default_factory=list)  # days made now
    skipped: list[dt.date] = field(default_factory=list)  # made before, or Sundays skipped
    plan_ids: list[int] = field(default_factory=list)
    stops: list[TrueStop] = field(default_factory=list)
    pings: int = 0
    seconds: float = 0.0

    def arrivals(self) -> dict[int, dt.datetime]:
        """Order id → when the van really arrived."""
        return {s.order_id: s.arrived_at for s in self.stops}

    def visits(self) -> Counter[str]:
        """address_key → how many generated stops were there."""
        return Counter(s.address_key for s in self.stops)

    def legs_by_hour(self, zone: dt.tzinfo) -> Counter[int]:
        """Local hour of the week (0: Monday 00:00) → legs setting off in it."""
        return Counter(
            (local := s.set_off_at.astimezone(zone)).weekday() * 24 + local.hour for s in self.stops
        )


@dataclass
class _Fleet:
    depot: Depot
    crews: list[tuple[Driver, Vehicle]]


def _fleet(truth: Truth, drivers: int) -> _Fleet:
    """The tenant's first active depot and drivers (with their vehicles), made when
    missing: "History depot" at the truth's centre, "History driver N", "History van N"."""
    tenant = current_tenant()
    depot = Depot.objects.filter(is_active=True).order_by("pk").first()
    if depot is None:
        depot = depot_create(
            name="History depot",
            address_line1="History depot",
            country=tenant.country,
            lat=truth.center[0],
            lng=truth.center[1],
        )
    crews: list[tuple[Driver, Vehicle]] = []
    taken: set[int] = set()

    def vehicle_for(driver: Driver | None, number: int) -> Vehicle:
        """The driver's own van if it starts at the depot, else a free one that does,
        else a new one (the learner reads a route's legs from its van's start depot)."""
        free = Vehicle.objects.filter(is_active=True, start_depot=depot).exclude(pk__in=taken)
        vehicle = driver.default_vehicle if driver is not None else None
        if vehicle is None or vehicle.pk in taken or vehicle.start_depot_id != depot.pk:
            vehicle = free.order_by("pk").first()
        if vehicle is None:
            name = f"History van {number}"
            vehicle = Vehicle.objects.filter(name=name).first() or vehicle_create(
                name=name, start_depot=depot
            )
        taken.add(vehicle.pk)
        return vehicle

    for driver in Driver.objects.filter(is_active=True).order_by("pk")[:drivers]:
        crews.append((driver, vehicle_for(driver, len(crews) + 1)))
    number = 1
    while len(crews) < drivers:
        while Driver.objects.filter(name=f"History driver {number}").exists():
            number += 1
        vehicle = vehicle_for(None, number)
        driver = driver_create(name=f"History driver {number}", default_vehicle=vehicle)
        crews.append((driver, vehicle))
    return _Fleet(depot, crews)


def _sweep(points: np.ndarray, depot: tuple[float, float], offset: float) -> np.ndarray:
    """Indices of `points` by bearing from the depot, starting at `offset` radians."""
    bearing = np.arctan2(
        (points[:, 0] - depot[0]), (points[:, 1] - depot[1]) * math.cos(math.radians(depot[0]))
    )
    return np.argsort((bearing - offset) % (2 * math.pi), kind="stable")


def _nearest_first(durations: np.ndarray, members: list[int]) -> list[int]:
    """`members` (matrix indices; 0 is the depot) in nearest-neighbour order from the depot."""
    left, here, order = list(members), 0, []
    while left:
        here = min(left, key=lambda j: (durations[here, j], j))
        order.append(here)
        left.remove(here)
    return order


def _stamp(seconds: np.ndarray) -> list[str]:
    """Whole UTC epoch seconds as PostgreSQL timestamptz text."""
    days, rest = np.divmod(seconds.astype(np.int64), 86400)
    hours, rest = np.divmod(rest, 3600)
    minutes, secs = np.divmod(rest, 60)
    names = {d: dt.date.fromordinal(719163 + int(d)).isoformat() for d in np.unique(days)}
    return [
        f"{names[d]} {h:02d}:{m:02d}:{s:02d}+00"
        for d, h, m, s in zip(
            days.tolist(), hours.tolist(), minutes.tolist(), secs.tolist(), strict=True
        )
    ]


def _pings_copy(
    rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> int:
    """COPY `(driver_id, t, lat, lng, accuracy, speed, delay)` columns into the pings."""
    buffer = io.StringIO()
    count = 0
    for driver_id, t, lat, lng, accuracy, speed, delay in rows:
        recorded = _stamp(t)
        received = _stamp(t + delay)
        seqs = ((t + delay) * 1_000_000 + np.arange(len(t)) % 997).tolist()
        buffer.write(
            "".join(
                f"{driver_id}\t{r}\t{v}\t{a:.7f}\t{b:.7f}\t{c:.1f}\t{s:.2f}\t\\N\t{q}\n"
                for r, v, a, b, c, s, q in zip(
                    recorded,
                    received,
                    lat.tolist(),
                    lng.tolist(),
                    accuracy.tolist(),
                    speed.tolist(),
                    seqs,
                    strict=True,
                )
            )
        )
        count += len(t)
    if not count:
        return 0
    columns = (
        "driver_id, recorded_at, received_at, lat, lng, accuracy_m, speed_mps, heading_deg, seq"
    )
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY tracking_locationping ({columns}) FROM STDIN") as copy,
    ):
        copy.write(buffer.getvalue())
    return count


def _route_pings(
    segments: list[tuple[int, int, tuple[float, float], tuple[float, float], float]],
    every_s: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """Pings every `every_s` over `segments` ((t0, t1, from, to, speed m/s), epoch
    seconds; a door is a segment from a point to itself): positions interpolated, a few
    metres of jitter."""
    starts = np.array([s[0] for s in segments], np.int64)
    ends = np.array([s[1] for s in segments], np.int64)
    t = np.arange(starts[0], ends[-1] + 1, every_s, dtype=np.int64)
    k = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(segments) - 1)
    span = np.maximum(ends - starts, 1)
    frac = np.clip((t - starts[k]) / span[k], 0.0, 1.0)
    a = np.array([s[2] for s in segments])
    b = np.array([s[3] for s in segments])
    lat = a[k, 0] + frac * (b[k, 0] - a[k, 0])
    lng = a[k, 1] + frac * (b[k, 1] - a[k, 1])
    jitter = rng.normal(0.0, GPS_JITTER_M / METRES_PER_DEGREE, (2, len(t)))
    lat = lat + jitter[0]
    lng = lng + jitter[1] / max(math.cos(math.radians(float(a[0, 0]))), 0.01)
    speed = np.array([s[4] for s in segments])[k]
    accuracy = 5.0 + np.abs(rng.normal(0.0, 3.0, len(t)))
    delay = rng.integers(1, 4, len(t))
    return t, lat, lng, accuracy, speed, delay


def history_generate(
    *,
    days: int,
    drivers: int,
    stops_per_route: int,
    truth: Truth,
    seed: int,
    end: dt.date | None = None,
    ping_every_s: int = 30,
    skip_sundays: bool = False,
) -> GeneratedHistory:
    """Make `days` days of delivery history ending `end` (default: yesterday, the
    tenant's date) in the current tenant's schema, driven by the hidden `truth`.

    Each day: `drivers` x `stops_per_route` orders at the truth's addresses (drawn
    without repeats within a day; they recur across days), a published plan with one
    route per driver (orders swept by bearing from the depot, nearest first), then the
    day as driven: order events (en route when the van sets off for the stop, arrived,
    delivered, at the phone's times; the orders end delivered) and GPS pings every
    `ping_every_s` along the legs and at the doors. Depot, drivers and vehicles are the
    tenant's (made when missing). A day that already has a generated plan is skipped
    (listed in `skipped`), so running it again adds only new days. Deterministic in
    `seed` and the dates; the same truth and seed give the same days whatever
    `ping_every_s`.
    """
    if days < 1 or drivers < 1 or stops_per_route < 1 or ping_every_s < 1:
        raise ValueError("days, drivers, stops_per_route and ping_every_s must be 1 or more")
    if len(truth.addresses) < drivers * stops_per_route:
        raise ValueError(
            f"the truth has {len(truth.addresses)} addresses; a day needs "
            f"{drivers * stops_per_route}"
        )
    began = time.perf_counter()
    tenant = current_tenant()
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    rush_hours = tuple(tenant.rush_hours or ())
    end = end or timezone.localdate(timezone=zone) - dt.timedelta(days=1)
    result = GeneratedHistory(truth=truth)
    fleet = _fleet(truth, drivers)
    source = travel_source()
    pool = np.array(truth.addresses, dtype=np.float64)
    keys = [address_key(lat, lng) for lat, lng in truth.addresses]
    done = set(Plan.objects.filter(published_by=HISTORY_ACTOR).values_list("date", flat=True))
    for back in range(days - 1, -1, -1):
        date = end - dt.timedelta(days=back)
        if date in done or (skip_sundays and date.weekday() == 6):
            result.skipped.append(date)
            continue
        with transaction.atomic():
            _day(
                date,
                fleet,
                truth,
                pool,
                keys,
                seed,
                stops_per_route,
                ping_every_s,
                zone,
                rush_hours,
                source,
                tenant.country[:2],
                result,
            )
        result.dates.append(date)
    result.seconds = time.perf_counter() - began
    return result


def _day(
    date: dt.date,
    fleet: _Fleet,
    truth: Truth,
    pool: np.ndarray,
    keys: list[str],
    seed: int,
    stops_per_route: int,
    ping_every_s: int,
    zone: zoneinfo.ZoneInfo,
    rush_hours: tuple[Mapping, ...],
    source: TravelSource,
    country: str,
    result: GeneratedHistory,
) -> None:
    rng = np.random.default_rng([seed, date.toordinal()])
    gps = np.random.default_rng([seed, date.toordinal(), 1])  # pings only: cadence-free truth
    crews = fleet.crews
    depot = (float(fleet.depot.lat), float(fleet.depot.lng))
    picked = rng.choice(len(pool), len(crews) * stops_per_route, replace=False)
    points = [depot, *[(float(pool[i, 0]), float(pool[i, 1])) for i in picked]]
    matrix = travel_matrix(points)
    durations, distances = matrix.durations_s, matrix.distances_m
    reachable = [
        j
        for j in range(1, len(points))
        if durations[0, j] < UNREACHABLE_S and durations[j, 0] < UNREACHABLE_S
    ]
    if not reachable:
        return
    swept = _sweep(np.array([points[j] for j in reachable]), depot, rng.uniform(0, 2 * math.pi))
    in_order = [reachable[int(i)] for i in swept]
    size = math.ceil(len(in_order) / len(crews)) if in_order else 0
    midnight = dt.datetime.combine(date, dt.time(), tzinfo=zone)
    published = midnight - dt.timedelta(hours=5)  # the evening before
    plan = Plan.objects.create(
        date=date,
        depot=fleet.depot,
        status=Plan.Status.DONE,
        seconds=1,
        engine="history",
        solved_at=published,
        published_at=published,
        published_by=HISTORY_ACTOR,
        travel_kind=source.kind,
        travel_label=source.label[:120],
        travel_note=source.reason[:200],
    )
    orders: list[Order] = []
    created_at: list[dt.datetime] = []
    routes: list[tuple[PlanRoute, list[tuple[int, Order, TrueStop]]]] = []
    events: list[OrderEvent] = []
    ping_rows = []
    sigma = truth.noise_sigma
    for d, (driver, vehicle) in enumerate(crews):
        members = in_order[d * size : (d + 1) * size]
        if not members:
            continue
        sequence = _nearest_first(durations, members)
        legs = [0, *sequence, 0]
        length = sum(int(durations[a, b]) for a, b in itertools.pairwise(legs))
        length += sum(
            SERVICE_CHOICES_S[int(picked[j - 1]) % len(SERVICE_CHOICES_S)] for j in sequence
        )
        latest = max(FIRST_START_S, LAST_END_S - length)
        u = (d + rng.random()) / len(crews)
        start_s = round((FIRST_START_S + u * (latest - FIRST_START_S)) / 60) * 60
        start = midnight + dt.timedelta(seconds=start_s)
        t = int(start.timestamp())
        planned = t
        here = 0
        segments = []
        visits: list[tuple[int, Order, TrueStop]] = []
        distance = 0
        for k, j in enumerate([*sequence, 0], start=1):
            a, b = points[here], points[j]
            estimate = int(durations[here, j])
            metres = int(distances[here, j])
            set_off_local = dt.datetime.fromtimestamp(t, zone)
            noise = math.exp(rng.normal(0.0, sigma))
            travel = max(
                1,
                round(
                    estimate * truth.hour_factor(set_off_local) * truth.area_factor(a, b) * noise
                ),
            )
            plan_local = dt.datetime.fromtimestamp(planned, zone)
            plan_second = plan_local.hour * 3600 + plan_local.minute * 60 + plan_local.second
            planned_arrival = planned + round(
                estimate * configured_factor(rush_hours, plan_local.weekday(), plan_second)
            )
            segments.append((t, t + travel, a, b, metres / max(travel, 1)))
            distance += metres
            if j == 0:  # back at the depot
                t += travel
                planned = planned_arrival
                break
            index = int(picked[j - 1])
            key = keys[index]
            service = SERVICE_CHOICES_S[index % len(SERVICE_CHOICES_S)]
            door = max(
                10, round(service * math.exp(rng.normal(0.0, sigma)) + truth.door_extra_s(key))
            )
            items = int(rng.integers(1, 7))
            label = truth.labels[index] if index < len(truth.labels) else f"Address {index + 1}"
            order = Order(
                external_id=f"hist-{date:%Y%m%d}-{d + 1:02d}-{k:03d}",
                source=Order.Source.API,
                customer_name=f"Customer {index + 1}",
                customer_email=f"customer{index + 1}@history.example",
                address_line1=label[:200],
                country=country,
                lat=b[0],
                lng=b[1],
                geocode_status=Order.GeocodeStatus.PROVIDED,
                delivery_date=date,
                service_s=service,
                items=items,
                status=OrderStatus.DELIVERED,
            )
            orders.append(order)
            created_at.append(published - dt.timedelta(hours=2 + rng.uniform(0, 20)))
            arrived = t + travel
            left = arrived + door
            stop = TrueStop(
                order_id=0,
                driver_id=driver.pk,
                date=date,
                sequence=k,
                address_key=key,
                set_off_at=dt.datetime.fromtimestamp(t, dt.UTC),
                arrived_at=dt.datetime.fromtimestamp(arrived, dt.UTC),
                left_at=dt.datetime.fromtimestamp(left, dt.UTC),
                planned_at=dt.datetime.fromtimestamp(planned_arrival, dt.UTC),
                estimate_s=estimate,
                travel_s=travel,
                door_s=door,
            )
            visits.append((planned_arrival, order, stop))
            segments.append((arrived, left, b, b, 0.0))
            planned = planned_arrival + service
            t = left
            here = j
        route = PlanRoute(
            plan=plan,
            driver=driver,
            vehicle=vehicle,
            starts_at=start,
            ends_at=dt.datetime.fromtimestamp(planned, dt.UTC),
            distance_m=distance,
            duration_s=planned - int(start.timestamp()),
            version=1,
            planned_distance_m=distance,
            planned_duration_s=planned - int(start.timestamp()),
        )
        routes.append((route, visits))
        ping_rows.append((driver.pk, *_route_pings(segments, ping_every_s, gps)))
    copy_insert(Order, orders)
    with connection.cursor() as cursor:  # the phone-era times, not now (auto_now*)
        cursor.execute(
            "UPDATE dispatch_order o SET created_at = c.created, updated_at = c.updated "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
            "AS c(id, created, updated) WHERE o.id = c.id",
            [
                [o.pk for o in orders],
                created_at,
                [s.left_at for _, visits in routes for _, _, s in visits],
            ],
        )
    PlanRoute.objects.bulk_create([route for route, _ in routes])
    plan_stops: list[PlanStop] = []
    versions: list[RouteVersion] = []
    for route, visits in routes:
        snapshot = []
        for planned_arrival, order, stop in visits:
            at = dt.datetime.fromtimestamp(planned_arrival, dt.UTC)
            plan_stops.append(
                PlanStop(
                    route_id=route.pk,
                    sequence=stop.sequence,
                    order_id=order.pk,
                    arrives_at=at,
                    starts_at=at,
                    departs_at=at + dt.timedelta(seconds=order.service_s),
                )
            )
            snapshot.append(
                {
                    "order": order.pk,
                    "sequence": stop.sequence,
                    "is_break": False,
                    "arrives_at": at.isoformat(),
                    "starts_at": at.isoformat(),
                }
            )
            actor = f"driver:{route.driver_id}"
            for from_status, to_status, when in (
                (OrderStatus.PLANNED, OrderStatus.DISPATCHED, plan.published_at),
                (OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, stop.set_off_at),
                (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, stop.arrived_at),
                (OrderStatus.ARRIVED, OrderStatus.DELIVERED, stop.left_at),
            ):
                events.append(
                    OrderEvent(
                        order_id=order.pk,
                        from_status=from_status,
                        to_status=to_status,
                        actor=HISTORY_ACTOR if to_status == OrderStatus.DISPATCHED else actor,
                        created_at=when,
                    )
                )
            result.stops.append(_with_order(stop, order.pk))
        versions.append(
            RouteVersion(
                route=route,
                number=1,
                reason="Published",
                actor=HISTORY_ACTOR,
                stops=snapshot,
                changes={},
            )
        )
    copy_insert(PlanStop, plan_stops)
    copy_insert(OrderEvent, events)
    RouteVersion.objects.bulk_create(versions)
    for route, _ in routes:  # what the planned order saved (reports), as plans store it
        baseline.arrival_order_store(route)
    Plan.objects.filter(pk=plan.pk).update(
        distance_m=sum(r.distance_m for r, _ in routes),
        duration_s=sum(r.duration_s for r, _ in routes),
    )
    result.plan_ids.append(plan.pk)
    result.pings += _pings_copy(ping_rows)


def _with_order(stop: TrueStop, order_id: int) -> TrueStop:
    return TrueStop(
        order_id,
        stop.driver_id,
        stop.date,
        stop.sequence,
        stop.address_key,
        stop.set_off_at,
        stop.arrived_at,
        stop.left_at,
        stop.planned_at,
        stop.estimate_s,
        stop.travel_s,
        stop.door_s,
    )
