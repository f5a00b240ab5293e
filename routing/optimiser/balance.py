"""Balanced plans: routes evened out by stops or by working time, and every driver used.

The shortest plan is right for fuel and wrong for a business that pays every driver on
shift: left to itself the search may put a whole day on one van. A balanced solve

1. finds the shortest plan with a third of the budget (it is also what the balanced plan
   is compared with: "+12.4 km, +0:38 h against the shortest plan");
2. caps each route at the mean plus the tolerance, from that plan: by stops,
   ``ceil(stops / vans * (1 + tol))`` (with every stop served this is a floor too); by
   working time, ``mean route duration * (1 + tol)``, the mean counting the drive out and
   back of each route the shortest plan left unused; a vehicle's own, stricter limit
   stays;
3. solves the capped problem with the rest, starting from the shortest plan (which the
   caps make infeasible and the search repairs: measured on the 1,000-order bench day,
   708 km instead of 803 km from scratch), with relaxed searches racing the strict one.
   A cap that leaves out stops the shortest plan served is widened (the tolerance
   doubled, at least +10 points) and solved once more with another third of the budget;
   if that still drops stops, the shortest plan is kept and the note says why: balance
   never costs a customer their delivery;
4. lifts routes left below the mean less the tolerance (the caps alone let a day of many
   vans leave one idle): the shortest route takes the stop cheapest to move (estimated
   from the matrix, checked by the schedule) from a route that stays above the floor, in
   up to a tenth of the budget;
5. with "use every driver", a van still idle takes the stop that costs least to move to it
   from a route with two or more;
6. keeps the shortest plan itself when it is already within the tolerance and the
   balanced search found nothing shorter.

A stop cap is stated to PyVRP as one more capacity dimension (each job carries one unit)
when PyVRP can state the rest of the problem, since it cannot state `max_stops`; otherwise
(breaks, pickup-and-delivery pairs) it is each vehicle's `max_stops`, for OR-Tools.
Every answer is timed again on the problem as given, so the caps never show in the plan.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from . import solver as race
from .engines.pyvrp_engine import unsupported
from .problem import Job, Problem, RoutePlan, Solution, Step, StepKind, Vehicle, capacity_of, padded
from .schedule import route_of, solution_of

#: Share of the budget for the shortest plan; the balanced search has the rest, and a
#: retry with a wider tolerance one share more.
SHORTEST_SHARE = 1 / 3
#: Time for lifting short routes to the floor, as a share of the budget (at least 1 s).
LIFT_SHARE = 0.1
#: Stops the schedule checks per move when a short route takes work from others, best
#: estimated first.
LIFT_CANDIDATES = 40


class Objective(StrEnum):
    SHORTEST = "shortest"
    STOPS = "stops"
    TIME = "time"


@dataclass(frozen=True)
class Balance:
    """What the dispatcher asked for: the objective, how far a route may be above the
    mean (per cent), and whether every driver on shift must get at least one stop."""

    objective: Objective = Objective.SHORTEST
    tolerance_pct: int = 15
    use_all_vehicles: bool = False

    @property
    def plain(self) -> bool:
        """Nothing but the shortest plan is asked for."""
        return self.objective == Objective.SHORTEST and not self.use_all_vehicles


@dataclass
class Spread:
    """Stops and working time per vehicle in play (an idle one counts as 0)."""

    stops: list[int]
    durations_s: list[int]

    @property
    def stops_range(self) -> tuple[int, int]:
        return (min(self.stops, default=0), max(self.stops, default=0))

    @property
    def durations_range(self) -> tuple[int, int]:
        return (min(self.durations_s, default=0), max(self.durations_s, default=0))


@dataclass
class Balanced:
    """A balanced solve's answer: the plan, the shortest plan it is compared with (the
    same plan for a plain solve), the tolerance finally used, and what had to give."""

    solution: Solution
    shortest: Solution
    tolerance_pct: int
    note: str = ""


def solve(
    problem: Problem,
    *,
    balance: Balance,
    seconds: float,
    seed: int = 1,
    workers: int | None = None,
) -> Balanced:
    """The plan `balance` asks for within about `seconds` (a retry may take a third more)."""
    run = race.solve  # looked up at each call: tests may swap it
    started = time.perf_counter()
    if balance.plain:
        solution = run(problem, seconds=seconds, seed=seed, workers=workers)
        return Balanced(solution, solution, balance.tolerance_pct)
    in_play = vehicles_in_play(problem)
    first = seconds if balance.objective == Objective.SHORTEST else seconds * SHORTEST_SHARE
    shortest = run(problem, seconds=first, seed=seed, workers=workers)
    if balance.objective == Objective.SHORTEST or len(in_play) < 2:
        solution, moved = _every_vehicle_used(problem, problem, shortest, in_play, balance)
        note = _moved_note(moved)
        if len(in_play) < 2 and balance.objective != Objective.SHORTEST:
            note = _join("Fewer than two drivers to share the stops: nothing to balance.", note)
        return Balanced(solution, shortest, balance.tolerance_pct, note)

    served = _served(shortest)
    tolerance, tried, note = balance.tolerance_pct, balance.tolerance_pct, ""
    for attempt in range(2):
        tried = tolerance
        capped = capped_problem(problem, shortest, in_play, balance.objective, tolerance)
        left = seconds - (time.perf_counter() - started)
        budget = left - LIFT_SHARE * seconds if attempt == 0 else seconds * SHORTEST_SHARE
        budget = max(1.0, budget)
        # from the shortest plan (the caps make it infeasible, which PyVRP repairs), with
        # relaxed searches beside the strict one: caps can be as hard to meet as a full fleet
        found = run(
            capped,
            seconds=budget,
            seed=seed + 100 * (attempt + 1),
            workers=workers,
            initial=plans_of(capped, shortest),
            tight=True,
        )
        found = _retimed(problem, capped, found)
        if _served(found) >= served:
            break
        wider = tolerance + max(tolerance, 10)
        note = (
            f"Within ±{tolerance}% some orders could not be placed; balanced within "
            f"±{wider}% instead."
        )
        tolerance = wider
    else:
        note = f"Balancing left orders out even within ±{tried}%: the shortest plan is kept."
        solution, moved = _every_vehicle_used(problem, problem, shortest, in_play, balance)
        return Balanced(solution, shortest, tried, _join(note, _moved_note(moved)))
    deadline = time.perf_counter() + max(1.0, LIFT_SHARE * seconds)
    found = _lifted(problem, capped, found, in_play, balance.objective, tolerance, deadline)
    solution, moved = _every_vehicle_used(problem, capped, found, in_play, balance)
    cost = race.objective(problem, solution)
    if cost < race.objective(problem, shortest):
        shortest = solution  # the balanced search found a shorter plan than the short one
    elif not note and within(problem, shortest, in_play, balance):
        # the shortest plan is balanced enough already, and shorter: it is the answer
        return Balanced(shortest, shortest, tolerance)
    return Balanced(solution, shortest, tolerance, _join(note, _moved_note(moved)))


def within(problem: Problem, solution: Solution, in_play: list[int], balance: Balance) -> bool:
    """Whether every route of `solution` in play is within the tolerance of the mean
    (above and below) by `balance`'s measure, and none idle when every van must work."""
    k, tolerance = len(in_play), balance.tolerance_pct
    measured = spread(problem, solution, in_play)
    if balance.use_all_vehicles and min(measured.stops, default=1) < 1:
        return False
    if balance.objective == Objective.TIME:
        mean = working_time_s(problem, solution, k) / k
        values = measured.durations_s
    else:
        mean = _stops(solution) / k
        values = measured.stops
    cap = mean * (1 + tolerance / 100)
    floor = mean * (1 - tolerance / 100)
    if balance.objective == Objective.STOPS:
        cap, floor = math.ceil(cap - 1e-9), math.floor(floor + 1e-9)
    return all(floor <= v <= cap for v in values)


