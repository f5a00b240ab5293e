"""An independent feasibility check of a `Solution` against its `Problem`.

Written from the problem's definition alone, deliberately without `routing.optimiser.schedule`:
the point is to catch the scheduler's and the engines' mistakes, not to repeat them.
Every rule is checked on the visits as reported (times, locations, loads), and the
route totals are recomputed from the matrices.

Conventions the solution follows (see `routing.optimiser.problem.Visit`): a route's visits are
`start`, then stops (`job`, `pickup`, `delivery`) and breaks (`break`, id `break-<k>`
for the vehicle's k-th break, located where it is taken), then `end` unless the vehicle's
route may end anywhere. A visit's `load` is what is on board after it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from .problem import (
    Job,
    Problem,
    Route,
    Shipment,
    Solution,
    TimeWindow,
    UnassignedReason,
    Vehicle,
    Visit,
    capacity_of,
    padded,
)
from .schedule import UNREACHABLE_S  # the matrices' "no road" marker, a problem convention

_STOP_KINDS = ("job", "pickup", "delivery")


@dataclass
class _Served:
    """Where each job and each half of a shipment was visited, across all routes."""

    jobs: Counter = field(default_factory=Counter)
    pickups: Counter = field(default_factory=Counter)
    deliveries: Counter = field(default_factory=Counter)


def check(problem: Problem, solution: Solution) -> list[str]:
    """Every rule `solution` breaks for `problem`, one message each; empty when feasible."""
    errors: list[str] = []
    vehicles = {v.id: v for v in problem.vehicles}
    served = _Served()
    routes_of: Counter = Counter()
    for r, route in enumerate(solution.routes):
        label = f"route {r} (vehicle {route.vehicle_id})"
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            errors.append(f"{label}: no such vehicle in the problem")
            continue
        routes_of[vehicle.id] += 1
        if routes_of[vehicle.id] == 2:
            errors.append(f"{label}: vehicle {vehicle.id} drives more than one route")
        errors += _route_errors(problem, vehicle, route, label, served)
    errors += _assignment_errors(problem, solution, served)
    return errors


# --- one route ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stop:
    location: int
    service_s: int
    windows: tuple[TimeWindow, ...]
    delta: tuple[int, ...]  # change of the load on board when served
    skills: frozenset[str]


def _route_errors(
    problem: Problem, vehicle: Vehicle, route: Route, label: str, served: _Served
) -> list[str]:
    visits = route.visits
    if not visits:
        return [f"{label}: has no visits"]
    errors: list[str] = []
    dims = problem.dimensions
    jobs = {j.id: j for j in problem.jobs}
    shipments = {s.id: s for s in problem.shipments}

    def where(i: int) -> str:
        return f"{label}, visit {i} ({visits[i].kind} {visits[i].id})"

    # --- shape: start first, end last (when the vehicle has an end), stops in between
    first, last = visits[0], visits[-1]
    if first.kind != "start":
        errors.append(f"{where(0)}: a route must begin with its start visit")
    elif first.location != vehicle.start:
        errors.append(
            f"{where(0)}: starts at location {first.location}, "
            f"not at the vehicle's start {vehicle.start}"
        )
    has_end = last.kind == "end" and len(visits) > 1
    if vehicle.end is not None:
        if not has_end:
            errors.append(f"{where(len(visits) - 1)}: the route must finish with its end visit")
        elif last.location != vehicle.end:
            errors.append(
                f"{where(len(visits) - 1)}: ends at location {last.location}, "
                f"not at the vehicle's end {vehicle.end}"
            )
    inner = range(1, len(visits) - 1 if has_end else len(visits))
    for i in inner:
        if visits[i].kind not in (*_STOP_KINDS, "break"):
            errors.append(f"{where(i)}: a {visits[i].kind!r} visit in the middle of a route")

    # --- what each visit is: its stop (or break), validated against the problem
    stops: dict[int, _Stop] = {}
    breaks_taken: Counter = Counter()
    break_of: dict[int, int] = {}
    for i in inner:
        v = visits[i]
        if v.kind == "break":
            k = _break_index(v.id)
            if k is None or not 0 <= k < len(vehicle.breaks):
                errors.append(f"{where(i)}: vehicle {vehicle.id} has no such break")
                continue
            breaks_taken[k] += 1
            break_of[i] = k
            continue
        if v.kind not in _STOP_KINDS:
            continue  # reported above
        stop = _stop_of(v, jobs, shipments, dims)
        if stop is None:
            errors.append(f"{where(i)}: no {v.kind} with id {v.id} in the problem")
            continue
        stops[i] = stop
        if v.location != stop.location:
            errors.append(
                f"{where(i)}: visited at location {v.location}, but it is at {stop.location}"
            )
        if not stop.skills <= vehicle.skills:
            missing = sorted(stop.skills - vehicle.skills)
            errors.append(f"{where(i)}: vehicle {vehicle.id} lacks the skills {missing}")
        {"job": served.jobs, "pickup": served.pickups, "delivery": served.deliveries}[v.kind][
            v.id
        ] += 1

    errors += _shipment_order_errors(visits, inner, stops, where)
    errors += _time_errors(problem, vehicle, visits, stops, break_of, where)
    used = bool(inner)
    if used:
        for k in range(len(vehicle.breaks)):
            if breaks_taken[k] != 1:
                errors.append(
                    f"{label}: break {k} of vehicle {vehicle.id} taken {breaks_taken[k]} times, "
                    "not exactly once"
                )
    errors += _load_errors(vehicle, visits, stops, dims, where)

    # --- limits and the route's reported totals
    stop_count = len(stops)
    if vehicle.max_stops is not None and stop_count > vehicle.max_stops:
        errors.append(f"{label}: {stop_count} stops, more than max_stops {vehicle.max_stops}")
    distance = _distance(problem, visits) if used else 0  # an idle vehicle does not drive
    duration = last.departure_s - first.departure_s if used else 0
    if vehicle.max_duration_s is not None and duration > vehicle.max_duration_s:
        errors.append(
            f"{label}: takes {duration} s, more than max_duration_s {vehicle.max_duration_s}"
        )
    if vehicle.max_distance_m is not None and distance > vehicle.max_distance_m:
        errors.append(
            f"{label}: drives {distance} m, more than max_distance_m {vehicle.max_distance_m}"
        )
    if route.distance_m != distance:
        errors.append(f"{label}: reports distance_m {route.distance_m}, the legs make {distance}")
    if route.duration_s != duration:
        errors.append(f"{label}: reports duration_s {route.duration_s}, its visits make {duration}")
    cost = 0.0
    if used:
        cost = (
            vehicle.fixed_cost
            + distance * vehicle.cost_per_km / 1000
            + duration * vehicle.cost_per_hour / 3600
        )
    if not math.isclose(route.cost, cost, rel_tol=1e-9, abs_tol=1e-6):
        errors.append(f"{label}: reports cost {route.cost}, its distance and duration make {cost}")
    return errors


def _break_index(visit_id: str | None) -> int | None:
    if not visit_id or not visit_id.startswith("break-"):
        return None
    suffix = visit_id.removeprefix("break-")
    return int(suffix) if suffix.isdigit() else None


def _stop_of(
    visit: Visit, jobs: dict[str, Job], shipments: dict[str, Shipment], dims: int
) -> _Stop | None:
    if visit.kind == "job":
        job = jobs.get(visit.id)
        if job is None:
            return None
        delta = tuple(
            p - d for p, d in zip(padded(job.pickup, dims), padded(job.delivery, dims), strict=True)
        )
        return _Stop(job.location, job.service_s, job.windows, delta, job.skills)
    shipment = shipments.get(visit.id)
    if shipment is None:
        return None
    amount = padded(shipment.amount, dims)
    if visit.kind == "pickup":
        end = shipment.pickup
    else:
        end, amount = shipment.delivery, tuple(-a for a in amount)
    return _Stop(end.location, end.service_s, end.windows, amount, shipment.skills)


def _shipment_order_errors(visits, inner, stops, where) -> list[str]:
    errors = []
    pickups: dict[str, list[int]] = {}
    deliveries: dict[str, list[int]] = {}
    for i in inner:
        if i in stops and visits[i].kind in ("pickup", "delivery"):
            side = pickups if visits[i].kind == "pickup" else deliveries
            side.setdefault(visits[i].id, []).append(i)
    for sid in sorted(set(pickups) | set(deliveries)):
        p, d = pickups.get(sid, []), deliveries.get(sid, [])
        if not p:
            errors.append(f"{where(d[0])}: shipment {sid} delivered, never picked up on this route")
        elif not d:
            errors.append(f"{where(p[0])}: shipment {sid} picked up, never delivered on this route")
        elif d[0] < p[0]:
            errors.append(f"{where(d[0])}: shipment {sid} delivered before its pickup")
    return errors


def _time_errors(problem, vehicle, visits, stops, break_of, where) -> list[str]:
    errors = []
    dur = problem.durations_s
    here = visits[0].location
    for i, v in enumerate(visits):
        service = 0
        if i in stops:
            service = stops[i].service_s
        elif i in break_of:
            service = vehicle.breaks[break_of[i]].duration_s
        if v.start_s < v.arrival_s:
            errors.append(f"{where(i)}: starts at {v.start_s}, before arrival {v.arrival_s}")
        if v.waiting_s != v.start_s - v.arrival_s:
            errors.append(
                f"{where(i)}: waiting_s {v.waiting_s} is not start - arrival "
                f"({v.start_s} - {v.arrival_s})"
            )
        if v.departure_s != v.start_s + service:
            errors.append(
                f"{where(i)}: departs at {v.departure_s}, not start {v.start_s} + {service} s"
            )
        if i > 0:
            location = v.location if v.location is not None or v.kind != "break" else here
            if location is None or here is None:
                errors.append(f"{where(i)}: has no location")
            else:
                travel = int(dur[here, location])
                previous = visits[i - 1].departure_s
                if travel < UNREACHABLE_S:  # rush hours: the factor in force on setting off
                    factor = next(
                        (r.factor for r in problem.rush if r.start_s <= previous < r.end_s), 1.0
                    )
                    travel = round(travel * factor)
                if travel >= UNREACHABLE_S:
                    errors.append(f"{where(i)}: no road from location {here} to {location}")
                elif v.arrival_s < previous + travel:
                    errors.append(
                        f"{where(i)}: arrives at {v.arrival_s}, but leaving at {previous} and "
                        f"driving {travel} s cannot arrive before {previous + travel}"
                    )
            here = location
        windows = stops[i].windows if i in stops else ()
        if windows and not any(w.start_s <= v.start_s <= w.end_s for w in windows):
            spans = [(w.start_s, w.end_s) for w in windows]
            errors.append(f"{where(i)}: served at {v.start_s}, outside its time windows {spans}")
        if i in break_of:
            window = vehicle.breaks[break_of[i]].window
            if not window.start_s <= v.start_s <= window.end_s:
                errors.append(
                    f"{where(i)}: break starts at {v.start_s}, outside its time window "
                    f"({window.start_s}, {window.end_s})"
                )
    if visits[0].departure_s < vehicle.shift.start_s:
        errors.append(
            f"{where(0)}: leaves at {visits[0].departure_s}, before the shift starts at "
            f"{vehicle.shift.start_s}"
        )
    finish = visits[-1].departure_s
    if finish > vehicle.shift.end_s:
        errors.append(
            f"{where(len(visits) - 1)}: finishes at {finish}, after the shift ends at "
            f"{vehicle.shift.end_s}"
        )
    for b in break_of:
        for s in stops:
            overlap = visits[b].start_s < visits[s].departure_s
            overlap = overlap and visits[s].start_s < visits[b].departure_s
            if overlap:
                errors.append(f"{where(b)}: break overlaps the service of visit {s}")
    return errors


def _load_errors(vehicle, visits, stops, dims, where) -> list[str]:
    """Loads recomputed from scratch: job deliveries leave the start on board."""
    errors = []
    capacity = capacity_of(vehicle, dims)
    load = [0] * dims
    for i, stop in stops.items():
        if visits[i].kind == "job":
            load = [x + max(0, -d) for x, d in zip(load, stop.delta, strict=True)]
    for i, v in enumerate(visits):
        if i in stops:
            load = [x + d for x, d in zip(load, stops[i].delta, strict=True)]
        if tuple(v.load) != tuple(load):
            errors.append(f"{where(i)}: reports load {tuple(v.load)}, on board is {tuple(load)}")
        if any(x > c for x, c in zip(load, capacity, strict=True)):
            errors.append(f"{where(i)}: load {tuple(load)} exceeds capacity {vehicle.capacity}")
        if any(x < 0 for x in load):
            errors.append(f"{where(i)}: load {tuple(load)} is negative")
    return errors


def _distance(problem: Problem, visits: list[Visit]) -> int:
    """Metres of the legs actually driven, breaks located where they are taken."""
    total, here = 0, visits[0].location
    for v in visits[1:]:
        location = v.location if v.location is not None else here
        if here is not None and location is not None:
            total += int(problem.distances_m[here, location])
        here = location
    return total


# --- the whole solution -------------------------------------------------------------------


def _assignment_errors(problem: Problem, solution: Solution, served: _Served) -> list[str]:
    errors = []
    listed = Counter(u.id for u in solution.unassigned)
    known = {j.id for j in problem.jobs} | {s.id for s in problem.shipments}
    for u in solution.unassigned:
        if u.id not in known:
            errors.append(f"unassigned {u.id}: no such job or shipment in the problem")
        if u.reason not in set(UnassignedReason):
            errors.append(f"unassigned {u.id}: {u.reason!r} is not an UnassignedReason")
    for item_id, count in sorted(listed.items()):
        if count > 1:
            errors.append(f"unassigned {item_id}: listed {count} times")
    for job in problem.jobs:
        count = served.jobs[job.id]
        if count > 1:
            errors.append(f"job {job.id}: served {count} times, more than once")
        errors += _listing_errors(f"job {job.id}", count > 0, listed[job.id])
    for shipment in problem.shipments:
        p, d = served.pickups[shipment.id], served.deliveries[shipment.id]
        if p > 1 or d > 1:
            errors.append(
                f"shipment {shipment.id}: picked up {p} and delivered {d} times, more than once"
            )
        errors += _listing_errors(f"shipment {shipment.id}", p + d > 0, listed[shipment.id])
    return errors


def _listing_errors(label: str, served: bool, listed: int) -> list[str]:
    if served and listed:
        return [f"{label}: both served and listed as unassigned"]
    if not served and not listed:
        return [f"{label}: neither served nor listed as unassigned"]
    return []
