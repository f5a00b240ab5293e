"""Rush hours in the optimiser: each leg is timed with the factor in force when it sets off,
the engines search on the day's mean factor, and whatever comes back holds (checker)."""

from __future__ import annotations

import numpy as np
import pytest

from routing.optimiser import solver
from routing.optimiser.checker import check
from routing.optimiser.problem import (
    Job,
    Problem,
    RoutePlan,
    Rush,
    Step,
    StepKind,
    TimeWindow,
    Vehicle,
)
from routing.optimiser.schedule import UNREACHABLE_S, route_of


def line(*, rush=(), jobs: int = 3, windows=()) -> Problem:
    """Stops on a line 1,000 s apart; one van from 08:00 at location 0."""
    pos = np.arange(jobs + 1)
    matrix = np.abs(pos[:, None] - pos[None, :])
    return Problem(
        durations_s=matrix * 1000,
        distances_m=matrix * 1000,
        vehicles=[Vehicle("v", start=0, end=0, shift=TimeWindow(8 * 3600, 20 * 3600))],
        jobs=[Job(f"j{i}", location=i, windows=windows) for i in range(1, jobs + 1)],
        rush=rush,
    )


def test_a_leg_takes_the_factor_in_force_when_it_sets_off():
    # rush from 08:00 to 08:30 (x2): the first leg sets off in it, the next ones after it
    problem = line(rush=[Rush(8 * 3600, 8 * 3600 + 1800, 2.0)])
    steps = [Step(StepKind.JOB, i) for i in range(3)]
    route = route_of(problem, RoutePlan(0, steps), depart_s=8 * 3600)
    arrivals = [v.arrival_s - 8 * 3600 for v in route.visits[1:]]
    assert arrivals == [2000, 3000, 4000, 7000]  # 1000 x 2, then 1000, 1000, 3000 back
    calm = route_of(line(), RoutePlan(0, steps), depart_s=8 * 3600)
    assert [v.arrival_s - 8 * 3600 for v in calm.visits[1:]] == [1000, 2000, 3000, 6000]
    assert route.distance_m == calm.distance_m  # the same roads, slower


def test_no_road_stays_no_road_in_the_rush():
    problem = line(rush=[Rush(0, 86_400, 1.5)])
    problem.durations_s[0, 2] = UNREACHABLE_S
    assert problem.rush_factor(9 * 3600) == 1.5 and problem.rush_factor(86_400) == 1.0
    route = route_of(problem, RoutePlan(0, [Step(StepKind.JOB, 1)]), depart_s=8 * 3600)
    assert any(v.code == "unreachable" for v in route.violations)


def test_the_mean_factor_weighs_each_rush_by_its_time():
    problem = line(rush=[Rush(0, 3600, 2.0), Rush(3600, 7200, 1.5)])
    assert problem.mean_rush_factor(0, 4 * 3600) == pytest.approx(1 + (1.0 + 0.5) / 4)
    assert problem.mean_rush_factor(7200, 9000) == 1.0


def test_rush_periods_must_make_sense():
    with pytest.raises(ValueError, match="ends"):
        Rush(100, 100, 1.2)
    with pytest.raises(ValueError, match="positive"):
        Rush(0, 100, 0)
    with pytest.raises(ValueError, match="overlap"):
        line(rush=[Rush(0, 200, 1.2), Rush(100, 300, 1.3)])


@pytest.mark.parametrize("factor", [1.0, 1.6, 3.0])
def test_a_rushed_day_solves_to_a_plan_that_holds_under_its_real_times(factor):
    # windows an hour wide: in a heavy rush some must be left out, never served late
    windows = (TimeWindow(8 * 3600, 9 * 3600 + 1800),)
    problem = line(jobs=5, windows=windows, rush=[Rush(8 * 3600, 9 * 3600, factor)])
    solution = solver.solve(problem, seconds=1, workers=1)
    assert check(problem, solution) == []  # the independent checker times legs the same way
    assert solution.feasible
    served = {v.id for r in solution.routes for v in r.visits if v.kind == "job"}
    left = {u.id for u in solution.unassigned}
    assert served | left == {f"j{i}" for i in range(1, 6)}
    if factor == 1.0:
        assert not left
    if factor == 3.0:
        assert left  # 3,000 s a leg from 08:00 cannot reach them all by 09:30


def test_a_stop_mending_gave_up_goes_to_whichever_van_still_has_time():
    from routing.optimiser.mend import reinserted

    # two vans from 08:00, stops 600 s apart (900 s in the rush), 10 minutes at each door,
    # every window closing at 08:50
    windows = (TimeWindow(8 * 3600, 8 * 3600 + 3000),)
    pos = np.arange(5)
    matrix = np.abs(pos[:, None] - pos[None, :])
    problem = Problem(
        durations_s=matrix * 600,
        distances_m=matrix * 1000,
        vehicles=[
            Vehicle(f"v{k}", start=0, end=0, shift=TimeWindow(8 * 3600, 20 * 3600))
            for k in range(2)
        ],
        jobs=[Job(f"j{i}", location=i, service_s=600, windows=windows) for i in range(1, 5)],
        rush=[Rush(6 * 3600, 12 * 3600, 1.5)],
    )
    # van 0 serves j1 and j2 (at 08:15 and 08:40); mending gave up j3 and j4
    plans = [RoutePlan(0, [Step(StepKind.JOB, 0), Step(StepKind.JOB, 1)])]
    back = reinserted(problem, plans, [2, 3])
    served = {p.vehicle: [s.index for s in p.steps] for p in back}
    assert served[0] == [0, 1]  # j3 after j2 would be at 09:05
    assert served[1] == [2]  # the idle van reaches j3 at 08:45
    assert 3 not in served[0] + served[1]  # j4, an hour away in the rush, fits nowhere
    for plan in back:
        assert not route_of(problem, plan).violations