def vehicles_in_play(problem: Problem) -> list[int]:
    """The vehicles that could serve at least one of the day's stops on their own: the
    ones balance shares the work between (a van whose shift is over does not count)."""
    found: set[int] = set()
    everyone = set(range(len(problem.vehicles)))
    for index, job in enumerate(problem.jobs):
        for v in everyone - found:
            vehicle = problem.vehicles[v]
            if job.skills and not job.skills <= vehicle.skills:
                continue
            breaks = [Step(StepKind.BREAK, b) for b in range(len(vehicle.breaks))]
            for steps in (
                [Step(StepKind.JOB, index), *breaks],
                [*breaks, Step(StepKind.JOB, index)],
            ):
                if not route_of(problem, RoutePlan(v, steps)).violations:
                    found.add(v)
                    break
        if found == everyone:
            break
    for index, _ in enumerate(problem.shipments):
        for v in everyone - found:
            steps = [Step(StepKind.PICKUP, index), Step(StepKind.DELIVERY, index)]
            vehicle = problem.vehicles[v]
            steps += [Step(StepKind.BREAK, b) for b in range(len(vehicle.breaks))]
            if not route_of(problem, RoutePlan(v, steps)).violations:
                found.add(v)
    return sorted(found)


def stop_cap(stops: int, vehicles: int, tolerance_pct: int) -> int:
    """The most stops a route may have: the mean plus the tolerance, rounded up."""
    return math.ceil(stops / max(vehicles, 1) * (1 + tolerance_pct / 100) - 1e-9)


