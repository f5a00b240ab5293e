"""Balanced plans in the optimiser: routes within the tolerance, every driver used, the
shortest plan found alongside for the comparison, and every answer feasible."""

from __future__ import annotations

import numpy as np
import pytest

from routing.optimiser import balance, checker
from routing.optimiser.balance import Balance, Objective
from routing.optimiser.problem import Break, Job, Problem, TimeWindow, Vehicle

HOUR = 3600


def crowded_day(
    *, stops: int = 27, vans: int = 2, seed: int = 7, breaks: tuple[Break, ...] = ()
) -> Problem:
    """The issue's day: `stops` orders in one neighbourhood 4 km from the depot, that one
    van can serve in its shift (09:00-17:00), so the shortest plan leaves the others idle."""
    rng = np.random.default_rng(seed)
    xy = np.vstack([[[0.0, 0.0]], rng.uniform(3_000, 5_000, size=(stops, 2))])
    straight = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    distances = np.rint(straight * 1.3).astype(np.int64)
    durations = np.ceil(distances / (30 / 3.6)).astype(np.int64)
    return Problem(
        durations_s=durations,
        distances_m=distances,
        vehicles=[
            Vehicle(f"van{k}", start=0, end=0, shift=TimeWindow(9 * HOUR, 17 * HOUR), breaks=breaks)
            for k in range(vans)
        ],
        jobs=[
            Job(f"o{i}", location=i, service_s=int(rng.integers(4, 8)) * 60)
            for i in range(1, stops + 1)
        ],
    )


def solved(problem: Problem, objective: Objective, *, tolerance: int = 15, use_all=False):
    wanted = Balance(objective, tolerance, use_all)
    return balance.solve(problem, balance=wanted, seconds=3, workers=1)


def assert_feasible(problem, solution) -> None:
    assert checker.check(problem, solution) == []
    assert solution.feasible and not solution.unassigned


def test_the_shortest_plan_of_the_crowded_day_leaves_a_driver_idle():
    """The premise of every test below: without balance, one van takes all 27 stops."""
    problem = crowded_day()
    answer = solved(problem, Objective.SHORTEST)
    assert answer.solution is answer.shortest
    assert balance.spread(problem, answer.solution).stops_range == (0, 27)


def test_balanced_by_stops_keeps_every_route_within_the_tolerance():
    problem = crowded_day()
    answer = solved(problem, Objective.STOPS, tolerance=15)
    assert_feasible(problem, answer.solution)
    cap = balance.stop_cap(27, 2, 15)
    assert cap == 16
    low, high = balance.spread(problem, answer.solution).stops_range
    assert high <= cap and low >= 27 - cap  # 11-16 stops each
    assert answer.note == "" and answer.tolerance_pct == 15
    # the comparison: the shortest plan, found in the same solve, is one route and shorter
    assert balance.spread(problem, answer.shortest).stops_range == (0, 27)
    assert answer.shortest.distance_m < answer.solution.distance_m
    assert_feasible(problem, answer.shortest)


def test_a_zero_tolerance_splits_the_stops_evenly():
    problem = crowded_day(stops=28)
    answer = solved(problem, Objective.STOPS, tolerance=0)
    assert_feasible(problem, answer.solution)
    assert balance.spread(problem, answer.solution).stops_range == (14, 14)


def test_stop_balance_with_breaks_goes_to_or_tools_and_holds():
    lunch = (Break(TimeWindow(12 * HOUR, 13 * HOUR), 1800),)
    problem = crowded_day(stops=30, vans=3, breaks=lunch)
    answer = solved(problem, Objective.STOPS, tolerance=10)
    assert answer.solution.engine == "ortools"
    assert_feasible(problem, answer.solution)
    assert balance.spread(problem, answer.solution).stops_range[1] <= 11


def test_on_a_day_of_many_vans_no_route_falls_below_the_tolerance_either():
    """Six vans, 60 stops one van could do: the caps alone (12 each) would let the search
    leave a van idle; the short routes are lifted to the mean less the tolerance (8)."""
    problem = crowded_day(stops=60, vans=6, seed=11)
    problem.vehicles = tuple(
        Vehicle(v.id, v.start, v.end, TimeWindow(7 * HOUR, 19 * HOUR)) for v in problem.vehicles
    )
    answer = solved(problem, Objective.STOPS, tolerance=15)
    assert_feasible(problem, answer.solution)
    low, high = balance.spread(problem, answer.solution).stops_range
    assert low >= 8 and high <= 12


