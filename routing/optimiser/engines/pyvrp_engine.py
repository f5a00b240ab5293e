"""PyVRP (MIT, iterated local search in C++) as an engine for the problems it can express.

It expresses capacities in several dimensions, deliveries and pickups, one time window
per stop (several through a required group of mutually exclusive copies), service
times, shifts, route duration and distance limits, costs per km and per hour, fixed
costs, several depots, open routes (through a free dummy end), optional jobs (prizes)
and pickup-and-delivery pairs with one window per end. Skills become routing profiles:
a vehicle's profile makes every job it may not serve unreachable.

It cannot express breaks or a maximum number of stops; `unsupported()` says so and the
race leaves those problems to OR-Tools.
"""

from __future__ import annotations

import math
import time
from dataclasses import astuple
from functools import reduce

import numpy as np

from ..problem import (
    HORIZON_S,
    Job,
    Problem,
    RoutePlan,
    Shipment,
    Step,
    StepKind,
    Vehicle,
    capacity_of,
    padded,
    penalty_of,
)

#: Costs are made integers at this scale (cost units per metre x 3.6e5 = per km x 360).
_COST_SCALE = 360_000
_FORBIDDEN = 10**9  # an arc a vehicle's profile may not use (PyVRP penalises, never refuses)


def unsupported(problem: Problem) -> str | None:
    """Why PyVRP cannot solve `problem` exactly as stated, or None when it can."""
    if any(v.breaks for v in problem.vehicles):
        return "breaks"
    if any(v.max_stops is not None for v in problem.vehicles):
        return "max_stops"
    if any(len(s.pickup.windows) > 1 or len(s.delivery.windows) > 1 for s in problem.shipments):
        return "shipment with several time windows"
    skills_at: dict[int, set[frozenset[str]]] = {}
    for j in problem.jobs:
        skills_at.setdefault(j.location, set()).add(j.skills)
    depots = {v.start for v in problem.vehicles} | {v.end for v in problem.vehicles}
    if (
        any(len(sets) > 1 for sets in skills_at.values())
        or any(s.skills for s in problem.shipments)
        or any(j.skills and j.location in depots for j in problem.jobs)
    ):
        return "skills that the locations alone cannot tell apart"
    return None


def _type_key(v: Vehicle) -> tuple:
    """Vehicles equal in everything but their id share one PyVRP vehicle type."""
    return astuple(v)[1:]