def duration_cap_s(total_s: int, vehicles: int, tolerance_pct: int) -> int:
    """The longest working time a route may have: the mean plus the tolerance."""
    return math.ceil(total_s / max(vehicles, 1) * (1 + tolerance_pct / 100))


def working_time_s(problem: Problem, shortest: Solution, vehicles: int) -> int:
    """The working time `vehicles` routes need in all: the shortest plan's, plus, for each
    route it did not use, the drive out from the depot and back that a new route adds
    (the mean of the shortest plan's first and last legs)."""
    routes = [r for r in shortest.routes if len(r.visits) > 2]
    extra_routes = max(vehicles - len(routes), 0)
    if not routes or not extra_routes:
        return shortest.duration_s
    durations = problem.durations_s
    legs = [
        int(durations[r.visits[0].location, r.visits[1].location])
        + (
            int(durations[r.visits[-2].location, r.visits[-1].location])
            if r.visits[-1].kind == "end"
            else 0  # an open route: no drive back
        )
        for r in routes
    ]
    return shortest.duration_s + extra_routes * round(sum(legs) / len(legs))


def capped_problem(
    problem: Problem,
    shortest: Solution,
    in_play: list[int],
    objective: Objective,
    tolerance_pct: int,
) -> Problem:
    """`problem` with each route capped at the shortest plan's mean plus the tolerance."""
    k = len(in_play)
    if objective == Objective.TIME:
        cap = duration_cap_s(working_time_s(problem, shortest, k), k, tolerance_pct)
        vehicles = [
            replace(v, max_duration_s=min(cap, v.max_duration_s or cap)) for v in problem.vehicles
        ]
        return _with(problem, vehicles=vehicles)
    cap = stop_cap(_stops(shortest), k, tolerance_pct)
    if unsupported(problem) is None and not problem.shipments:
        return _with_stop_dimension(problem, cap)
    vehicles = [replace(v, max_stops=min(cap, v.max_stops or cap)) for v in problem.vehicles]
    return _with(problem, vehicles=vehicles)


def _with_stop_dimension(problem: Problem, cap: int) -> Problem:
    """Each job carries one unit of a new capacity dimension; each van carries `cap`."""
    dims = problem.dimensions
    vehicles = [replace(v, capacity=(*capacity_of(v, dims), cap)) for v in problem.vehicles]
    jobs = [
        replace(j, delivery=(*padded(j.delivery, dims), 1), pickup=(*padded(j.pickup, dims), 0))
        for j in problem.jobs
    ]
    return _with(problem, vehicles=vehicles, jobs=jobs)


def _with(problem: Problem, *, vehicles: list[Vehicle], jobs: list[Job] | None = None) -> Problem:
    return Problem(
        durations_s=problem.durations_s,
        distances_m=problem.distances_m,
        vehicles=vehicles,
        jobs=problem.jobs if jobs is None else jobs,
        shipments=problem.shipments,
        rush=problem.rush,
    )


def plans_of(problem: Problem, solution: Solution) -> list[RoutePlan]:
    """The engine sequences behind `solution` (the inverse of `schedule.solution_of`)."""
    vehicle_of = {v.id: k for k, v in enumerate(problem.vehicles)}
    job_of = {j.id: k for k, j in enumerate(problem.jobs)}
    shipment_of = {s.id: k for k, s in enumerate(problem.shipments)}
    plans = []
    for route in solution.routes:
        steps = []
        for visit in route.visits:
            if visit.kind == "job":
                steps.append(Step(StepKind.JOB, job_of[visit.id]))
            elif visit.kind in ("pickup", "delivery"):
                steps.append(Step(StepKind(visit.kind), shipment_of[visit.id]))
            elif visit.kind == "break":
                steps.append(Step(StepKind.BREAK, int(visit.id.removeprefix("break-"))))
        plans.append(RoutePlan(vehicle_of[route.vehicle_id], steps))
    return plans


