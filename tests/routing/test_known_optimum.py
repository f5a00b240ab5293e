"""Tiny instances whose optimum the test finds by brute force: the race must hit it exactly.

Every vehicle costs 1 per km and nothing else, so the objective is the total distance
(cost = distance_m x cost_per_km / 1000) and `Solution.distance_m` is compared. The
brute force tries every order of every split of the jobs between the vehicles, timing
each route the plain way: leave at the shift start, wait for a window, serve, drive on.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pytest

from routing.optimiser.checker import check
from routing.optimiser.engines import pyvrp_engine
from routing.optimiser.problem import Job, Problem, TimeWindow, Vehicle
from routing.optimiser.schedule import solution_of
from routing.optimiser.solver import solve


def euclidean(points: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Distances in metres (a grid unit is 100 m) and durations at 10 m/s."""
    xy = np.array(points, dtype=float)
    metres = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 100
    return np.rint(metres / 10).astype(np.int64), np.rint(metres).astype(np.int64)


def route_distance(problem: Problem, vehicle: Vehicle, order: tuple[int, ...]) -> int | None:
    """The distance of `order` (job indexes), or None when it breaks a window or the shift."""
    dur, dist = problem.durations_s, problem.distances_m
    t, here, metres = vehicle.shift.start_s, vehicle.start, 0
    for j in order:
        job = problem.jobs[j]
        t += int(dur[here, job.location])
        metres += int(dist[here, job.location])
        if job.windows:
            open_ = [w for w in sorted(job.windows, key=lambda w: w.start_s) if t <= w.end_s]
            if not open_:
                return None
            t = max(t, open_[0].start_s)
        t += job.service_s
        here = job.location
    if vehicle.end is not None:
        t += int(dur[here, vehicle.end])
        metres += int(dist[here, vehicle.end])
    return metres if t <= vehicle.shift.end_s else None


def optimum(problem: Problem) -> int:
    """The least total distance serving every job, by trying every split and every order."""

    @cache
    def best(v: int, jobs: frozenset[int]) -> float:
        vehicle = problem.vehicles[v]
        if not jobs:
            return 0
        if any(not problem.jobs[j].skills <= vehicle.skills for j in jobs):
            return float("inf")
        if vehicle.capacity:
            load = sum(problem.jobs[j].delivery[0] for j in jobs)
            if load > vehicle.capacity[0]:
                return float("inf")
        if vehicle.max_stops is not None and len(jobs) > vehicle.max_stops:
            return float("inf")
        costs = [route_distance(problem, vehicle, order) for order in itertools.permutations(jobs)]
        return min((c for c in costs if c is not None), default=float("inf"))

    n, m = len(problem.jobs), len(problem.vehicles)
    total = min(
        sum(best(v, frozenset(j for j in range(n) if owner[j] == v)) for v in range(m))
        for owner in itertools.product(range(m), repeat=n)
    )
    assert total < float("inf"), "the instance has no solution serving every job"
    return int(total)