def build(problem: Problem, *, relaxed: bool = False):
    """ProblemData for `problem` and the maps needed to read its answer back.

    `relaxed` turns required jobs into optional ones with a prohibitive prize, so an
    over-constrained problem still yields a plan that serves what can be served.
    """
    import pyvrp

    n = problem.durations_s.shape[0]
    dims = problem.dimensions
    open_end = any(v.end is None for v in problem.vehicles)
    size = n + 1 if open_end else n  # the dummy end: free to reach from anywhere
    base_dur = np.zeros((size, size), dtype=np.int64)
    base_dist = np.zeros((size, size), dtype=np.int64)
    base_dur[:n, :n] = problem.durations_s
    base_dist[:n, :n] = problem.distances_m
    if open_end:
        base_dur[n, :n] = _FORBIDDEN
        base_dist[n, :n] = _FORBIDDEN
    locations = [pyvrp.Location(0, 0) for _ in range(size)]

    depots: list = []
    depot_index: dict[int, int] = {}  # location -> depot (shifts belong to vehicle types)

    def depot_of(location: int) -> int:
        if location not in depot_index:
            depot_index[location] = len(depots)
            depots.append(pyvrp.Depot(location=location))
        return depot_index[location]

    # --- vehicle types, one per group of identical vehicles, one profile per skill set
    groups: dict[tuple, list[int]] = {}
    for i, v in enumerate(problem.vehicles):
        groups.setdefault(_type_key(v), []).append(i)
    coefficients = [round(v.cost_per_km * _COST_SCALE / 1000) for v in problem.vehicles]
    coefficients += [round(v.cost_per_hour * _COST_SCALE / 3600) for v in problem.vehicles]
    coefficients += [round(v.fixed_cost * _COST_SCALE) for v in problem.vehicles]
    divisor = reduce(math.gcd, [c for c in coefficients if c] or [1])

    skill_sets = sorted({v.skills for v in problem.vehicles}, key=sorted)
    needs = [j.skills for j in problem.jobs]
    profiles = {s: k for k, s in enumerate(skill_sets)} if any(needs) else {}
    vehicle_types, members = [], []
    for indexes in groups.values():
        v = problem.vehicles[indexes[0]]
        start = depot_of(v.start)
        end = depot_of(v.end if v.end is not None else n)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(indexes),
                capacity=list(capacity_of(v, dims)),
                start_depot=start,
                end_depot=end,
                fixed_cost=round(v.fixed_cost * _COST_SCALE) // divisor,
                tw_early=v.shift.start_s,
                tw_late=v.shift.end_s,
                shift_duration=v.max_duration_s if v.max_duration_s is not None else HORIZON_S,
                max_distance=v.max_distance_m if v.max_distance_m is not None else 2**62,
                unit_distance_cost=round(v.cost_per_km * _COST_SCALE / 1000) // divisor,
                unit_duration_cost=round(v.cost_per_hour * _COST_SCALE / 3600) // divisor,
                profile=profiles.get(v.skills, 0),
                name=v.id,
            )
        )
        members.append(indexes)

    # A relaxed required job's prize: ten times the dearest round trip any vehicle could
    # make to it. Never worth dropping for cost, yet not so large that PyVRP's penalties
    # for overloading or lateness look cheap next to it (its best would be infeasible).
    longest = int(base_dist[base_dist < _FORBIDDEN].max(initial=0))
    slowest = int(base_dur[base_dur < _FORBIDDEN].max(initial=0))
    dearest = 10 * (
        2 * longest * max(v.unit_distance_cost for v in vehicle_types)
        + 2 * slowest * max(v.unit_duration_cost for v in vehicle_types)
        + max(v.fixed_cost for v in vehicle_types)
    )

    def prize_of(item: Job | Shipment) -> int:
        # An optional job worth more than any detour is served whenever it fits, so its
        # prize is capped there; a relaxed required job is worth twice that, so it stays
        # in before any optional one.
        scale = 1 + max(item.priority, 0) / 10
        if item.penalty is None:
            return round(2 * dearest * scale)
        return min(round(penalty_of(item) * _COST_SCALE) // divisor, round(dearest * scale))

    # --- clients: a job with several windows is a required group of exclusive copies
    clients, client_job, client_groups = [], [], []
    for j_index, job in enumerate(problem.jobs):
        prize = prize_of(job)
        required = job.penalty is None and not relaxed
        windows = job.windows or ()
        delivery, pickup = list(padded(job.delivery, dims)), list(padded(job.pickup, dims))
        if len(windows) <= 1:
            w = windows[0] if windows else None
            clients.append(
                pyvrp.Client(
                    location=job.location,
                    delivery=delivery,
                    pickup=pickup,
                    service_duration=job.service_s,
                    tw_early=w.start_s if w else 0,
                    tw_late=w.end_s if w else HORIZON_S,
                    prize=0 if required else prize,
                    required=required,
                    name=job.id,
                )
            )
            client_job.append(j_index)
            continue
        group = len(client_groups)
        members_of_group = []
        for w in windows:
            members_of_group.append(len(clients))
            clients.append(
                pyvrp.Client(
                    location=job.location,
                    delivery=delivery,
                    pickup=pickup,
                    service_duration=job.service_s,
                    tw_early=w.start_s,
                    tw_late=w.end_s,
                    prize=0 if required else prize,
                    required=False,
                    group=group,
                    name=job.id,
                )
            )
            client_job.append(j_index)
        client_groups.append(pyvrp.ClientGroup(members_of_group, required=required))

    shipments = []
    for s in problem.shipments:
        pw = s.pickup.windows[0] if s.pickup.windows else None
        dw = s.delivery.windows[0] if s.delivery.windows else None
        shipments.append(
            pyvrp.Shipment(
                pickup_location=s.pickup.location,
                delivery_location=s.delivery.location,
                pickup_tw_early=pw.start_s if pw else 0,
                pickup_tw_late=pw.end_s if pw else HORIZON_S,
                pickup_service_duration=s.pickup.service_s,
                delivery_tw_early=dw.start_s if dw else 0,
                delivery_tw_late=dw.end_s if dw else HORIZON_S,
                delivery_service_duration=s.delivery.service_s,
                amount=list(padded(s.amount, dims)),
                prize=prize_of(s),
                required=s.penalty is None and not relaxed,
                name=s.id,
            )
        )

    distance_matrices, duration_matrices = [base_dist], [base_dur]
    if profiles:
        distance_matrices, duration_matrices = [], []
        for skills in skill_sets:
            cols = sorted({job.location for job in problem.jobs if not job.skills <= skills})
            dist, dur = base_dist.copy(), base_dur.copy()
            dist[:, cols] = _FORBIDDEN
            dur[:, cols] = _FORBIDDEN
            np.fill_diagonal(dist, 0)
            np.fill_diagonal(dur, 0)
            distance_matrices.append(dist)
            duration_matrices.append(dur)

    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        distance_matrices,
        duration_matrices,
        groups=client_groups,
        shipments=shipments,
    )
    return data, client_job, members


