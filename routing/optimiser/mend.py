"""Mending a route the schedule finds broken: move its breaks, else give up stops.

An engine's model and `routing.optimiser.schedule` can disagree at the edges (OR-Tools may pause in
the middle of a drive; the schedule pauses at one end of it). Rather than hand the
dispatcher a route that breaks a window, the route is mended here; the stops given up
come back unassigned with their reason.
"""

from __future__ import annotations

from .problem import Job, Problem, RoutePlan, Shipment, Step, StepKind, penalty_of
from .schedule import route_of


def checked(problem: Problem, plan: RoutePlan) -> RoutePlan:
    """`plan` as the schedule times it without violations: breaks moved if need be, and
    failing that, stops left out (their jobs become unassigned with a reason)."""
    if not route_of(problem, plan).violations:
        return plan
    plan = _breaks_moved(problem, plan)
    while route_of(problem, plan).violations:
        stops = [s for s in plan.steps if s.kind is not StepKind.BREAK]
        if not stops:
            return RoutePlan(plan.vehicle, [])
        plan = _breaks_moved(problem, _without(plan, _worst_stop(problem, plan)))
    return plan


def _breaks_moved(problem: Problem, plan: RoutePlan) -> RoutePlan:
    """`plan` with each break, in turn, at the position where the route breaks least."""
    steps = list(plan.steps)
    for step in [s for s in steps if s.kind is StepKind.BREAK]:
        steps.remove(step)
        best = None
        for position in range(len(steps) + 1):
            trial = RoutePlan(plan.vehicle, [*steps[:position], step, *steps[position:]])
            route = route_of(problem, trial)
            key = (len(route.violations), route.duration_s)
            if best is None or key < best[0]:
                best = (key, position)
        steps.insert(best[1], step)
    return RoutePlan(plan.vehicle, steps)


def _worst_stop(problem: Problem, plan: RoutePlan) -> Step:
    """The stop to give up: of those whose removal mends something, the cheapest to lose
    (then the one that shortens the route most); else the one that mends most."""
    broken = len(route_of(problem, plan).violations)
    trials = []
    for stop in plan.steps:
        if stop.kind in (StepKind.JOB, StepKind.PICKUP):
            route = route_of(problem, _without(plan, stop))
            penalty = penalty_of(_item_of(problem, stop))
            trials.append((len(route.violations), penalty, route.duration_s, stop))
    mending = [t for t in trials if t[0] < broken]
    if mending:
        return min(mending, key=lambda t: t[1:3])[3]
    return min(trials, key=lambda t: t[:3])[3]


def _item_of(problem: Problem, step: Step) -> Job | Shipment:
    return problem.jobs[step.index] if step.kind is StepKind.JOB else problem.shipments[step.index]


def _without(plan: RoutePlan, stop: Step) -> RoutePlan:
    """`plan` without `stop` (and without its partner, for a shipment)."""
    if stop.kind is StepKind.JOB:
        gone = {stop}
    else:
        gone = {Step(StepKind.PICKUP, stop.index), Step(StepKind.DELIVERY, stop.index)}
    return RoutePlan(plan.vehicle, [s for s in plan.steps if s not in gone])


def reinserted(problem: Problem, plans: list[RoutePlan], jobs: list[int]) -> list[RoutePlan]:
    """`plans` with each of `jobs` (indexes, given up by mending) put back where it costs
    the least time and the schedule still holds, on any vehicle; a job that fits nowhere
    stays out. Higher priorities first."""
    by_vehicle = {p.vehicle: RoutePlan(p.vehicle, list(p.steps)) for p in plans}
    for v in range(len(problem.vehicles)):
        by_vehicle.setdefault(v, RoutePlan(v, []))
    durations = {v: route_of(problem, p).duration_s for v, p in by_vehicle.items()}
    for job in sorted(jobs, key=lambda j: -problem.jobs[j].priority):
        step, best = Step(StepKind.JOB, job), None
        for v, plan in by_vehicle.items():
            for position in range(len(plan.steps) + 1):
                trial = RoutePlan(v, [*plan.steps[:position], step, *plan.steps[position:]])
                route = route_of(problem, trial)
                if route.violations:
                    continue
                added = route.duration_s - durations[v]
                if best is None or added < best[0]:
                    best = (added, trial, route.duration_s)
        if best is not None:
            _, trial, duration = best
            by_vehicle[trial.vehicle], durations[trial.vehicle] = trial, duration
    return [p for _, p in sorted(by_vehicle.items()) if p.steps]
