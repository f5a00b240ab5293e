"""Times, loads and broken constraints of a route, from its order of steps alone.

Every engine answers with sequences (`RoutePlan`); this module turns a sequence into a
timed `Route` the same way for all of them, and the planning screens call it after each
manual edit so that a move which breaks a window is flagged rather than accepted.

Rules: the vehicle leaves its start no earlier than its shift starts, waits at a stop
until the window opens (choosing the earliest window it can still make), serves, drives
on. A break is taken where it stands in the sequence, on the way: when the driver can
drive the next leg first and still start the break inside its window, the pause is taken
on arrival, before serving (the semantics of OR-Tools' break intervals); otherwise before
leaving. The departure is then delayed as far as it removes
waiting without making any stop later than its window allows.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from .problem import (
    REQUIRED_PENALTY,
    Problem,
    Route,
    RoutePlan,
    Solution,
    Step,
    StepKind,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    Vehicle,
    Violation,
    Visit,
    capacity_of,
    padded,
)

UNREACHABLE_S = 10**9  # a matrix entry at or above this means "no road"


@dataclass(frozen=True, slots=True)
class _Stop:
    kind: str
    id: str
    location: int
    service_s: int
    windows: tuple[TimeWindow, ...]
    delta: tuple[int, ...]  # change of the load on board when served


def _stop_of(problem: Problem, step: Step, dims: int) -> _Stop:
    if step.kind is StepKind.JOB:
        j = problem.jobs[step.index]
        pickup, delivery = padded(j.pickup, dims), padded(j.delivery, dims)
        delta = tuple(p - d for p, d in zip(pickup, delivery, strict=True))
        return _Stop("job", j.id, j.location, j.service_s, j.windows, delta)
    if step.kind in (StepKind.PICKUP, StepKind.DELIVERY):
        s = problem.shipments[step.index]
        amount = padded(s.amount, dims)
        if step.kind is StepKind.PICKUP:
            return _Stop(
                "pickup", s.id, s.pickup.location, s.pickup.service_s, s.pickup.windows, amount
            )
        return _Stop(
            "delivery",
            s.id,
            s.delivery.location,
            s.delivery.service_s,
            s.delivery.windows,
            tuple(-a for a in amount),
        )
    raise ValueError(f"not a stop: {step}")


def _window_for(windows: tuple[TimeWindow, ...], arrival: int) -> TimeWindow | None:
    """The earliest window still open at `arrival`; None when every window has closed."""
    if not windows:
        return None
    for w in sorted(windows, key=lambda w: w.start_s):
        if arrival <= w.end_s:
            return w
    return None


def route_of(problem: Problem, plan: RoutePlan, *, depart_s: int | None = None) -> Route:
    """The timed route of `plan`, with every constraint it breaks listed in `violations`.

    `depart_s` fixes the departure (a route already on the road); otherwise the latest
    departure that removes avoidable waiting is chosen.
    """
    vehicle = problem.vehicles[plan.vehicle]
    dims = problem.dimensions
    cap = capacity_of(vehicle, dims)
    dur, dist = problem.durations_s, problem.distances_m
    violations: list[Violation] = []

    stops = []
    for step in plan.steps:
        is_break = step.kind is StepKind.BREAK
        stops.append(None if is_break else _stop_of(problem, step, dims))

    start_load = [0] * dims
    for stop in stops:
        if stop is not None and stop.kind == "job":
            for k, d in enumerate(stop.delta):
                start_load[k] += max(0, -d)  # deliveries leave the depot on board

    rush = problem.rush

    def drive(t: int, a: int, b: int) -> int:
        """Seconds from location a to b setting off at t (rush hours applied)."""
        seconds = int(dur[a, b])
        if not rush or seconds >= UNREACHABLE_S:
            return seconds
        return round(seconds * problem.rush_factor(t))

    def simulate(depart: int) -> tuple[list[Visit], int, int]:
        visits = [
            Visit("start", vehicle.id, vehicle.start, depart, depart, depart, 0, tuple(start_load))
        ]
        t, here, load, distance = depart, vehicle.start, list(start_load), 0
        for k, (step, stop) in enumerate(zip(plan.steps, stops, strict=True)):
            if stop is None:
                brk = vehicle.breaks[step.index]
                ahead = _next_location(stops, k, vehicle)
                if ahead is not None and ahead != here:
                    driven = t + drive(t, here, ahead)
                    if max(driven, brk.window.start_s) <= brk.window.end_s:
                        # drive the leg first and pause on arrival, before serving
                        distance += int(dist[here, ahead])
                        t, here = driven, ahead
                begin = max(t, brk.window.start_s)
                visits.append(
                    Visit(
                        "break",
                        f"break-{step.index}",
                        here,
                        t,
                        begin,
                        begin + brk.duration_s,
                        begin - t,
                        tuple(load),
                    )
                )
                t = begin + brk.duration_s
                continue
            arrival = t + drive(t, here, stop.location)
            distance += int(dist[here, stop.location])
            window = _window_for(stop.windows, arrival)
            begin = max(arrival, window.start_s) if window else arrival
            load = [a + b for a, b in zip(load, stop.delta, strict=True)]
            visits.append(
                Visit(
                    stop.kind,
                    stop.id,
                    stop.location,
                    arrival,
                    begin,
                    begin + stop.service_s,
                    begin - arrival,
                    tuple(load),
                )
            )
            t, here = begin + stop.service_s, stop.location
        if vehicle.end is not None:
            arrival = t + drive(t, here, vehicle.end)
            distance += int(dist[here, vehicle.end])
            visits.append(
                Visit("end", vehicle.id, vehicle.end, arrival, arrival, arrival, 0, tuple(load))
            )
        return visits, distance, visits[-1].departure_s

    depart = vehicle.shift.start_s if depart_s is None else depart_s
    visits, distance, _ = simulate(depart)
    if depart_s is None and plan.steps:
        depart += _removable_wait(plan, visits, stops, vehicle)
        visits, distance, _ = simulate(depart)

    # --- which constraints the timed route breaks
    for i, (step, stop) in enumerate(zip(plan.steps, stops, strict=True), start=1):
        v = visits[i]
        if stop is None:
            brk = vehicle.breaks[step.index]
            if v.start_s > brk.window.end_s:
                violations.append(Violation("break", f"break starts after {brk.window.end_s}", i))
            continue
        if stop.windows and not any(w.start_s <= v.start_s <= w.end_s for w in stop.windows):
            violations.append(Violation("time_window", f"{stop.id} is served late", i))
        if int(dur[visits[i - 1].location, stop.location]) >= UNREACHABLE_S:
            violations.append(Violation("unreachable", f"no road to {stop.id}", i))
        if any(x < 0 for x in v.load) or any(x > c for x, c in zip(v.load, cap, strict=True)):
            violations.append(Violation("capacity", f"load {v.load} exceeds {cap}", i))
    if any(x > c for x, c in zip(start_load, cap, strict=True)):
        violations.append(Violation("capacity", f"load {tuple(start_load)} exceeds {cap}", 0))
    violations += _sequence_violations(problem, plan, vehicle)
    end = visits[-1].departure_s
    if end > vehicle.shift.end_s:
        violations.append(Violation("shift", f"route ends at {end}, after the shift"))
    duration = end - visits[0].departure_s if plan.steps else 0
    if vehicle.max_duration_s is not None and duration > vehicle.max_duration_s:
        violations.append(Violation("max_duration", f"route takes {duration} s"))
    if vehicle.max_distance_m is not None and distance > vehicle.max_distance_m:
        violations.append(Violation("max_distance", f"route drives {distance} m"))
    waiting = sum(v.waiting_s for v in visits if v.kind != "break")
    if not plan.steps:
        visits, distance, duration, waiting = visits[:1] + visits[-1:], 0, 0, 0
    cost = 0.0
    if plan.steps:
        cost = (
            vehicle.fixed_cost
            + distance * vehicle.cost_per_km / 1000
            + duration * vehicle.cost_per_hour / 3600
        )
    return Route(vehicle.id, visits, distance, duration, waiting, cost, violations)


def _next_location(stops: list, k: int, vehicle: Vehicle) -> int | None:
    for stop in stops[k + 1 :]:
        if stop is not None:
            return stop.location
    return vehicle.end


def _removable_wait(plan: RoutePlan, visits: list, stops: list, vehicle: Vehicle) -> int:
    """How far the departure can move later without making any visit late (see module doc)."""
    waited = 0
    delay = vehicle.shift.end_s - visits[0].departure_s
    for i, stop in enumerate(stops, start=1):
        v = visits[i]
        waited += v.waiting_s
        if stop is None:
            step = plan.steps[i - 1]
            limit = vehicle.breaks[step.index].window.end_s
        else:
            window = _window_for(stop.windows, v.arrival_s)
            limit = window.end_s if window else None
        if limit is not None:
            delay = min(delay, waited + limit - v.start_s)
    return max(0, min(delay, waited))


def _sequence_violations(problem: Problem, plan: RoutePlan, vehicle: Vehicle) -> list[Violation]:
    out = []
    stop_count = sum(1 for s in plan.steps if s.kind is not StepKind.BREAK)
    if vehicle.max_stops is not None and stop_count > vehicle.max_stops:
        out.append(Violation("max_stops", f"{stop_count} stops, at most {vehicle.max_stops}"))
    picked: set[int] = set()
    for s in plan.steps:
        if s.kind is StepKind.PICKUP:
            picked.add(s.index)
        elif s.kind is StepKind.DELIVERY and s.index not in picked:
            sid = problem.shipments[s.index].id
            out.append(Violation("pickup_delivery", f"{sid} delivered before its pickup"))
    delivered = {s.index for s in plan.steps if s.kind is StepKind.DELIVERY}
    for index in picked - delivered:
        sid = problem.shipments[index].id
        out.append(Violation("pickup_delivery", f"{sid} picked up but not delivered"))
    for s in plan.steps:
        need = None
        if s.kind is StepKind.JOB:
            need = problem.jobs[s.index].skills
        elif s.kind in (StepKind.PICKUP, StepKind.DELIVERY):
            need = problem.shipments[s.index].skills
        if need and not need <= vehicle.skills:
            missing = sorted(need - vehicle.skills)
            out.append(Violation("skills", f"vehicle {vehicle.id} lacks {missing}"))
    taken = [s.index for s in plan.steps if s.kind is StepKind.BREAK]
    if sorted(taken) != list(range(len(vehicle.breaks))) and plan.steps:
        out.append(Violation("break", "every break must be taken exactly once"))
    return out


def solution_of(problem: Problem, plans: list[RoutePlan], *, engine: str) -> Solution:
    """The timed solution of an engine's sequences, with a reason for every job left out."""
    routes = [route_of(problem, p) for p in sorted(plans, key=lambda p: p.vehicle) if p.steps]
    stop_kinds = ("job", "pickup", "delivery")
    served = {v.id for r in routes for v in r.visits if v.kind in stop_kinds}
    used = {p.vehicle for p in plans if p.steps}
    budget = [20_000]  # insertion trials for telling "no room" from "not worth it"
    unassigned = []
    for steps, item in items_with_steps(problem):
        if item.id in served:
            continue
        able, reason = alone(problem, steps)
        if able:
            optional = item.penalty is not None and item.penalty < REQUIRED_PENALTY
            fits = optional and (
                any(v not in used for v in able) or _fits_somewhere(problem, plans, steps, budget)
            )
            reason = UnassignedReason.NOT_WORTH_IT if fits else UnassignedReason.NO_ROOM
        unassigned.append(Unassigned(item.id, reason))
    return Solution(routes, unassigned, engine)


