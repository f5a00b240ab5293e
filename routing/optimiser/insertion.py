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

from .problem import Problem, Route, RoutePlan, Step, StepKind, UnassignedReason
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
    driver stay behind). Cost is the route's cost (fixed, per km, per hour); ties go to
    the smaller added time, then to the earlier vehicle and position."""
    earliest = earliest or {}
    need = problem.jobs[job].skills
    step = Step(StepKind.JOB, job)
    best: tuple[tuple[float, int], Insertion] | None = None
    for plan in plans:
        vehicle = problem.vehicles[plan.vehicle]
        if need and not need <= vehicle.skills:
            continue
        base = route_of(problem, plan)
        allowed = _broken(problem, plan, base)
        for position in range(max(0, earliest.get(plan.vehicle, 0)), len(plan.steps) + 1):
            trial = RoutePlan(plan.vehicle, [*plan.steps[:position], step, *plan.steps[position:]])
            route = route_of(problem, trial)
            if _broken(problem, trial, route) - allowed:
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


def why_not(problem: Problem, job: int) -> UnassignedReason:
    """Why a job that fits no route is left out: the rule no vehicle could keep even with
    the job alone on its route, else "no room" (it fits alone, but not with the rest)."""
    able, reason = alone(problem, [Step(StepKind.JOB, job)])
    return UnassignedReason.NO_ROOM if able else reason
