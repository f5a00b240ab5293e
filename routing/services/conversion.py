"""The Django side of the optimiser: a day's orders and crews as a `Problem`.

Read-only: it takes model instances the caller selected (the plan decides which orders,
depots and crews take part) and returns the problem with the maps needed to turn the
solution back into models. Times are seconds from local midnight of the plan's day in
the tenant's time zone (a day with a daylight-saving change is off by that hour after
the change; the planning layer converts back with the same rule).

Units of the capacity dimensions: weight in tens of grams, volume in decilitres, items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from dispatch.models import PickupDelivery
from routing.optimiser.matrix import Matrix
from routing.optimiser.problem import (
    Break,
    Job,
    Problem,
    Rush,
    Shipment,
    ShipmentStop,
    TimeWindow,
    Vehicle,
)
from routing.services.corrections import Corrections

UNLIMITED = 2**40
#: A driver's break may start this long after its earliest start.
BREAK_SLACK_S = 2 * 3600


@dataclass(frozen=True)
class Crew:
    """A driver and the vehicle they drive today.

    A route already on the road resumes at `start_at` (lat, lng) no earlier than
    `ready_s`, with its break behind it when `break_done`; `pin` is a skill only this crew
    has, given to the orders that must stay on its route (locked or promised stops).
    """

    driver: object  # dispatch.models.Driver
    vehicle: object  # dispatch.models.Vehicle
    start_at: tuple[float, float] | None = None
    ready_s: int | None = None
    break_done: bool = False
    pin: str | None = None


@dataclass
class DayProblem:
    problem: Problem
    # job i of the problem is orders[i]; after the jobs come both ends of each shipment
    orders: list
    crews: list[Crew]  # vehicle i of the problem is crews[i]
    not_geocoded: list = field(default_factory=list)  # orders left out: no coordinates
    routes: list = field(default_factory=list)  # a re-solve: vehicle i is routes[i]
    # a pickup-and-delivery pair: shipment id (its delivery's pk) → the pickup order
    pickups: dict = field(default_factory=dict)
    # deliveries left out: their pickup is open but not planned with them (or it failed)
    waiting: list = field(default_factory=list)
    # location i of the problem is points[i] (lat, lng)
    points: list[tuple[float, float]] = field(default_factory=list)
    # what was learned from the drivers and applied (None: nothing), and the road model's
    # matrix before its area factors (`unlearned` times the same day without them)
    corrections: Corrections | None = None
    road: Matrix | None = None

    def order_of(self, kind: str, index: int):
        """The order of the problem's job `index` (`kind` "job"), or of one end of its
        shipment `index` ("pickup" or "delivery")."""
        if kind == "job":
            return self.orders[index]
        start = len(self.problem.jobs) + 2 * index
        return self.orders[start if kind == "delivery" else start + 1]


def crews_for(drivers: Iterable, vehicles: Iterable) -> list[Crew]:
    """Each active driver with their default vehicle, when it is active and not already
    taken by a driver earlier in `drivers`; drivers without a vehicle do not drive."""
    available = {v.pk: v for v in vehicles if v.is_active}
    crews = []
    for driver in drivers:
        vehicle = available.pop(driver.default_vehicle_id, None) if driver.is_active else None
        if vehicle is not None:
            crews.append(Crew(driver, vehicle))
    return crews


def seconds_of(value: dt.time | str) -> int:
    """Seconds from midnight of a local time ("09:30" or a `time`)."""
    if isinstance(value, str):
        value = dt.time.fromisoformat(value)
    return value.hour * 3600 + value.minute * 60 + value.second


def rush_of(rush_hours: Sequence[Mapping], date: dt.date) -> tuple[Rush, ...]:
    """The tenant's rush hours (`Tenant.rush_hours`) that apply on `date`, as the
    optimiser's rush periods in seconds from local midnight."""
    return tuple(
        Rush(seconds_of(r["start"]), seconds_of(r["end"]), float(r["factor"]))
        for r in rush_hours
        if date.weekday() in r["days"] and float(r["factor"]) != 1.0
    )


def _units(value: Decimal | float | int | None, per_unit: int) -> int:
    return UNLIMITED if value is None else round(Decimal(value) * per_unit)


