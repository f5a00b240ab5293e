"""The independent checker catches every kind of broken rule.

A valid two-route solution is built from hand-written sequences; each test then breaks
one thing, either by editing the solution or by checking it against a stricter problem
(the same solution, timed for the original problem, so only the rule at stake breaks).
A checker that accepts everything fails every test here but the first.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest

from routing.optimiser.checker import check
from routing.optimiser.problem import (
    Break,
    Job,
    Problem,
    Route,
    RoutePlan,
    Shipment,
    ShipmentStop,
    Solution,
    Step,
    StepKind,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    Vehicle,
    Visit,
)
from routing.optimiser.schedule import UNREACHABLE_S, solution_of

J, P, D, B = StepKind.JOB, StepKind.PICKUP, StepKind.DELIVERY, StepKind.BREAK


def base_problem() -> Problem:
    """Five places on a line, 1 km apart, driven at 10 m/s; two vans, one with a lunch break."""
    x = np.arange(5) * 1000
    distances = np.abs(x[:, None] - x[None, :])
    return Problem(
        durations_s=distances // 10,
        distances_m=distances,
        vehicles=[
            Vehicle(
                "v1",
                start=0,
                end=0,
                shift=TimeWindow(0, 10_000),
                capacity=(10, 5),
                skills=frozenset({"fridge"}),
                breaks=(Break(TimeWindow(200, 2_000), 300),),
                max_stops=10,
                max_duration_s=10_000,
                max_distance_m=100_000,
                cost_per_km=2.0,
                cost_per_hour=30.0,
                fixed_cost=5.0,
            ),
            Vehicle("v2", start=4, end=None, capacity=(10,)),
        ],
        jobs=[
            Job(
                "j1",
                1,
                service_s=60,
                windows=(TimeWindow(0, 1_000),),
                delivery=(4, 1),
                skills=frozenset({"fridge"}),
            ),
            Job("j2", 2, service_s=60, delivery=(3,)),
            Job("j3", 3, service_s=30, pickup=(2, 2)),
            Job("j4", 3, penalty=5.0),
            Job("j5", 3, service_s=10, delivery=(1,)),
        ],
        shipments=[
            Shipment(
                "s1", ShipmentStop(2, 20), ShipmentStop(4, 20, (TimeWindow(0, 9_000),)), (3, 1)
            )
        ],
    )


V1_STEPS = [Step(J, 0), Step(P, 0), Step(B, 0), Step(J, 1), Step(J, 2), Step(D, 0)]
V2_STEPS = [Step(J, 4)]


def solved(problem: Problem | None = None, v1=V1_STEPS, v2=V2_STEPS) -> Solution:
    """The timed solution of the hand-written sequences (j4 left out)."""
    plans = [RoutePlan(0, list(v1)), RoutePlan(1, list(v2))]
    return solution_of(problem or base_problem(), plans, engine="hand")


def with_vehicle(problem: Problem, vehicle_id: str, **changes) -> Problem:
    vehicles = [replace(v, **changes) if v.id == vehicle_id else v for v in problem.vehicles]
    return Problem(
        problem.durations_s, problem.distances_m, vehicles, problem.jobs, problem.shipments
    )


def with_job(problem: Problem, job_id: str, **changes) -> Problem:
    jobs = [replace(j, **changes) if j.id == job_id else j for j in problem.jobs]
    return Problem(
        problem.durations_s, problem.distances_m, problem.vehicles, jobs, problem.shipments
    )


def visit(solution: Solution, kind: str, visit_id: str):
    return next(v for r in solution.routes for v in r.visits if (v.kind, v.id) == (kind, visit_id))


def assert_only(errors: list[str], *phrases: str) -> None:
    """Something is reported, and every message is about one of `phrases`."""
    assert errors, "the checker found nothing wrong"
    for error in errors:
        assert any(p in error for p in phrases), error


# --- the baseline -------------------------------------------------------------------------


def test_the_hand_written_solution_is_feasible():
    problem = base_problem()
    solution = solved(problem)
    assert solution.feasible, [r.violations for r in solution.routes]
    assert [u.id for u in solution.unassigned] == ["j4"]
    assert check(problem, solution) == []


def test_messages_name_the_route_and_the_visit():
    problem = with_job(base_problem(), "j1", windows=(TimeWindow(0, 50),))
    errors = check(problem, solved())
    assert errors == [
        "route 0 (vehicle v1), visit 1 (job j1): served at 100, outside its time windows [(0, 50)]"
    ]


# --- times ------------------------------------------------------------------------------


def test_service_after_the_window_closes():
    problem = with_job(base_problem(), "j1", windows=(TimeWindow(0, 50),))
    assert_only(check(problem, solved()), "visit 1 (job j1): served at 100, outside")


def test_service_before_the_window_opens():
    problem = with_job(base_problem(), "j2", windows=(TimeWindow(5_000, 6_000),))
    assert_only(check(problem, solved()), "(job j2): served at", "outside its time windows")


def test_service_inside_the_second_of_two_windows_is_fine():
    windows = (TimeWindow(0, 10), TimeWindow(90, 1_000))
    assert check(with_job(base_problem(), "j1", windows=windows), solved()) == []


def test_arriving_sooner_than_the_drive_allows():
    solution = solved()
    j2 = visit(solution, "job", "j2")
    j2.arrival_s -= 1
    j2.waiting_s += 1
    assert_only(check(base_problem(), solution), "(job j2): arrives at")


def test_service_starting_before_arrival():
    solution = solved()
    j3 = visit(solution, "job", "j3")
    j3.start_s -= 5
    j3.departure_s -= 5
    j3.waiting_s = -5
    assert_only(check(base_problem(), solution), "(job j3): starts at")


def test_departure_that_skips_part_of_the_service():
    solution = solved()
    visit(solution, "job", "j2").departure_s -= 1
    assert_only(check(base_problem(), solution), "(job j2): departs at")


def test_misreported_waiting():
    solution = solved()
    visit(solution, "job", "j1").waiting_s += 7
    assert_only(check(base_problem(), solution), "(job j1): waiting_s")


def test_leaving_before_the_shift_starts():
    problem = with_vehicle(base_problem(), "v2", shift=TimeWindow(5_000, 20_000))
    assert_only(check(problem, solved()), "before the shift starts")


def test_coming_back_after_the_shift_ends():
    problem = with_vehicle(base_problem(), "v1", shift=TimeWindow(0, 1_200))
    assert_only(check(problem, solved()), "(end v1): finishes at", "after the shift ends")


def test_open_route_finishing_after_the_shift():
    problem = with_vehicle(base_problem(), "v2", shift=TimeWindow(0, 50))
    assert_only(check(problem, solved()), "(job j5): finishes at")


def test_a_leg_with_no_road():
    problem = base_problem()
    durations = problem.durations_s.copy()
    durations[1, 2] = UNREACHABLE_S
    broken = Problem(
        durations, problem.distances_m, problem.vehicles, problem.jobs, problem.shipments
    )
    assert_only(check(broken, solved()), "no road from location 1 to 2")


# --- breaks -----------------------------------------------------------------------------


def test_break_not_taken():
    steps = [s for s in V1_STEPS if s.kind is not B]
    assert_only(check(base_problem(), solved(v1=steps)), "break 0 of vehicle v1 taken 0 times")


def test_break_taken_twice():
    steps = [*V1_STEPS, Step(B, 0)]
    assert_only(check(base_problem(), solved(v1=steps)), "break 0 of vehicle v1 taken 2 times")


def test_break_of_a_vehicle_that_has_none():
    solution = solved()
    visits = solution.routes[1].visits
    here = visits[-1]
    moment = here.departure_s
    visits.append(replace(here, kind="break", id="break-0", arrival_s=moment, start_s=moment))
    assert_only(check(base_problem(), solution), "(break break-0): vehicle v2 has no such break")


def test_break_outside_its_window():
    lunch = (Break(TimeWindow(5_000, 6_000), 300),)
    problem = with_vehicle(base_problem(), "v1", breaks=lunch)
    assert_only(check(problem, solved()), "break starts at")


def test_break_shorter_than_its_duration():
    lunch = (Break(TimeWindow(200, 2_000), 400),)
    problem = with_vehicle(base_problem(), "v1", breaks=lunch)
    assert_only(check(problem, solved()), "(break break-0): departs at")


def test_break_overlapping_a_service():
    solution = solved()
    visits = solution.routes[0].visits
    k = next(i for i, v in enumerate(visits) if v.kind == "break")
    pause, after = visits[k], visits[k + 1]
    # the pause is moved into the middle of the next service, at the same place
    pause.location = after.location
    pause.arrival_s = pause.start_s = after.start_s + 10
    pause.waiting_s = 0
    pause.departure_s = pause.start_s + 300
    errors = check(base_problem(), solution)
    assert any("break overlaps the service of visit" in e for e in errors), errors


def test_distance_follows_the_break_where_it_is_taken():
    """A break taken off the way is a detour: its legs are driven and must be counted."""
    solution = solved()
    route = solution.routes[0]
    k = next(i for i, v in enumerate(route.visits) if v.kind == "break")
    previous, pause = route.visits[k - 1], route.visits[k]
    assert pause.location == 2 and previous.location == 2  # taken at the pickup's place
    pause.location = 4  # now 2 km away and back
    shift = 2 * 200  # the two extra legs, 200 s each
    pause.arrival_s = previous.departure_s + 200
    pause.start_s = max(pause.start_s, pause.arrival_s)
    pause.waiting_s = pause.start_s - pause.arrival_s
    pause.departure_s = pause.start_s + 300
    for v in route.visits[k + 1 :]:
        v.arrival_s += shift
        v.start_s += shift
        v.departure_s += shift
    errors = check(base_problem(), solution)
    assert any("reports distance_m" in e and str(route.distance_m + 4_000) in e for e in errors)


# --- load -------------------------------------------------------------------------------


def test_overloaded_at_the_start():
    problem = with_vehicle(base_problem(), "v1", capacity=(6, 5))
    assert_only(check(problem, solved()), "(start v1): load (7, 1) exceeds capacity")


def test_overloaded_in_the_second_dimension():
    problem = with_vehicle(base_problem(), "v1", capacity=(10, 2))
    assert_only(check(problem, solved()), "exceeds capacity")


def test_a_dimension_the_vehicle_does_not_state_is_unlimited():
    problem = with_job(base_problem(), "j5", delivery=(1, 1_000))
    solution = solved(problem)
    assert check(problem, solution) == []
    assert solution.routes[1].visits[0].load == (1, 1_000)


def test_misreported_load():
    solution = solved()
    visit(solution, "job", "j3").load = (0, 0)
    assert_only(check(base_problem(), solution), "(job j3): reports load (0, 0), on board is")


def test_load_of_the_wrong_length():
    solution = solved()
    visit(solution, "job", "j5").load = (0,)
    assert_only(check(base_problem(), solution), "(job j5): reports load (0,)")


# --- sequence ---------------------------------------------------------------------------


def test_delivery_before_pickup():
    steps = [Step(J, 0), Step(D, 0), Step(B, 0), Step(J, 1), Step(J, 2), Step(P, 0)]
    errors = check(base_problem(), solved(v1=steps))
    assert any("(delivery s1): shipment s1 delivered before its pickup" in e for e in errors)


def test_pickup_never_delivered():
    steps = [s for s in V1_STEPS if s.kind is not D]
    errors = check(base_problem(), solved(v1=steps))
    assert any("shipment s1 picked up, never delivered" in e for e in errors), errors


def test_shipment_split_across_two_vans():
    v1 = [s for s in V1_STEPS if s.kind is not D]
    errors = check(base_problem(), solved(v1=v1, v2=[*V2_STEPS, Step(D, 0)]))
    assert any("route 0" in e and "picked up, never delivered" in e for e in errors), errors
    assert any("route 1" in e and "delivered, never picked up" in e for e in errors), errors


def test_skill_missing():
    problem = with_job(base_problem(), "j1", skills=frozenset({"fridge", "lift"}))
    assert_only(check(problem, solved()), "(job j1): vehicle v1 lacks the skills ['lift']")


def test_too_many_stops():
    problem = with_vehicle(base_problem(), "v1", max_stops=4)
    assert_only(check(problem, solved()), "route 0 (vehicle v1): 5 stops, more than max_stops 4")


def test_route_longer_than_its_maximum_duration():
    problem = with_vehicle(base_problem(), "v1", max_duration_s=1_000)
    assert_only(check(problem, solved()), "more than max_duration_s 1000")


def test_route_further_than_its_maximum_distance():
    problem = with_vehicle(base_problem(), "v1", max_distance_m=7_999)
    assert_only(check(problem, solved()), "drives 8000 m, more than max_distance_m 7999")


def test_route_starting_elsewhere():
    problem = with_vehicle(base_problem(), "v1", start=1)
    assert_only(check(problem, solved()), "starts at location 0, not at the vehicle's start 1")


def test_route_ending_elsewhere():
    problem = with_vehicle(base_problem(), "v1", end=3)
    assert_only(check(problem, solved()), "ends at location 0, not at the vehicle's end 3")


def test_route_without_its_end_visit():
    solution = solved()
    solution.routes[0].visits.pop()
    errors = check(base_problem(), solution)
    assert any("must finish with its end visit" in e for e in errors), errors


def test_a_start_visit_in_the_middle_of_a_route():
    solution = solved()
    visits = solution.routes[0].visits
    visits.insert(3, replace(visits[2], kind="start", id="v1"))
    errors = check(base_problem(), solution)
    assert any("visit 3 (start v1): a 'start' visit in the middle" in e for e in errors), errors


def test_an_idle_vehicle_drives_nothing():
    problem = base_problem()
    solution = solved(problem, v2=[])  # j5 left out, v2 has no route
    assert [r.vehicle_id for r in solution.routes] == ["v1"]
    idle = Route("v2", [Visit("start", "v2", 4, 0, 0, 0, 0, (0, 0))], 0, 0, 0, 0.0)
    solution.routes.append(idle)
    assert check(problem, solution) == []
    idle.distance_m = 1
    assert check(problem, solution) == [
        "route 1 (vehicle v2): reports distance_m 1, the legs make 0"
    ]


def test_visit_at_the_wrong_place():
    solution = solved()
    visit(solution, "job", "j2").location = 3
    errors = check(base_problem(), solution)
    assert any("(job j2): visited at location 3, but it is at 2" in e for e in errors), errors


def test_visit_of_a_job_not_in_the_problem():
    solution = solved()
    visit(solution, "job", "j5").id = "j9"
    errors = check(base_problem(), solution)
    assert any("no job with id j9" in e for e in errors), errors


# --- assignment -------------------------------------------------------------------------


def test_job_served_twice():
    solution = solved(v2=[Step(J, 4), Step(J, 1)])
    assert_only(check(base_problem(), solution), "job j2: served 2 times")


def test_job_missing_from_unassigned():
    solution = solved()
    solution.unassigned.clear()
    assert_only(check(base_problem(), solution), "job j4: neither served nor listed")


def test_shipment_missing_from_unassigned():
    v1 = [s for s in V1_STEPS if s.kind not in (P, D)]
    solution = solved(v1=v1)
    solution.unassigned = [u for u in solution.unassigned if u.id != "s1"]
    assert_only(check(base_problem(), solution), "shipment s1: neither served nor listed")


def test_job_both_served_and_unassigned():
    solution = solved()
    solution.unassigned.append(Unassigned("j2", UnassignedReason.NO_ROOM))
    assert_only(check(base_problem(), solution), "job j2: both served and listed")


def test_job_unassigned_twice():
    solution = solved()
    solution.unassigned.append(Unassigned("j4", UnassignedReason.NO_ROOM))
    assert_only(check(base_problem(), solution), "unassigned j4: listed 2 times")


def test_unassigned_item_not_in_the_problem():
    solution = solved()
    solution.unassigned.append(Unassigned("j9", UnassignedReason.NO_ROOM))
    assert_only(check(base_problem(), solution), "unassigned j9: no such job")


def test_unassigned_without_a_known_reason():
    solution = solved()
    solution.unassigned[0].reason = "bad luck"
    assert_only(check(base_problem(), solution), "unassigned j4: 'bad luck' is not")


def test_vehicle_driving_two_routes():
    solution = solved()
    solution.routes.append(copy.deepcopy(solution.routes[1]))
    errors = check(base_problem(), solution)
    assert "route 2 (vehicle v2): vehicle v2 drives more than one route" in errors
    assert "job j5: served 2 times, more than once" in errors


def test_route_of_a_vehicle_not_in_the_problem():
    solution = solved()
    solution.routes[1].vehicle_id = "v9"
    errors = check(base_problem(), solution)
    assert "route 1 (vehicle v9): no such vehicle in the problem" in errors


# --- reported totals --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "phrase"),
    [
        ("distance_m", "reports distance_m"),
        ("duration_s", "reports duration_s"),
        ("cost", "reports cost"),
    ],
)
def test_misreported_route_totals(field, phrase):
    solution = solved()
    route = solution.routes[0]
    setattr(route, field, getattr(route, field) + 1)
    assert_only(check(base_problem(), solution), f"route 0 (vehicle v1): {phrase}")


def test_totals_are_recomputed_from_the_matrix():
    solution = solved()
    route = solution.routes[0]
    # 0 -> 1 -> 2 (pickup, break) -> 2 -> 3 -> 4 -> 0: 1 + 1 + 0 + 1 + 1 + 4 km
    assert route.distance_m == 8_000
    assert route.duration_s == route.visits[-1].departure_s - route.visits[0].departure_s
