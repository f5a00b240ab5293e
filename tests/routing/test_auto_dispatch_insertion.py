"""The optimiser's cheapest insertion (no Django): the bound-pruned search finds what
timing every place would, and keeps every rule the routes keep."""

from __future__ import annotations

import random

import numpy as np
import pytest

from routing.optimiser.insertion import cheapest_insertion, why_not
from routing.optimiser.problem import (
    Break,
    Job,
    Problem,
    RoutePlan,
    Step,
    StepKind,
    TimeWindow,
    UnassignedReason,
    Vehicle,
)
from routing.optimiser.schedule import route_of


def random_day(seed: int, *, vehicles: int = 4, per_route: int = 6, rush: bool = False):
    """Routes of random jobs on a plane (speed 10 m/s), a new job last; some windows, a
    break on one van, capacities and a skill."""
    rng = random.Random(seed)
    jobs_n = vehicles * per_route + 1
    points = [(0.0, 0.0)] + [
        (rng.uniform(-5e3, 5e3), rng.uniform(-5e3, 5e3)) for _ in range(jobs_n)
    ]
    xy = np.array(points)
    dist = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(int)
    dur = dist // 10
    jobs = []
    for j in range(jobs_n):
        windows = ()
        if rng.random() < 0.3:
            start = rng.randint(8, 14) * 3600
            windows = (TimeWindow(start, start + 3 * 3600),)
        jobs.append(
            Job(
                id=str(j),
                location=j + 1,
                service_s=rng.randint(120, 420),
                windows=windows,
                delivery=(rng.randint(1, 4),),
                skills=frozenset({"fridge"})
                if j == jobs_n - 1 and rng.random() < 0.3
                else frozenset(),
            )
        )
    vans = [
        Vehicle(
            id=f"v{k}",
            start=0,
            end=0,
            shift=TimeWindow(9 * 3600, 19 * 3600),
            capacity=(rng.randint(per_route * 2, per_route * 4),),
            skills=frozenset({"fridge"}) if k % 2 else frozenset(),
            breaks=(Break(TimeWindow(12 * 3600, 14 * 3600), 1800),) if k == 0 else (),
            cost_per_km=0.5,
            cost_per_hour=20.0,
        )
        for k in range(vehicles)
    ]
    from routing.optimiser.problem import Rush

    problem = Problem(
        durations_s=dur,
        distances_m=dist,
        vehicles=vans,
        jobs=jobs,
        rush=(Rush(16 * 3600, 18 * 3600, 1.4),) if rush else (),
    )
    plans = []
    for k in range(vehicles):
        steps = [Step(StepKind.JOB, k * per_route + i) for i in range(per_route)]
        if vans[k].breaks:
            steps.insert(per_route // 2, Step(StepKind.BREAK, 0))
        plans.append(RoutePlan(k, steps))
    return problem, plans, jobs_n - 1


def brute_force(problem, plans, job, earliest):
    """Every place timed, the same rule: nothing newly broken; the cheapest by cost."""
    best = None
    for plan in plans:
        vehicle = problem.vehicles[plan.vehicle]
        base = route_of(problem, plan, depart_s=vehicle.shift.start_s)
        old = {(v.code, v.step and str(plan.steps[v.step - 1])) for v in base.violations}
        for at in range(earliest.get(plan.vehicle, 0), len(plan.steps) + 1):
            trial = RoutePlan(
                plan.vehicle, [*plan.steps[:at], Step(StepKind.JOB, job), *plan.steps[at:]]
            )
            route = route_of(problem, trial, depart_s=vehicle.shift.start_s)
            new = {(v.code, v.step and str(trial.steps[v.step - 1])) for v in route.violations}
            if new - old:
                continue
            cost = round(route.cost - base.cost, 6)
            if best is None or cost < best[0]:
                best = (cost, plan.vehicle, at)
    return best


@pytest.mark.parametrize("rush", [False, True])
def test_the_pruned_search_finds_the_cheapest_place_every_place_would(rush):
    checked = 0
    for seed in range(40):
        problem, plans, job = random_day(seed, rush=rush)
        earliest = {0: 2} if seed % 3 == 0 else {}
        found = cheapest_insertion(problem, plans, job, earliest=earliest)
        expected = brute_force(problem, plans, job, earliest)
        if expected is None:
            assert found is None, seed
            continue
        checked += 1
        assert found is not None, seed
        assert round(found.added_cost, 6) == pytest.approx(expected[0], abs=1e-6), seed
        assert found.position >= earliest.get(found.vehicle, 0)
        vehicle = problem.vehicles[found.vehicle]
        assert problem.jobs[job].skills <= vehicle.skills
    assert checked >= 30  # most days have room: the comparison is not empty


def test_a_job_no_van_can_take_says_why():
    problem, plans, job = random_day(1)
    heavy = Problem(
        durations_s=problem.durations_s,
        distances_m=problem.distances_m,
        vehicles=problem.vehicles,
        jobs=[*problem.jobs[:-1], Job(id="big", location=1, delivery=(10_000,))],
    )
    assert cheapest_insertion(heavy, plans, job) is None
    assert why_not(heavy, job) is UnassignedReason.CAPACITY
    late = Problem(
        durations_s=problem.durations_s,
        distances_m=problem.distances_m,
        vehicles=problem.vehicles,
        jobs=[*problem.jobs[:-1], Job(id="late", location=1, windows=(TimeWindow(0, 3600),))],
    )
    assert cheapest_insertion(late, plans, job) is None
    assert why_not(late, job) is UnassignedReason.TIME_WINDOW