def problem_for_day(
    *,
    orders: Sequence,
    crews: Sequence[Crew],
    matrix_of: Callable[[list[tuple[float, float]]], Matrix],
    pins: Mapping[int, str] | None = None,
    rush: Sequence[Rush] = (),
    pairs: bool = True,
    corrections: Corrections | None = None,
) -> DayProblem:
    """The optimiser's problem for `orders` served by `crews`.

    `matrix_of` gives travel times between (lat, lng) points (`routing.services.matrix
    .travel_matrix` in production: cached per tenant). Orders without coordinates are
    returned in `not_geocoded` instead of becoming jobs. `pins` maps an order's pk to
    the `pin` of the crew it must stay with; `rush` the day's rush periods (`rush_of`).

    A pickup-and-delivery pair with both ends among `orders` becomes one shipment (the
    pickup first, on one route), both ends left out when either has no coordinates; a
    delivery whose pickup is not among them is a plain job when the parcel is collected
    or being collected (the caller pins it to that route), else it waits (`waiting`).
    `pairs` False: every order its own job (timing a sequence already chosen).

    `corrections` (the tenant's, `corrections.corrections()`): what the drivers taught,
    applied to the legs' times (area factors) and the door times; the caller passes their
    rush periods (`Corrections.rush_for(date)`). None: the road model and configured times.
    """
    learned = corrections if corrections is not None and not corrections.is_empty else None

    def service_of(order) -> int:
        return learned.service_s(order) if learned is not None else order.service_s

    pins = pins or {}
    pickup_of, waiting_ids = _pickups_among(orders) if pairs else ({}, set())
    waiting = [o for o in orders if o.pk in waiting_ids]
    orders = [o for o in orders if o.pk not in waiting_ids]
    unlocated = {o.pk for o in orders if o.lat is None or o.lng is None}
    for delivery_pk, pickup in list(pickup_of.items()):
        if {delivery_pk, pickup.pk} & unlocated:  # one end not found: neither is planned
            unlocated |= {delivery_pk, pickup.pk}
    located = [o for o in orders if o.pk not in unlocated]
    missing = [o for o in orders if o.pk in unlocated]
    paired = set(pickup_of) | {p.pk for p in pickup_of.values()}
    deliveries = [o for o in located if o.pk in pickup_of]
    singles = [o for o in located if o.pk not in paired]
    points: list[tuple[float, float]] = []
    index: dict[tuple[float, float], int] = {}

    def location(lat: float, lng: float) -> int:
        key = (round(lat, 6), round(lng, 6))
        if key not in index:
            index[key] = len(points)
            points.append(key)
        return index[key]

    vehicles = []
    for crew in crews:
        driver, van = crew.driver, crew.vehicle
        start, end = van.start_depot, van.end_depot or van.start_depot
        shift_start = max(seconds_of(driver.shift_start), seconds_of(start.opens_at))
        if crew.ready_s is not None:
            shift_start = max(shift_start, crew.ready_s)
        shift_end = min(seconds_of(driver.shift_end), seconds_of(end.closes_at))
        breaks: tuple[Break, ...] = ()
        if driver.break_start is not None and driver.break_duration_s and not crew.break_done:
            earliest = max(seconds_of(driver.break_start), crew.ready_s or 0)  # late: now
            latest = max(
                earliest, min(earliest + BREAK_SLACK_S, shift_end - driver.break_duration_s)
            )
            breaks = (Break(TimeWindow(earliest, latest), driver.break_duration_s),)
        vehicles.append(
            Vehicle(
                id=f"{driver.pk}:{van.pk}",
                start=location(*(crew.start_at or (start.lat, start.lng))),
                end=location(end.lat, end.lng),
                shift=TimeWindow(shift_start, max(shift_start, shift_end)),
                capacity=(
                    _units(van.capacity_weight_kg, 100),
                    _units(van.capacity_volume_l, 10),
                    _units(van.capacity_items, 1),
                ),
                skills=frozenset(van.skills)
                | frozenset(driver.skills)
                | (frozenset({crew.pin}) if crew.pin else frozenset()),
                breaks=breaks,
                max_stops=van.max_stops,
                max_duration_s=van.max_route_duration_s,
                cost_per_km=float(van.cost_per_km),
                cost_per_hour=float(van.cost_per_hour),
                fixed_cost=float(van.fixed_cost),
            )
        )

    def windows_of(order) -> tuple[TimeWindow, ...]:
        return tuple(
            TimeWindow(seconds_of(w["start"]), seconds_of(w["end"])) for w in order.time_windows
        )

    def pin_of(*orders) -> frozenset[str]:
        return frozenset(pins[o.pk] for o in orders if o.pk in pins)

    jobs = [
        Job(
            id=str(order.pk),
            location=location(order.lat, order.lng),
            service_s=service_of(order),
            windows=tuple(
                TimeWindow(seconds_of(w["start"]), seconds_of(w["end"])) for w in order.time_windows
            ),
            # a pickup timed as a job of its own: its parcel is counted at its delivery
            delivery=()
            if order.kind == "pickup"
            else (_units(order.weight_kg, 100), _units(order.volume_l, 10), order.items),
            skills=frozenset(order.required_skills)
            | (frozenset({pins[order.pk]}) if order.pk in pins else frozenset()),
            priority=max(order.priority - 1, 0),
        )
        for order in singles
    ]
    shipments = []
    for delivery in deliveries:
        pickup = pickup_of[delivery.pk]
        shipments.append(
            Shipment(
                id=str(delivery.pk),
                pickup=ShipmentStop(
                    location(pickup.lat, pickup.lng), service_of(pickup), windows_of(pickup)
                ),
                delivery=ShipmentStop(
                    location(delivery.lat, delivery.lng),
                    service_of(delivery),
                    windows_of(delivery),
                ),
                amount=(
                    _units(delivery.weight_kg, 100),
                    _units(delivery.volume_l, 10),
                    delivery.items,
                ),
                skills=frozenset(delivery.required_skills) | pin_of(delivery, pickup),
                priority=max(delivery.priority - 1, 0),
            )
        )
    if not points:
        points = [(0.0, 0.0)]
    road = matrix_of(points)
    matrix = learned.scale(road, points) if learned is not None else road
    problem = Problem(
        durations_s=matrix.durations_s,
        distances_m=matrix.distances_m,
        vehicles=vehicles,
        jobs=jobs,
        shipments=shipments,
        rush=tuple(rush),
    )
    ends = [o for d in deliveries for o in (d, pickup_of[d.pk])]
    return DayProblem(
        problem,
        [*singles, *ends],
        list(crews),
        missing,
        pickups={str(d.pk): pickup_of[d.pk] for d in deliveries},
        waiting=waiting,
        points=list(points),
        corrections=learned,
        road=road,
    )