def test_a_shortest_plan_already_within_the_tolerance_is_the_answer():
    """Ten stops east of the depot and ten west, ten a van: the shortest plan is 10 and 10,
    so the balanced search cannot beat it, and the plan shows no extra cost."""
    xs = np.array(
        [0] + [3_000 + 200 * i for i in range(10)] + [-3_000 - 200 * i for i in range(10)]
    )
    distances = np.abs(xs[:, None] - xs[None, :])
    problem = Problem(
        durations_s=distances // 8,
        distances_m=distances,
        vehicles=[Vehicle(f"van{k}", start=0, end=0, capacity=(10,)) for k in range(2)],
        jobs=[Job(f"o{i}", location=i, service_s=300, delivery=(1,)) for i in range(1, 21)],
    )
    answer = solved(problem, Objective.STOPS, tolerance=10)
    assert_feasible(problem, answer.solution)
    assert answer.solution is answer.shortest
    assert balance.spread(problem, answer.solution).stops == [10, 10]


def test_balanced_by_working_time_keeps_every_route_within_the_tolerance():
    problem = crowded_day()
    answer = solved(problem, Objective.TIME, tolerance=15)
    assert_feasible(problem, answer.solution)
    durations = balance.spread(problem, answer.solution).durations_s
    needed = balance.working_time_s(problem, answer.shortest, 2)
    assert needed > answer.shortest.duration_s  # the second route's drive out and back
    cap = balance.duration_cap_s(needed, 2, answer.tolerance_pct)
    assert max(durations) <= cap
    # within the tolerance of its own mean, too, and both drivers work
    assert max(durations) <= np.mean(durations) * 1.15 and min(durations) > 0


def test_time_balance_widens_a_tolerance_that_would_leave_orders_out_and_says_so():
    """At 0% every route must be at most the shortest plan's mean, which two routes from
    the depot cannot both keep: the tolerance is widened rather than an order dropped."""
    problem = crowded_day()
    answer = solved(problem, Objective.TIME, tolerance=0)
    assert_feasible(problem, answer.solution)
    assert answer.tolerance_pct == 10
    assert "balanced within ±10% instead" in answer.note


def test_use_every_driver_gives_the_idle_van_work_on_the_shortest_objective():
    problem = crowded_day(vans=3)
    answer = solved(problem, Objective.SHORTEST, use_all=True)
    assert_feasible(problem, answer.solution)
    assert min(balance.spread(problem, answer.solution).stops) >= 1
    assert "idle in the best plan" in answer.note


def test_use_every_driver_with_stop_balance():
    problem = crowded_day(stops=12, vans=4)
    answer = solved(problem, Objective.STOPS, tolerance=50, use_all=True)
    assert_feasible(problem, answer.solution)
    low, high = balance.spread(problem, answer.solution).stops_range
    assert low >= 1 and high <= 5


def test_a_van_that_cannot_serve_anything_is_not_counted_in_the_mean():
    problem = crowded_day(stops=20, vans=3)
    gone = Vehicle("late", start=0, end=0, shift=TimeWindow(17 * HOUR, 17 * HOUR + 60))
    problem.vehicles = (*problem.vehicles[:2], gone)
    assert balance.vehicles_in_play(problem) == [0, 1]
    answer = solved(problem, Objective.STOPS, tolerance=0, use_all=True)
    assert_feasible(problem, answer.solution)
    assert balance.spread(problem, answer.solution, [0, 1]).stops_range == (10, 10)


def test_a_stricter_limit_of_a_van_stays():
    """Van 0 takes at most 4 stops of its own accord: the cap of 14 (20 stops, ±40%) does
    not lift that, so van 1 needs 16 or more and the tolerance is widened to ±80% (18)."""
    problem = crowded_day(stops=20, vans=2)
    first = problem.vehicles[0]
    problem.vehicles = (
        Vehicle(first.id, first.start, first.end, first.shift, max_stops=4),
        problem.vehicles[1],
    )
    answer = solved(problem, Objective.STOPS, tolerance=40)
    assert_feasible(problem, answer.solution)
    first_van, second_van = balance.spread(problem, answer.solution).stops
    assert first_van <= 4 and 16 <= second_van <= 18
    assert answer.tolerance_pct == 80 and "±80% instead" in answer.note


@pytest.mark.parametrize("objective", [Objective.STOPS, Objective.TIME])
def test_one_driver_has_nothing_to_balance(objective):
    problem = crowded_day(stops=10, vans=1)
    answer = solved(problem, objective)
    assert_feasible(problem, answer.solution)
    assert "nothing to balance" in answer.note


def test_the_capped_search_starts_from_the_shortest_plan_with_relaxed_runs(monkeypatch):
    from routing.optimiser import solver

    calls = []
    real = solver.solve

    def recorded(problem, **kwargs):
        calls.append(kwargs)
        return real(problem, **kwargs)

    monkeypatch.setattr(solver, "solve", recorded)
    problem = crowded_day(stops=12)
    report = solver.RaceReport()
    real(problem, seconds=1, workers=2, tight=True, report=report)
    assert [r.relaxed for r in report.runs] == [False, True]  # tight: a relaxed run too
    solved(problem, Objective.STOPS)
    shortest_call, capped_call = calls
    assert "initial" not in shortest_call
    assert capped_call["tight"] is True
    started = sorted(s.index for plan in capped_call["initial"] for s in plan.steps)
    assert started == list(range(12))  # every stop of the shortest plan
