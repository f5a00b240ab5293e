"""Cheapest feasible insertion of one job into routes that already exist.

Auto-dispatch puts an order that arrives during a running day where it costs least on
the routes drivers already have, without re-solving anything: every position of every
route is timed with `schedule.route_of` (windows, capacity, shift, breaks, skills,
limits) and the cheapest one that breaks no rule the route did not already break wins.
A route that is already late somewhere may still take the job, as long as nothing new
goes wrong (the same rule a dispatcher's drop on the board follows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .problem import Job, Problem, Route, RoutePlan, Step, StepKind, UnassignedReason
from .schedule import alone, route_of


@dataclass(frozen=True, slots=True)
class Insertion:
    """Where the job goes: before step `position` of vehicle `vehicle`'s plan (its length:
    at the end), and what it adds to that route."""

    vehicle: int
    position: int
    added_cost: float
    added_duration_s: int
    added_distance_m: int


def _broken(problem: Problem, plan: RoutePlan, route: Route) -> set[tuple[str, str | None]]:
    """The rules `route` breaks, each named by its code and the stop it concerns (if any)."""
    out = set()
    for v in route.violations:
        item = None
        if v.step is not None and 1 <= v.step <= len(plan.steps):
            step = plan.steps[v.step - 1]
            item = problem.jobs[step.index].id if step.kind is StepKind.JOB else str(step)
        out.add((v.code, item))
    return out


def cheapest_insertion(
    problem: Problem,
    plans: Sequence[RoutePlan],
    job: int,
    *,
    earliest: Mapping[int, int] | None = None,
) -> Insertion | None:
    """The cheapest place for job `job` (an index into `problem.jobs`) among `plans` (one
    per vehicle that may take it), or None when it fits nowhere. `earliest` gives, per
    vehicle, the first step index the job may go before (a route's stops behind its
    driver stay behind). Each route leaves when its shift (or its driver, on the road) is
    ready. Cost is the route's cost (fixed, per km, per hour); ties go to the smaller
    added time, then to the earlier vehicle and position.

    Every place is given a lower bound of what it adds (the exact extra distance, and the
    extra time the detour and the service push past the waiting behind it), and places
    are timed cheapest bound first: once the bound reaches the best cost found, no place
    left can beat it, so the answer is the exact cheapest without timing them all."""
    earliest = earliest or {}
    target = problem.jobs[job]
    step = Step(StepKind.JOB, job)
    candidates: list[tuple[float, int, int]] = []  # (bound, plan index, position)
    bases: dict[int, Route] = {}
    for p, plan in enumerate(plans):
        vehicle = problem.vehicles[plan.vehicle]
        if target.skills and not target.skills <= vehicle.skills:
            continue
        base = route_of(problem, plan, depart_s=vehicle.shift.start_s)
        bases[p] = base
        for position, bound in _bounds(problem, plan, base, target, earliest.get(plan.vehicle, 0)):
            candidates.append((bound, p, position))
    candidates.sort()
    best: tuple[tuple[float, int], Insertion] | None = None
    allowed: dict[int, set] = {}
    for bound, p, position in candidates:
        if best is not None and bound >= best[0][0] - 1e-9:
            break  # no place left can cost less
        plan, base = plans[p], bases[p]
        vehicle = problem.vehicles[plan.vehicle]
        if p not in allowed:
            allowed[p] = _broken(problem, plan, base)
        trial = RoutePlan(plan.vehicle, [*plan.steps[:position], step, *plan.steps[position:]])
        route = route_of(problem, trial, depart_s=vehicle.shift.start_s)
        if _broken(problem, trial, route) - allowed[p]:
            continue
        added_s = route.duration_s - base.duration_s
        key = (round(route.cost - base.cost, 6), added_s)
        if best is None or key < best[0]:
            best = (
                key,
                Insertion(
                    plan.vehicle,
                    position,
                    route.cost - base.cost,
                    added_s,
                    route.distance_m - base.distance_m,
                ),
            )
    return best[1] if best else None


def _bounds(problem: Problem, plan: RoutePlan, base: Route, job: Job, first: int):
    """(position, a lower bound of the cost the job adds there) for every position from
    `first` on. Distance is exact (legs are summed); time at least what the detour and
    the service push the route's end past the waiting after the position (none counted
    on a day with rush hours, where a later start may drive faster)."""
    vehicle = problem.vehicles[plan.vehicle]
    dur, dist = problem.durations_s, problem.distances_m
    per_m, per_s = vehicle.cost_per_km / 1000, vehicle.cost_per_hour / 3600
    fixed = vehicle.fixed_cost if not plan.steps else 0.0
    # the stops before and after each position; a break has no place of its own (it is
    # taken on the way), so the legs join the stops either side of it
    located = [_location(problem, s) for s in plan.steps]
    before_of, last = [], vehicle.start
    for k in range(len(plan.steps) + 1):
        before_of.append(last)
        if k < len(plan.steps) and located[k] is not None:
            last = located[k]
    after_of, following = [None] * (len(plan.steps) + 1), vehicle.end
    for k in range(len(plan.steps), -1, -1):
        if k < len(plan.steps) and located[k] is not None:
            following = located[k]
        after_of[k] = following
    # waiting at each visit after position k (visits[1:] are the steps, then the end)
    waits = [v.waiting_s for v in base.visits[1 : 1 + len(plan.steps)]]
    after = [0] * (len(plan.steps) + 1)
    for k in range(len(plan.steps) - 1, -1, -1):
        after[k] = after[k + 1] + waits[k]
    here = job.location
    for position in range(max(0, first), len(plan.steps) + 1):
        before, nxt = before_of[position], after_of[position]
        if nxt is None:  # an open route's end: the job is the new last stop
            extra_m = int(dist[before, here])
            extra_s = int(dur[before, here])
        else:
            extra_m = int(dist[before, here]) + int(dist[here, nxt]) - int(dist[before, nxt])
            extra_s = int(dur[before, here]) + int(dur[here, nxt]) - int(dur[before, nxt])
        pushed = 0 if problem.rush else max(0, extra_s + job.service_s - after[position])
        yield position, fixed + max(0, extra_m) * per_m + pushed * per_s


def _location(problem: Problem, step: Step) -> int | None:
    if step.kind is StepKind.JOB:
        return problem.jobs[step.index].location
    if step.kind is StepKind.PICKUP:
        return problem.shipments[step.index].pickup.location
    if step.kind is StepKind.DELIVERY:
        return problem.shipments[step.index].delivery.location
    return None  # a break


def why_not(problem: Problem, job: int) -> UnassignedReason:
    """Why a job that fits no route is left out: the rule no vehicle could keep even with
    the job alone on its route, else "no room" (it fits alone, but not with the rest)."""
    able, reason = alone(problem, [Step(StepKind.JOB, job)])
    return UnassignedReason.NO_ROOM if able else reason