def unlearned(day: DayProblem, rush: Sequence[Rush]) -> Problem:
    """`day.problem` as it is without what the drivers taught: the road model's times,
    each order's configured door time, and `rush` (the configured rush hours,
    `rush_of`). The same problem when nothing learned was applied."""
    if day.corrections is None:
        return day.problem
    problem = day.problem
    road = day.road if day.road is not None else Matrix(problem.durations_s, problem.distances_m)
    jobs = [
        replace(job, service_s=int(day.order_of("job", k).service_s))
        for k, job in enumerate(problem.jobs)
    ]
    shipments = [
        replace(
            s,
            pickup=replace(s.pickup, service_s=int(day.order_of("pickup", k).service_s)),
            delivery=replace(s.delivery, service_s=int(day.order_of("delivery", k).service_s)),
        )
        for k, s in enumerate(problem.shipments)
    ]
    return replace(
        problem,
        durations_s=road.durations_s,
        jobs=tuple(jobs),
        shipments=tuple(shipments),
        rush=tuple(rush),
    )


#: A pickup not planned with its delivery in these states: the parcel is (being) collected.
COLLECTING = frozenset({"en_route", "arrived", "delivered"})


def _pickups_among(orders: Sequence) -> tuple[dict, set]:
    """(delivery pk → its pickup order, for the pairs with both ends among `orders`;
    the deliveries among them whose pickup is elsewhere and not (being) collected)."""
    by_pk = {o.pk: o for o in orders}
    if not by_pk:
        return {}, set()
    linked = PickupDelivery.objects.filter(delivery_id__in=by_pk).values_list(
        "delivery_id", "pickup_id", "pickup__status"
    )
    pairs, waiting = {}, set()
    for delivery, pickup, status in linked:
        if pickup in by_pk:
            pairs[delivery] = by_pk[pickup]
        elif status not in COLLECTING:
            waiting.add(delivery)
    return pairs, waiting