def _fits_somewhere(problem: Problem, plans: list[RoutePlan], steps: list[Step], budget) -> bool:
    """Whether `steps` (kept together) could join one of `plans` without breaking any rule;
    `budget` (a one-item list) caps the routes timed across all calls, for huge days."""
    for plan in plans:
        for at in range(len(plan.steps) + 1):
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            trial = RoutePlan(plan.vehicle, [*plan.steps[:at], *steps, *plan.steps[at:]])
            if not route_of(problem, trial).violations:
                return True
    return False


def items_with_steps(problem: Problem):
    """Every job and shipment with the steps that serve it: `(steps, item)`."""
    for index, job in enumerate(problem.jobs):
        yield [Step(StepKind.JOB, index)], job
    for index, shipment in enumerate(problem.shipments):
        yield [Step(StepKind.PICKUP, index), Step(StepKind.DELIVERY, index)], shipment


#: The order in which a lone job's failures are reported: the vehicle that gets furthest
#: down this list before failing decides the reason.
_ORDER = (
    "skills",
    "capacity",
    "unreachable",
    "time_window",
    "shift",
    "max_duration",
    "max_distance",
    "break",
    "max_stops",
)
_REASON = {
    "skills": UnassignedReason.SKILLS,
    "capacity": UnassignedReason.CAPACITY,
    "unreachable": UnassignedReason.UNREACHABLE,
    "time_window": UnassignedReason.TIME_WINDOW,
    "shift": UnassignedReason.TIME_WINDOW,
    "max_duration": UnassignedReason.MAX_DURATION,
    "max_distance": UnassignedReason.MAX_DISTANCE,
}


