"""The OR-Tools engine: each constraint of the model decides a tiny problem on its own.

Every answer is also timed by `schedule.route_of`, which must find nothing broken. Points
are on a plane in metres, driven at one metre per second, so a distance is its duration.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from routing.optimiser.engines.ortools_engine import solve
from routing.optimiser.problem import (
    Break,
    Job,
    Problem,
    RoutePlan,
    Shipment,
    ShipmentStop,
    Step,
    StepKind,
    TimeWindow,
    Vehicle,
)
from routing.optimiser.schedule import route_of, solution_of

SECONDS = 0.4


def plane(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    xy = np.array(points, dtype=float)
    metres = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    return metres.astype(np.int64), metres.astype(np.int64)


def problem_on(points, vehicles, jobs=(), shipments=()) -> Problem:
    durations, distances = plane(points)
    return Problem(durations, distances, vehicles, jobs, shipments)


def solved(problem: Problem, **kwargs) -> list[RoutePlan]:
    """The engine's plans, after checking that the schedule finds nothing broken."""
    plans = solve(problem, seconds=SECONDS, **kwargs)
    for plan in plans:
        assert route_of(problem, plan).violations == []
    return plans


def ids(problem: Problem, plan: RoutePlan) -> list[str]:
    """The route as ids: jobs by id, shipments as id+ / id-, breaks as 'break'."""
    out = []
    for step in plan.steps:
        if step.kind is StepKind.JOB:
            out.append(problem.jobs[step.index].id)
        elif step.kind is StepKind.BREAK:
            out.append("break")
        else:
            sign = "+" if step.kind is StepKind.PICKUP else "-"
            out.append(problem.shipments[step.index].id + sign)
    return out


def served(problem: Problem, plans: list[RoutePlan]) -> set[str]:
    return {i.rstrip("+-") for p in plans for i in ids(problem, p) if i != "break"}


def route_holding(problem: Problem, plans: list[RoutePlan], job_id: str) -> RoutePlan:
    return next(p for p in plans if job_id in ids(problem, p))


# --- capacity and loads


