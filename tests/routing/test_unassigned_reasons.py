"""Every reason a job is left out, each produced by a small problem through `solve`.

Places on a line, 1 km and 100 s apart, the depot at 0. Each problem has one ordinary
job that must be served next to the one that cannot be, so a plan exists either way.
"""

from __future__ import annotations

import numpy as np
import pytest

from routing.optimiser import solver
from routing.optimiser.checker import check
from routing.optimiser.engines import pyvrp_engine
from routing.optimiser.problem import (
    Break,
    Job,
    Problem,
    Shipment,
    ShipmentStop,
    TimeWindow,
    UnassignedReason,
    Vehicle,
)
from routing.optimiser.schedule import UNREACHABLE_S
from routing.optimiser.solver import solve

SECONDS = 0.5


def line(vehicles: list[Vehicle], jobs: list[Job], shipments=(), places: int = 8) -> Problem:
    pos = np.arange(places)
    matrix = np.abs(pos[:, None] - pos[None, :])
    return Problem(matrix * 100, matrix * 1000, vehicles, jobs, shipments)


def van(**changes) -> Vehicle:
    return Vehicle("van", start=0, end=0, **{"capacity": (10,), **changes})


def reasons(problem: Problem, **options) -> dict[str, UnassignedReason]:
    solution = solve(problem, seconds=SECONDS, **options)
    assert check(problem, solution) == []
    return {u.id: u.reason for u in solution.unassigned}


def test_capacity():
    problem = line([van()], [Job("ok", 1, delivery=(3,)), Job("big", 2, delivery=(11,))])
    assert reasons(problem) == {"big": UnassignedReason.CAPACITY}


def test_capacity_of_a_shipment():
    shipment = Shipment("crate", ShipmentStop(2), ShipmentStop(3), amount=(12,))
    problem = line([van()], [Job("ok", 1, delivery=(3,))], [shipment])
    assert reasons(problem) == {"crate": UnassignedReason.CAPACITY}


def test_time_window_that_closes_before_anyone_can_arrive():
    late = Job("late", 5, windows=(TimeWindow(0, 300),))  # 500 s away
    problem = line([van()], [Job("ok", 1), late])
    assert reasons(problem) == {"late": UnassignedReason.TIME_WINDOW}


def test_time_window_of_a_shift_too_short_for_the_trip():
    problem = line([van(shift=TimeWindow(0, 900))], [Job("ok", 1), Job("far", 5)])
    assert reasons(problem) == {"far": UnassignedReason.TIME_WINDOW}


def test_skills():
    fridge = Job("frozen", 2, skills=frozenset({"fridge"}))
    lift = Vehicle("lift", 0, 0, skills=frozenset({"lift"}))
    problem = line([van(), lift], [Job("ok", 1), fridge])
    assert reasons(problem) == {"frozen": UnassignedReason.SKILLS}


def test_unreachable():
    problem = line([van()], [Job("ok", 1), Job("island", 7)])
    durations = problem.durations_s.copy()
    durations[7, :] = durations[:, 7] = UNREACHABLE_S
    durations[7, 7] = 0
    problem = Problem(durations, problem.distances_m, problem.vehicles, problem.jobs)
    assert reasons(problem) == {"island": UnassignedReason.UNREACHABLE}


def test_max_duration():
    problem = line([van(max_duration_s=900)], [Job("ok", 1), Job("far", 5)])
    assert reasons(problem) == {"far": UnassignedReason.MAX_DURATION}


def test_max_distance():
    problem = line([van(max_distance_m=9_000)], [Job("ok", 1), Job("far", 5)])
    assert reasons(problem) == {"far": UnassignedReason.MAX_DISTANCE}


def test_no_room_when_the_van_is_full():
    jobs = [Job(f"j{i}", i, delivery=(6,)) for i in (1, 2, 3)]  # one of three fits
    got = reasons(line([van()], jobs))
    assert len(got) == 2
    assert set(got.values()) == {UnassignedReason.NO_ROOM}


def test_no_room_when_every_stop_is_taken():
    jobs = [Job(f"j{i}", i) for i in (1, 2, 3)]
    got = reasons(line([van(max_stops=2)], jobs))  # OR-Tools' problem
    assert list(got.values()) == [UnassignedReason.NO_ROOM]


def test_no_room_for_valuable_optional_jobs():
    jobs = [Job(f"j{i}", i, delivery=(6,), penalty=5_000.0) for i in (1, 2, 3)]
    got = reasons(line([van()], jobs))
    assert sorted(got.values()) == [UnassignedReason.NO_ROOM] * 2


def test_not_worth_it_for_an_idle_van():
    problem = line([van()], [Job("far", 5, penalty=0.5)])  # 10 km to earn 0.5
    assert reasons(problem) == {"far": UnassignedReason.NOT_WORTH_IT}


def test_not_worth_it_on_a_route_with_room_to_spare():
    """The van goes out anyway and has room; only the detour's cost keeps the job out.
    "no_room" would tell the dispatcher the van is full, which it is not."""
    problem = line([van()], [Job("ok", 1), Job("far", 5, penalty=0.5)])
    assert reasons(problem) == {"far": UnassignedReason.NOT_WORTH_IT}


# --- jobs that must not be left out -------------------------------------------------------


def test_a_job_reachable_only_after_an_early_break_is_served():
    """Lunch must start by 300 s; the job is 500 s away. Lunch at the depot, then drive."""
    lunch = (Break(TimeWindow(0, 300), 600),)
    problem = line([van(breaks=lunch)], [Job("far", 5)])
    assert reasons(problem) == {}


def test_pyvrp_states_an_over_full_day_with_valuable_optional_jobs():
    """PyVRP caps its penalties for overloading (PenaltyParams.max_penalty, 1e5 per unit):
    a prize above the cap makes an overloaded plan look best, and its answer is None."""
    jobs = [Job(f"j{i}", i, delivery=(6,), penalty=5_000.0) for i in (1, 2, 3)]
    problem = line([van()], jobs)
    assert pyvrp_engine.unsupported(problem) is None
    plans = pyvrp_engine.solve(problem, seconds=0.3)
    assert plans is not None
    assert sum(len(p.steps) for p in plans) == 1


def test_one_core_still_falls_back_to_or_tools_when_pyvrp_fails(monkeypatch):
    """`solve` never raises for a hard problem, even with one worker."""
    race = solver._race

    def pyvrp_crashes(problem, runs, **options):
        results = race(problem, runs, **options)
        return [None if run.engine == "pyvrp" else r for run, r in zip(runs, results, strict=True)]

    monkeypatch.setattr(solver, "_race", pyvrp_crashes)
    problem = line([van()], [Job(f"j{i}", i, delivery=(6,)) for i in (1, 2, 3)])
    solution = solve(problem, seconds=SECONDS, workers=1)
    assert check(problem, solution) == []
    assert len(solution.unassigned) == 2


@pytest.mark.parametrize("reason", list(UnassignedReason))
def test_every_reason_is_covered_here(reason):
    names = {name for name in globals() if name.startswith("test_")}
    assert any(reason.value in name for name in names), f"no test produces {reason.value}"
