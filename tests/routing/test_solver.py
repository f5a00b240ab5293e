"""The race: which engines run, what happens when one fails, over-constrained days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from routing.optimiser import solver
from routing.optimiser.problem import Break, Job, Problem, TimeWindow, UnassignedReason, Vehicle
from routing.optimiser.solver import EngineRun, RaceReport


def line_problem(*, jobs: int = 6, capacity: int = 10, breaks=()) -> Problem:
    """Stops on a line, 1 km (and 100 s) apart; the depot at 0."""
    pos = np.arange(jobs + 1)
    matrix = np.abs(pos[:, None] - pos[None, :])
    return Problem(
        durations_s=matrix * 100,
        distances_m=matrix * 1000,
        vehicles=[
            Vehicle(f"v{k}", start=0, end=0, capacity=(capacity,), breaks=breaks) for k in range(2)
        ],
        jobs=[Job(f"j{i}", location=i, delivery=(3,)) for i in range(1, jobs + 1)],
    )


def test_pyvrp_races_itself_when_it_can_state_the_problem():
    report = RaceReport()
    solution = solver.solve(line_problem(), seconds=1, workers=2, report=report)
    assert [(r.engine, r.seed, r.relaxed) for r in report.runs] == [
        ("pyvrp", 1, False),
        ("pyvrp", 2, False),
    ]
    assert all(r.error is None and r.objective is not None for r in report.runs)
    assert report.winner in report.runs
    assert solution.feasible and not solution.unassigned
    # 6 stops of 3 units, 10 per van: two vans, out to stop 6 and to stop 3 (or 2 and 4 ...)
    assert len(solution.routes) == 2 and solution.distance_m == 18_000


def test_breaks_send_the_problem_to_or_tools():
    lunch = (Break(TimeWindow(200, 400), 300),)
    runs = solver.entries_for(line_problem(breaks=lunch), seed=1, workers=2)
    assert {r.engine for r in runs} == {"ortools"}
    assert {r.variant for r in runs} == {0, 1}


def test_an_over_constrained_day_still_gets_the_best_partial_plan():
    problem = line_problem(jobs=8, capacity=9)  # room for 6 of the 8 stops
    assert solver.is_tight(problem)
    report = RaceReport()
    solution = solver.solve(problem, seconds=1, workers=2, report=report)
    assert [r.relaxed for r in report.runs] == [False, True]
    assert report.winner.relaxed
    assert solution.feasible
    assert len(solution.unassigned) == 2
    assert {u.reason for u in solution.unassigned} == {UnassignedReason.NO_ROOM}


def test_a_crashing_engine_does_not_lose_the_others_answer(monkeypatch):
    monkeypatch.setattr(
        solver,
        "entries_for",
        lambda problem, seed, workers, tight: [
            EngineRun("nonsense", seed),
            EngineRun("pyvrp", seed),
        ],
    )
    report = RaceReport()
    solution = solver.solve(line_problem(), seconds=1, report=report)
    assert "unknown engine" in report.runs[0].error
    assert report.winner is report.runs[1]
    assert not solution.unassigned


def test_jobs_no_vehicle_can_serve_alone_are_left_out_before_the_search():
    problem = line_problem(jobs=4)
    problem.jobs = (*problem.jobs, Job("huge", location=2, delivery=(50,)))
    report = RaceReport()
    solution = solver.solve(problem, seconds=1, workers=1, report=report)
    assert [(u.id, u.reason) for u in solution.unassigned] == [("huge", UnassignedReason.CAPACITY)]
    assert not report.runs[0].relaxed  # the rest fits: a strict search, not a fallback
    assert report.winner is report.runs[0]


def test_nothing_to_do_is_an_empty_plan():
    problem = line_problem()
    problem.jobs = ()
    assert solver.solve(problem, seconds=1).routes == []


def test_phases_restart_every_search_from_the_best_plan_so_far():
    report = RaceReport()
    solution = solver.solve(line_problem(), seconds=1.5, workers=2, phases=3, report=report)
    assert solution.feasible and solution.distance_m == 18_000
    assert all(r.error is None for r in report.runs)


@pytest.mark.parametrize("days", [365, -365])
def test_the_search_keeps_its_budget_when_this_process_s_wall_clock_is_moved(days):
    """The race hands its workers a deadline on the monotonic clock, which every process on
    the machine shares: the wall clock of this process moved a year (a step of NTP, a test
    clock the worker processes do not follow) neither hangs the search nor cuts it short."""
    import time

    import time_machine

    report = RaceReport()
    started = time.monotonic()
    with time_machine.travel(dt.timedelta(days=days), tick=True):  # this process only
        solution = solver.solve(line_problem(), seconds=1, workers=2, report=report)
    assert time.monotonic() - started < 1 + solver._GRACE_S
    assert all(r.error is None and r.objective is not None for r in report.runs)
    assert solution.feasible and solution.distance_m == 18_000


def test_pyvrp_warm_start_keeps_a_good_initial_plan():
    from routing.optimiser.engines import pyvrp_engine
    from routing.optimiser.problem import RoutePlan, Step, StepKind

    problem = line_problem()
    initial = [
        RoutePlan(0, [Step(StepKind.JOB, i) for i in (0, 1, 2)]),
        RoutePlan(1, [Step(StepKind.JOB, i) for i in (3, 4, 5)]),
    ]
    cache: dict = {}
    plans = pyvrp_engine.solve(problem, seconds=0.2, initial=initial, cache=cache)
    again = pyvrp_engine.solve(problem, seconds=0.2, initial=plans, cache=cache, seed=7)
    assert list(cache) == [False]  # the model was built once
    for answer in (plans, again):
        assert sum(len(p.steps) for p in answer) == 6