def test_capacity_in_two_dimensions_splits_the_load():
    # Five jobs side by side: one van would take them all, were it not for its capacity of
    # 5 kg (two 3 kg parcels) and 2 items (three 1-item parcels).
    points = [(0, 0), (1000, 0), (1000, 10), (1000, 20), (1000, 30), (1000, 40)]
    jobs = [
        Job("heavy-1", 1, delivery=(3, 0)),
        Job("heavy-2", 2, delivery=(3, 0)),
        Job("item-1", 3, delivery=(0, 1)),
        Job("item-2", 4, delivery=(0, 1)),
        Job("item-3", 5, delivery=(0, 1)),
    ]
    vans = [Vehicle(f"van-{k}", 0, 0, capacity=(5, 2)) for k in range(3)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    assert served(problem, plans) == {j.id for j in jobs}
    for plan in plans:
        route = ids(problem, plan)
        assert sum(i.startswith("heavy") for i in route) <= 1
        assert sum(i.startswith("item") for i in route) <= 2


def test_delivery_is_dropped_before_a_pickup_fills_the_van():
    # An open route along a line: picking up at 100 m first is shorter, but 8 + 8 on board
    # would exceed the capacity of 10, so the delivery at 200 m comes first.
    points = [(0, 0), (100, 0), (200, 0)]
    jobs = [Job("collect", 1, pickup=(8,)), Job("drop", 2, delivery=(8,))]
    problem = problem_on(points, [Vehicle("van", 0, None, capacity=(10,))], jobs)
    plans = solved(problem)

    assert [ids(problem, p) for p in plans] == [["drop", "collect"]]


# --- time


def test_tight_time_window_decides_the_order():
    points = [(0, 0), (10, 0), (20, 0)]
    jobs = [
        Job("a", 1, windows=(TimeWindow(25, 30),)),
        Job("b", 2, windows=(TimeWindow(0, 22),)),  # only in time when visited first
    ]
    problem = problem_on(points, [Vehicle("van", 0, 0)], jobs)
    plans = solved(problem)

    assert [ids(problem, p) for p in plans] == [["b", "a"]]


def test_afternoon_window_is_used_when_the_morning_one_cannot_be_reached():
    points = [(0, 0), (600, 0)]
    morning, afternoon = TimeWindow(0, 300), TimeWindow(3600, 7200)
    problem = problem_on(
        points, [Vehicle("van", 0, 0)], [Job("a", 1, service_s=60, windows=(morning, afternoon))]
    )
    plans = solved(problem)

    route = route_of(problem, plans[0])
    assert ids(problem, plans[0]) == ["a"]
    assert route.visits[1].start_s == 3600


def test_break_is_taken_inside_its_window_between_services():
    points = [(0, 0), (300, 0), (600, 0), (900, 0)]
    jobs = [Job(f"j{k}", k, service_s=600) for k in (1, 2, 3)]
    lunch = Break(TimeWindow(1200, 1800), duration_s=1800)
    problem = problem_on(points, [Vehicle("van", 0, 0, breaks=(lunch,))], jobs)
    plans = solved(problem)

    assert len(plans) == 1
    assert ids(problem, plans[0]).count("break") == 1
    route = route_of(problem, plans[0])
    pause = next(v for v in route.visits if v.kind == "break")
    assert 1200 <= pause.start_s <= 1800
    assert served(problem, plans) == {"j1", "j2", "j3"}


def test_break_that_fits_only_mid_drive_does_not_leave_a_broken_route():
    # OR-Tools may pause in the middle of the 40 s leg; the schedule pauses at a stop. The
    # engine must answer with a plan the schedule accepts (here: without b).
    points = [(0, 0), (40, 0), (80, 0)]
    jobs = [Job("a", 1), Job("b", 2, windows=(TimeWindow(0, 115),))]
    lunch = Break(TimeWindow(50, 55), duration_s=30)
    problem = problem_on(points, [Vehicle("van", 0, 0, breaks=(lunch,))], jobs)
    plans = solved(problem)

    assert served(problem, plans) <= {"a", "b"}
    for plan in plans:
        assert ids(problem, plan).count("break") == 1


def test_break_counts_in_the_route_duration():
    # Each job takes an hour: a 4 h route with its 30 min break fits three, not four.
    points = [(0, 0), *[(60 * k, 0) for k in range(1, 9)]]
    jobs = [Job(f"j{k}", k, service_s=3600) for k in range(1, 9)]
    lunch = Break(TimeWindow(0, 86_400), duration_s=1800)
    vans = [Vehicle(f"van-{k}", 0, 0, breaks=(lunch,), max_duration_s=4 * 3600) for k in range(3)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    assert served(problem, plans) == {j.id for j in jobs}
    for plan in plans:
        assert ids(problem, plan).count("break") == 1
        assert len(plan.steps) - 1 <= 3


def test_max_route_duration_splits_the_work():
    points = [(0, 0), (100, 0), (-100, 0)]
    jobs = [Job("east", 1), Job("west", 2)]
    vans = [Vehicle(f"van-{k}", 0, 0, max_duration_s=250) for k in range(2)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    assert sorted(ids(problem, p) for p in plans) == [["east"], ["west"]]


def test_shift_end_is_respected():
    points = [(0, 0), (100, 0), (-100, 0)]
    jobs = [Job("east", 1), Job("west", 2)]
    vans = [Vehicle(f"van-{k}", 0, 0, shift=TimeWindow(0, 250)) for k in range(2)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    assert sorted(ids(problem, p) for p in plans) == [["east"], ["west"]]


# --- vehicles


def test_skills_send_the_job_to_the_vehicle_that_has_them():
    points = [(0, 0), (5000, 0), (10, 0)]
    vans = [Vehicle("plain", 0, 0), Vehicle("fridge", 1, 1, skills=frozenset({"cold"}))]
    jobs = [Job("ice-cream", 2, skills=frozenset({"cold"}))]  # next to the plain van
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    assert [(p.vehicle, ids(problem, p)) for p in plans] == [(1, ["ice-cream"])]


def test_max_stops_limits_each_route():
    points = [(0, 0), *[(1000, 10 * k) for k in range(4)]]
    jobs = [Job(f"j{k}", k + 1) for k in range(4)]
    vans = [Vehicle(f"van-{k}", 0, 0, max_stops=2) for k in range(3)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    assert served(problem, plans) == {j.id for j in jobs}
    assert sorted(len(p.steps) for p in plans) == [2, 2]


def test_max_distance_splits_the_work():
    points = [(0, 0), (100, 0), (-100, 0)]
    jobs = [Job("east", 1), Job("west", 2)]
    vans = [Vehicle(f"van-{k}", 0, 0, max_distance_m=250) for k in range(2)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    assert sorted(ids(problem, p) for p in plans) == [["east"], ["west"]]


def test_each_depot_serves_its_own_neighbourhood():
    points = [(0, 0), (10_000, 0), (100, 0), (0, 100), (10_100, 0), (10_000, 100)]
    vans = [Vehicle("north", 0, 0), Vehicle("south", 1, 1)]
    jobs = [Job("n1", 2), Job("n2", 3), Job("s1", 4), Job("s2", 5)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    by_vehicle = {p.vehicle: set(ids(problem, p)) for p in plans}
    assert by_vehicle == {0: {"n1", "n2"}, 1: {"s1", "s2"}}


def test_open_route_ends_at_its_last_stop():
    points = [(0, 0), (10, 0), (20, 0)]
    problem = problem_on(points, [Vehicle("van", 0, None)], [Job("far", 2), Job("near", 1)])
    plans = solved(problem)

    assert [ids(problem, p) for p in plans] == [["near", "far"]]
    assert route_of(problem, plans[0]).distance_m == 20


def test_fixed_cost_keeps_the_fleet_small():
    points = [(0, 0), (100, 0), (-100, 0)]
    vans = [Vehicle(f"van-{k}", 0, 0, fixed_cost=1000.0) for k in range(2)]
    problem = problem_on(points, vans, [Job("east", 1), Job("west", 2)])
    plans = solved(problem)

    assert len(plans) == 1


def test_cost_per_km_picks_the_cheaper_vehicle():
    points = [(0, 0), (1000, 0)]
    vans = [Vehicle("dear", 0, 0, cost_per_km=5.0), Vehicle("cheap", 0, 0, cost_per_km=1.0)]
    problem = problem_on(points, vans, [Job("a", 1)])
    plans = solved(problem)

    assert [p.vehicle for p in plans] == [1]


# --- shipments


def test_shipment_is_picked_up_before_it_is_delivered_by_one_vehicle():
    # Open route: the delivery point is nearer, so only precedence puts the pickup first.
    points = [(0, 0), (500, 0), (100, 0)]
    shipment = Shipment("parcel", ShipmentStop(1), ShipmentStop(2), amount=(1,))
    vans = [Vehicle(f"van-{k}", 0, None, capacity=(1,)) for k in range(2)]
    problem = problem_on(points, vans, shipments=[shipment])
    plans = solved(problem)

    assert [ids(problem, p) for p in plans] == [["parcel+", "parcel-"]]


def test_shipments_share_a_van_without_overloading_it():
    points = [(0, 0), (100, 0), (200, 0), (110, 0), (210, 0)]
    shipments = [
        Shipment("s1", ShipmentStop(1), ShipmentStop(2), amount=(1,)),
        Shipment("s2", ShipmentStop(3), ShipmentStop(4), amount=(1,)),
    ]
    problem = problem_on(points, [Vehicle("van", 0, 0, capacity=(1,))], shipments=shipments)
    plans = solved(problem)

    assert served(problem, plans) == {"s1", "s2"}
    route = ids(problem, plans[0])
    assert route in (["s1+", "s1-", "s2+", "s2-"], ["s2+", "s2-", "s1+", "s1-"])


# --- what is left out


def test_optional_job_is_dropped_when_not_worth_its_penalty():
    points = [(0, 0), (5000, 0), (100, 0)]
    jobs = [Job("far", 1, penalty=1.0), Job("near", 2, penalty=100.0)]  # 10 km vs 0.2 km
    problem = problem_on(points, [Vehicle("van", 0, 0)], jobs)
    plans = solved(problem)

    assert served(problem, plans) == {"near"}


def test_required_job_is_kept_over_an_optional_one():
    points = [(0, 0), (5000, 0), (100, 0)]
    jobs = [Job("required", 1), Job("optional", 2, penalty=10_000.0)]
    problem = problem_on(points, [Vehicle("van", 0, 0, max_stops=1)], jobs)
    plans = solved(problem)

    assert served(problem, plans) == {"required"}


def test_higher_priority_is_kept_when_not_all_fit():
    points = [(0, 0), (5000, 0), (100, 0)]
    jobs = [Job("urgent", 1, priority=4), Job("normal", 2, priority=2)]  # urgent is farther
    problem = problem_on(points, [Vehicle("van", 0, 0, max_stops=1)], jobs)
    plans = solved(problem)

    assert served(problem, plans) == {"urgent"}


def test_over_constrained_problem_returns_a_partial_plan():
    points = [(0, 0), (100, 0), (200, 0), (300, 0), (400, 0)]
    jobs = [Job(f"j{k}", k, delivery=(4,)) for k in range(1, 5)]
    problem = problem_on(points, [Vehicle("van", 0, 0, capacity=(10,))], jobs)
    plans = solved(problem)

    solution = solution_of(problem, plans, engine="ortools")
    assert len(served(problem, plans)) == 2
    assert [u.reason for u in solution.unassigned] == ["no_room", "no_room"]


def test_job_no_vehicle_can_serve_is_left_out_and_the_rest_planned():
    points = [(0, 0), (100, 0), (200, 0)]
    jobs = [Job("ok", 1), Job("needs-crane", 2, skills=frozenset({"crane"}))]
    problem = problem_on(points, [Vehicle("van", 0, 0)], jobs)
    plans = solved(problem)

    assert served(problem, plans) == {"ok"}


def test_break_outside_the_shift_makes_the_vehicle_unusable_not_the_problem():
    points = [(0, 0), (100, 0)]
    night = Break(TimeWindow(90_000, 91_000), duration_s=600)
    vans = [
        Vehicle("day", 0, 0, shift=TimeWindow(0, 3600), breaks=(night,)),
        Vehicle("spare", 0, 0, shift=TimeWindow(0, 3600)),
    ]
    problem = problem_on(points, vans, [Job("a", 1)])
    plans = solved(problem)

    assert [(p.vehicle, ids(problem, p)) for p in plans] == [(1, ["a"])]


# --- quality, warm start, time


def test_known_optimum_of_a_small_capacitated_problem_is_found():
    rng = np.random.default_rng(7)
    points = [(0.0, 0.0), *[tuple(p) for p in rng.uniform(-1000, 1000, size=(6, 2))]]
    demand = [3, 4, 2, 5, 3, 4]
    jobs = [Job(f"c{k}", k + 1, delivery=(d,)) for k, d in enumerate(demand)]
    vans = [Vehicle(f"van-{k}", 0, 0, capacity=(11,)) for k in range(2)]
    problem = problem_on(points, vans, jobs)
    plans = solved(problem)

    best = _brute_force(problem.distances_m, demand, capacity=11, vehicles=2)
    assert served(problem, plans) == {j.id for j in jobs}
    assert sum(route_of(problem, p).distance_m for p in plans) == best


def _brute_force(distances: np.ndarray, demand: list[int], *, capacity: int, vehicles: int) -> int:
    """The shortest total distance: every split of customers over vehicles, every order."""

    def tour(customers: tuple[int, ...]) -> int:
        if not customers:
            return 0
        best = math.inf
        for order in itertools.permutations(customers):
            stops = (0, *order, 0)
            best = min(best, sum(int(distances[a, b]) for a, b in itertools.pairwise(stops)))
        return best

    n = len(demand)
    best = math.inf
    for owner in itertools.product(range(vehicles), repeat=n):
        groups = [tuple(c + 1 for c in range(n) if owner[c] == v) for v in range(vehicles)]
        if all(sum(demand[c - 1] for c in g) <= capacity for g in groups):
            best = min(best, sum(tour(g) for g in groups))
    return int(best)


def test_warm_start_is_never_made_worse():
    points = [(0, 0), (100, 0), (200, 0), (300, 0)]
    jobs = [Job(f"j{k}", k) for k in (1, 2, 3)]
    problem = problem_on(points, [Vehicle("van", 0, 0)], jobs)
    initial = [RoutePlan(0, [Step(StepKind.JOB, 0), Step(StepKind.JOB, 1), Step(StepKind.JOB, 2)])]
    plans = solved(problem, initial=initial)

    assert sum(route_of(problem, p).distance_m for p in plans) == 600


def test_warm_start_that_breaks_a_constraint_is_ignored():
    points = [(0, 0), (100, 0), (200, 0)]
    jobs = [Job("a", 1), Job("b", 2)]
    problem = problem_on(points, [Vehicle("van", 0, 0, max_stops=1), Vehicle("two", 0, 0)], jobs)
    initial = [RoutePlan(0, [Step(StepKind.JOB, 0), Step(StepKind.JOB, 1)])]  # 2 stops > 1
    plans = solved(problem, initial=initial)

    assert served(problem, plans) == {"a", "b"}


def test_both_variants_and_any_seed_answer():
    points = [(0, 0), (100, 0), (200, 0), (300, 0)]
    jobs = [Job(f"j{k}", k, windows=(TimeWindow(0, 1000),)) for k in (1, 2, 3)]
    problem = problem_on(points, [Vehicle("van", 0, 0)], jobs)
    for variant, seed in ((0, 1), (1, 2), (2, 99)):
        plans = solved(problem, variant=variant, seed=seed)
        assert served(problem, plans) == {"j1", "j2", "j3"}


def test_time_limit_includes_building_the_model():
    rng = np.random.default_rng(3)
    points = [(0.0, 0.0), *[tuple(p) for p in rng.uniform(-5000, 5000, size=(300, 2))]]
    jobs = [
        Job(f"c{k}", k, service_s=300, windows=(TimeWindow(0, 20_000),), delivery=(1,))
        for k in range(1, 301)
    ]
    vans = [Vehicle(f"van-{k}", 0, 0, capacity=(30,), breaks=()) for k in range(15)]
    problem = problem_on(points, vans, jobs)
    started = time.monotonic()
    plans = solve(problem, seconds=1.0)
    elapsed = time.monotonic() - started

    assert elapsed < 1.25
    assert plans
    assert all(not route_of(problem, p).violations for p in plans)


def test_without_a_first_solution_the_search_inserts_from_an_empty_plan(monkeypatch):
    from ortools.constraint_solver import pywrapcp

    monkeypatch.setattr(
        pywrapcp.RoutingModel, "SolveWithIteratedLocalSearch", lambda self, params: None
    )
    points = [(0, 0), (100, 0), (200, 0)]
    jobs = [Job("a", 1, windows=(TimeWindow(90, 110),)), Job("b", 2)]
    problem = problem_on(points, [Vehicle("van", 0, 0)], jobs)
    plans = solved(problem)

    assert served(problem, plans) == {"a", "b"}


def test_nothing_to_plan_gives_no_routes():
    problem = problem_on([(0, 0)], [Vehicle("van", 0, 0)])
    assert solve(problem, seconds=SECONDS) == []