def points(seed: int, count: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    return [tuple(int(c) for c in rng.integers(0, 100, 2)) for _ in range(count)]


def windows_around(problem: Problem, vehicle: Vehicle, order: list[int], slack: int) -> list[Job]:
    """The jobs with a window of +- `slack` around when `order` reaches them (so it fits)."""
    dur = problem.durations_s
    jobs = list(problem.jobs)
    t, here = vehicle.shift.start_s, vehicle.start
    for j in order:
        t += int(dur[here, jobs[j].location])
        jobs[j] = Job(
            jobs[j].id,
            jobs[j].location,
            service_s=jobs[j].service_s,
            windows=(TimeWindow(max(0, t - slack), t + slack),),
            delivery=jobs[j].delivery,
        )
        t += jobs[j].service_s
        here = jobs[j].location
    return jobs


def instance(name: str) -> Problem:
    if name == "one van, seven stops":
        durations, distances = euclidean(points(1, 8))
        vehicles = [Vehicle("v0", 0, 0)]
        jobs = [Job(f"j{i}", i, service_s=120) for i in range(1, 8)]
        return Problem(durations, distances, vehicles, jobs)
    if name == "one van, seven stops, tight windows":
        durations, distances = euclidean(points(2, 8))
        vehicles = [Vehicle("v0", 0, 0)]
        base = Problem(durations, distances, vehicles, [Job(f"j{i}", i, 60) for i in range(1, 8)])
        # windows built around a deliberately poor order: geometry alone will not do
        jobs = windows_around(base, vehicles[0], [3, 0, 5, 1, 6, 2, 4], slack=200)
        return Problem(durations, distances, vehicles, jobs)
    if name == "one van, windows in two parts":
        durations, distances = euclidean(points(3, 7))
        vehicles = [Vehicle("v0", 0, 0)]
        odd = (TimeWindow(0, 600), TimeWindow(2_500, 3_400))
        even = (TimeWindow(600, 1_400), TimeWindow(3_400, 4_300))
        jobs = [Job(f"j{i}", i, 60, windows=odd if i % 2 else even) for i in range(1, 7)]
        return Problem(durations, distances, vehicles, jobs)
    if name == "one van, open end":
        durations, distances = euclidean(points(4, 8))
        vehicles = [Vehicle("v0", 0, None)]
        return Problem(durations, distances, vehicles, [Job(f"j{i}", i) for i in range(1, 8)])
    if name == "two vans, capacity forces a split":
        durations, distances = euclidean(points(5, 7))
        vehicles = [Vehicle(f"v{k}", 0, 0, capacity=(10,)) for k in range(2)]
        demands = [4, 3, 4, 2, 3, 3]
        jobs = [Job(f"j{i}", i, 60, delivery=(d,)) for i, d in enumerate(demands, start=1)]
        return Problem(durations, distances, vehicles, jobs)
    if name == "two vans, capacity and windows":
        durations, distances = euclidean(points(6, 7))
        vehicles = [Vehicle(f"v{k}", 0, 0, capacity=(8,)) for k in range(2)]
        demands = [3, 3, 2, 4, 2, 2]
        jobs = [Job(f"j{i}", i, 60, delivery=(d,)) for i, d in enumerate(demands, start=1)]
        base = Problem(durations, distances, vehicles, jobs)
        jobs = windows_around(base, vehicles[0], [4, 0, 2], slack=400)
        jobs = windows_around(
            Problem(durations, distances, vehicles, jobs), vehicles[1], [5, 1, 3], slack=400
        )
        return Problem(durations, distances, vehicles, jobs)
    if name == "two vans from two depots":
        durations, distances = euclidean(points(7, 8))
        vehicles = [Vehicle("v0", 0, 0, capacity=(3,)), Vehicle("v1", 1, 1, capacity=(4,))]
        jobs = [Job(f"j{i}", i, 30, delivery=(1,)) for i in range(2, 8)]
        return Problem(durations, distances, vehicles, jobs)
    if name == "two vans, at most three stops each":  # OR-Tools' problem (max_stops)
        durations, distances = euclidean(points(8, 7))
        vehicles = [Vehicle(f"v{k}", 0, 0, max_stops=3) for k in range(2)]
        return Problem(durations, distances, vehicles, [Job(f"j{i}", i) for i in range(1, 7)])
    if name == "two vans, only one with a fridge":
        durations, distances = euclidean(points(9, 7))
        vehicles = [
            Vehicle("v0", 0, 0, capacity=(4,)),
            Vehicle("v1", 0, 0, capacity=(4,), skills=frozenset({"fridge"})),
        ]
        jobs = [
            Job(
                f"j{i}",
                i,
                60,
                delivery=(1,),
                skills=frozenset({"fridge"}) if i <= 2 else frozenset(),
            )
            for i in range(1, 7)
        ]
        return Problem(durations, distances, vehicles, jobs)
    if name == "a fridge job at the depot":
        durations, distances = euclidean(points(10, 5))
        vehicles = [
            Vehicle("v0", 0, 0, capacity=(5,), skills=frozenset({"fridge"})),
            Vehicle("v1", 0, 0, capacity=(5,)),
        ]
        jobs = [Job("j0", 0, 60, delivery=(1,), skills=frozenset({"fridge"}))]
        jobs += [Job(f"j{i}", i, 60, delivery=(2,)) for i in range(1, 5)]
        return Problem(durations, distances, vehicles, jobs)
    raise ValueError(name)


NAMES = [
    "one van, seven stops",
    "one van, seven stops, tight windows",
    "one van, windows in two parts",
    "one van, open end",
    "two vans, capacity forces a split",
    "two vans, capacity and windows",
    "two vans from two depots",
    "two vans, at most three stops each",
    "two vans, only one with a fridge",
    "a fridge job at the depot",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_race_finds_the_optimum(name):
    problem = instance(name)
    best = optimum(problem)
    solution = solve(problem, seconds=0.5)
    assert check(problem, solution) == []
    assert solution.unassigned == []
    assert solution.distance_m == best


def test_the_windows_of_the_instances_bind():
    """The windowed instances are really constrained: their optimum is dearer than the tour's."""
    windowed = instance("one van, seven stops, tight windows")
    free = Problem(
        windowed.durations_s,
        windowed.distances_m,
        windowed.vehicles,
        [Job(j.id, j.location, j.service_s) for j in windowed.jobs],
    )
    assert optimum(windowed) > optimum(free)
    two_parts = instance("one van, windows in two parts")
    free = Problem(
        two_parts.durations_s,
        two_parts.distances_m,
        two_parts.vehicles,
        [Job(j.id, j.location, j.service_s) for j in two_parts.jobs],
    )
    assert optimum(two_parts) > optimum(free)


@pytest.mark.parametrize("name", ["two vans, only one with a fridge", "a fridge job at the depot"])
def test_pyvrp_finds_the_optimum_of_what_it_accepts(name):
    """Skills become PyVRP routing profiles that forbid the arcs into a job's location to
    vehicles without the skill; when the job shares the depot's location, that would also
    forbid the way home. Whatever `unsupported()` lets through must still be solved."""
    problem = instance(name)
    if pyvrp_engine.unsupported(problem) is not None:
        return  # left to OR-Tools, which the race test above covers
    plans = pyvrp_engine.solve(problem, seconds=0.3)
    assert plans is not None, "PyVRP found no feasible plan"
    solution = solution_of(problem, plans, engine="pyvrp")
    assert check(problem, solution) == []
    assert solution.unassigned == []
    assert solution.distance_m == optimum(problem)