def alone(problem: Problem, steps: list[Step]) -> tuple[list[int], UnassignedReason]:
    """The vehicles that could serve `steps` on a route of their own, and, when there is
    none, the reason: the first rule broken by the vehicle that came closest."""
    able: list[int] = []
    furthest = -1
    verdicts: dict[tuple, set[str]] = {}  # vehicles equal but for their id agree
    for v_index, vehicle in enumerate(problem.vehicles):
        key = astuple(vehicle)[1:]
        if key not in verdicts:
            # breaks after the stops, else before them (a lunch that must come early)
            breaks = [Step(StepKind.BREAK, b) for b in range(len(vehicle.breaks))]
            orders = [[*steps, *breaks], [*breaks, *steps]] if breaks else [steps]
            tried = [route_of(problem, RoutePlan(v_index, order)) for order in orders]
            verdicts[key] = min(({v.code for v in r.violations} for r in tried), key=len)
        codes = verdicts[key]
        if not codes:
            able.append(v_index)
            continue
        first = min(_ORDER.index(c) if c in _ORDER else len(_ORDER) for c in codes)
        furthest = max(furthest, first)
    code = _ORDER[furthest] if 0 <= furthest < len(_ORDER) else "no_room"
    return able, _REASON.get(code, UnassignedReason.NO_ROOM)