def _retimed(problem: Problem, capped: Problem, solution: Solution) -> Solution:
    """`solution` of the capped problem timed on `problem` as given (loads without the
    stop-count dimension, reasons for what is left out as the dispatcher knows them)."""
    return solution_of(problem, plans_of(capped, solution), engine=solution.engine)


def spread(problem: Problem, solution: Solution, in_play: list[int] | None = None) -> Spread:
    """Stops and working time of each vehicle in play (all vehicles when not given)."""
    ids = [problem.vehicles[v].id for v in (in_play or range(len(problem.vehicles)))]
    by_id = {r.vehicle_id: r for r in solution.routes}
    stops, durations = [], []
    for vehicle_id in ids:
        route = by_id.get(vehicle_id)
        stops.append(0 if route is None else _route_stops(route))
        durations.append(0 if route is None else route.duration_s)
    return Spread(stops, durations)


def _route_stops(route) -> int:
    return sum(1 for v in route.visits if v.kind in ("job", "pickup", "delivery"))


def _stops(solution: Solution) -> int:
    return sum(_route_stops(r) for r in solution.routes)


def _served(solution: Solution) -> int:
    return _stops(solution)


def _every_vehicle_used(
    problem: Problem,
    capped: Problem,
    solution: Solution,
    in_play: list[int],
    balance: Balance,
) -> tuple[Solution, int]:
    """`solution` with each idle vehicle in play given the stop cheapest to move to it
    (from a route of two stops or more, keeping `capped`'s limits); how many were moved."""
    if not balance.use_all_vehicles:
        return solution, 0
    plans = {p.vehicle: p for p in plans_of(capped, solution)}
    moved = 0
    for v in in_play:
        if v in plans and plans[v].steps:
            continue
        best = _cheapest_move(capped, plans, v)
        if best is None:
            continue
        _, donor, given = best
        plans[donor.vehicle], plans[v] = donor, given
        moved += 1
    if not moved:
        return solution, 0
    return solution_of(problem, list(plans.values()), engine=solution.engine), moved


def _cheapest_move(problem: Problem, plans: dict[int, RoutePlan], idle: int):
    vehicle = problem.vehicles[idle]
    breaks = [Step(StepKind.BREAK, b) for b in range(len(vehicle.breaks))]
    best = None
    for plan in plans.values():
        jobs = [s for s in plan.steps if s.kind is StepKind.JOB]
        if len(jobs) < 2:
            continue
        before = route_of(problem, plan).cost
        for job in jobs:
            donor = RoutePlan(plan.vehicle, [s for s in plan.steps if s != job])
            donor_route = route_of(problem, donor)
            if donor_route.violations:
                continue
            for steps in ([job, *breaks], [*breaks, job]):
                given = route_of(problem, RoutePlan(idle, steps))
                if given.violations:
                    continue
                added = donor_route.cost + given.cost - before
                if best is None or added < best[0]:
                    best = (added, donor, RoutePlan(idle, steps))
                break
    return best