def solve(
    problem: Problem,
    *,
    seconds: float,
    seed: int = 1,
    relaxed: bool = False,
    initial: list[RoutePlan] | None = None,
    cache: dict | None = None,
) -> list[RoutePlan] | None:
    """PyVRP's best sequences within `seconds`, or None when its best is infeasible (in the
    strict form, when some required job could not be served).

    `initial` warm-starts the search from another run's plans; `cache` (a dict the caller
    keeps between calls on the same problem) saves building the model again.
    """
    import pyvrp
    from pyvrp.stop import MaxRuntime

    started = time.perf_counter()
    cache = {} if cache is None else cache
    if relaxed not in cache:
        cache[relaxed] = build(problem, relaxed=relaxed)
    data, client_job, members = cache[relaxed]
    warm = _solution_of(pyvrp, data, client_job, members, initial) if initial else None
    remaining = seconds - (time.perf_counter() - started)
    stop = MaxRuntime(max(remaining, 0.05))
    best = pyvrp.solve(
        data,
        stop=stop,
        seed=seed,
        collect_stats=False,
        initial_solution=warm,
        params=_params_for(data),
    ).best
    if not best.is_feasible():
        return None
    used = [0] * len(members)
    plans = []
    for route in best.routes():
        t = route.vehicle_type()
        vehicle = members[t][used[t]]
        used[t] += 1
        steps = []
        for activity in route:
            if activity.is_client():
                steps.append(Step(StepKind.JOB, client_job[activity.idx]))
            elif activity.is_pickup():
                steps.append(Step(StepKind.PICKUP, activity.idx))
            elif activity.is_delivery():
                steps.append(Step(StepKind.DELIVERY, activity.idx))
        plans.append(RoutePlan(vehicle, steps))
    return plans


def _params_for(data):
    """PyVRP's defaults, but with room for penalties above the largest prize: PyVRP caps
    its penalty per unit of overload or lateness (1e5 by default), and below a prize that
    cap makes an overloaded plan look better than leaving a job out."""
    from pyvrp import SolveParams
    from pyvrp.PenaltyManager import PenaltyParams

    prizes = [c.prize for c in data.clients()] + [s.prize for s in data.shipments()]
    default = PenaltyParams()
    if max(prizes, default=0) <= default.max_penalty:
        return SolveParams()
    # ... but not so much that a penalty times a forbidden arc's 1e9 overflows 64 bits
    # (PyVRP's local search then never returns); above that, the race falls back.
    ceiling = 2**62 // (4 * _FORBIDDEN)
    return SolveParams(penalty=PenaltyParams(max_penalty=min(10.0 * max(prizes), ceiling)))


def _solution_of(pyvrp, data, client_job, members, plans: list[RoutePlan]):
    """Our plans as a PyVRP solution of `data` (a job with several windows takes the copy
    whose window opens first; PyVRP moves it if another suits better)."""
    first_client: dict[int, int] = {}
    for client, job in enumerate(client_job):
        first_client.setdefault(job, client)
    type_of = {vehicle: t for t, vehicles in enumerate(members) for vehicle in vehicles}
    kinds = {
        StepKind.JOB: pyvrp.ActivityType.CLIENT,
        StepKind.PICKUP: pyvrp.ActivityType.PICKUP,
        StepKind.DELIVERY: pyvrp.ActivityType.DELIVERY,
    }
    routes = []
    for plan in plans:
        activities = [
            pyvrp.Activity(
                kinds[s.kind], first_client[s.index] if s.kind is StepKind.JOB else s.index
            )
            for s in plan.steps
            if s.kind in kinds
        ]
        if activities:
            routes.append(pyvrp.Route(data, activities, type_of[plan.vehicle]))
    return pyvrp.Solution(data, routes)