def _lifted(
    problem: Problem,
    capped: Problem,
    solution: Solution,
    in_play: list[int],
    objective: Objective,
    tolerance_pct: int,
    deadline: float,
) -> Solution:
    """`solution` with its short routes lifted towards the floor, the mean less the
    tolerance: the caps keep every route below the mean plus the tolerance, but on a day
    of many vans nothing in them stops one from having little or nothing to do.

    Greedy: the shortest route below the floor takes, from a route that stays at or
    above it, the stop (of the nearest ones) whose move costs least and breaks no rule
    of `capped`; until no route is short, no move fits, or `deadline` passes.
    """
    k = len(in_play)
    plans = {p.vehicle: p for p in plans_of(capped, solution)}
    for v in in_play:
        plans.setdefault(v, RoutePlan(v, []))
    if objective == Objective.TIME:
        floor = working_time_s(problem, solution, k) / k * (1 - tolerance_pct / 100)

        def measure(route) -> float:
            return route.duration_s
    else:
        floor = math.floor(_stops(solution) / k * (1 - tolerance_pct / 100) + 1e-9)

        def measure(route) -> float:
            return _route_stops(route)

    routes = {v: route_of(capped, plans[v]) for v in in_play}
    failed: set[int] = set()
    moved = False
    while time.perf_counter() < deadline:
        short = [v for v in in_play if measure(routes[v]) < floor and v not in failed]
        if not short:
            break
        receiver = min(short, key=lambda v: measure(routes[v]))
        move = _cheapest_lift(capped, plans, routes, receiver, in_play, measure, floor)
        if move is None:
            failed.add(receiver)
            continue
        for plan in move:
            plans[plan.vehicle] = plan
            routes[plan.vehicle] = route_of(capped, plan)
        moved = True
    if not moved:
        return solution
    return solution_of(problem, [p for p in plans.values() if p.steps], engine=solution.engine)


def _cheapest_lift(capped, plans, routes, receiver, in_play, measure, floor):
    """The donor's and the receiver's plans after moving one stop to `receiver`, or None
    when none can move without breaking a rule. Every stop of a route that can spare one
    is ranked by the driving it adds to the receiver (at its best place) less the driving
    it saves its route, from the matrix alone; the schedule then checks them in that
    order, at most `LIFT_CANDIDATES`, and the first that holds moves."""
    dur = capped.durations_s
    plan = plans[receiver]
    places = np.array(_places(capped, plan, receiver))
    prev, nxt = places[:-1], places[1:]
    ranked = []
    for v in in_play:
        if v == receiver or not plans[v].steps or measure(routes[v]) <= floor:
            continue
        jobs = [(k, s) for k, s in enumerate(plans[v].steps) if s.kind is StepKind.JOB]
        if not jobs:
            continue
        around = np.array(_places(capped, plans[v], v))
        at = np.array([k for k, _ in jobs])
        where = np.array([capped.jobs[s.index].location for _, s in jobs])
        saved = (
            dur[around[at], where] + dur[where, around[at + 2]] - dur[around[at], around[at + 2]]
        )
        added = (
            dur[prev[:, None], where[None, :]]
            + dur[where[None, :], nxt[:, None]]
            - dur[prev, nxt][:, None]
        )
        for j, (_, step) in enumerate(jobs):
            ranked.append((int(added[:, j].min() - saved[j]), v, step, added[:, j]))
    ranked.sort(key=lambda r: r[0])
    vehicle = capped.vehicles[receiver]
    breaks = [Step(StepKind.BREAK, b) for b in range(len(vehicle.breaks))]
    for _, v, step, added in ranked[:LIFT_CANDIDATES]:
        donor = RoutePlan(v, [s for s in plans[v].steps if s != step])
        donor_route = route_of(capped, donor)
        if donor_route.violations or measure(donor_route) < floor:
            continue
        if plan.steps:
            trials = [
                RoutePlan(receiver, [*plan.steps[:at], step, *plan.steps[at:]])
                for at in sorted(int(k) for k in np.argsort(added, kind="stable")[:2])
            ]
        else:
            trials = [RoutePlan(receiver, [step, *breaks]), RoutePlan(receiver, [*breaks, step])]
        for trial in trials:
            if not route_of(capped, trial).violations:
                return donor, trial
    return None


def _places(problem: Problem, plan: RoutePlan, v: int) -> list[int]:
    """The locations along `plan`: the start, one per step (a break where the van is),
    and the end (an open route: its last stop)."""
    vehicle = problem.vehicles[v]
    places = [vehicle.start]
    for step in plan.steps:
        if step.kind is StepKind.JOB:
            places.append(problem.jobs[step.index].location)
        elif step.kind is StepKind.BREAK:
            places.append(places[-1])
        else:
            shipment = problem.shipments[step.index]
            stop = shipment.pickup if step.kind is StepKind.PICKUP else shipment.delivery
            places.append(stop.location)
    places.append(vehicle.end if vehicle.end is not None else places[-1])
    return places


def _moved_note(moved: int) -> str:
    if not moved:
        return ""
    drivers = "driver was" if moved == 1 else "drivers were"
    return f"{moved} {drivers} idle in the best plan and took one stop to use every driver."


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
