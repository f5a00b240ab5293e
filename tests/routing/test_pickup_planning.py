"""Pickup-and-delivery pairs planned: one shipment each, never split or reversed by either
engine (the independent checker agrees), in stored plans and after a re-solve."""

from __future__ import annotations

import random

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Driver, Order, OrderStatus, PickupDelivery, Vehicle
from dispatch.services.orders import order_create, order_transition
from routing.models import Plan, PlanStop, PlanUnassigned
from routing.optimiser import checker, solver
from routing.optimiser.matrix import StraightLineProvider
from routing.optimiser.problem import StepKind, TimeWindow
from routing.services import plans
from routing.services.conversion import crews_for
from routing.services.conversion import problem_for_day as _problem_for_day
from tests.routing.factories import DAY, make_fleet_day


def make_pairs(prefix: str, count: int, *, seed: int = 7, skills=()) -> list[Order]:
    """`count` deliveries around central London, each collected first somewhere else."""
    rng = random.Random(seed)
    made = []
    for i in range(1, count + 1):
        made.append(
            order_create(
                {
                    "customer_name": f"{prefix} receiver {i}",
                    "lat": 51.5 + rng.uniform(-0.04, 0.04),
                    "lng": -0.12 + rng.uniform(-0.06, 0.06),
                    "delivery_date": DAY,
                    "time_windows": [{"start": "10:00", "end": "17:00"}],
                    "items": 2,
                    "weight_kg": 5,
                    "required_skills": list(skills),
                    "pickup": {
                        "name": f"{prefix} shop {i}",
                        "lat": 51.5 + rng.uniform(-0.04, 0.04),
                        "lng": -0.12 + rng.uniform(-0.06, 0.06),
                        "time_windows": [{"start": "08:00", "end": "13:00"}],
                        "service_s": 120,
                    },
                },
                source="api",
            )
        )
    return made


def problem_for_day(orders, crews):
    return _problem_for_day(orders=orders, crews=crews, matrix_of=StraightLineProvider().matrix)


def day_problem(fleet):
    orders = list(
        Order.objects.filter(delivery_date=DAY, status=OrderStatus.UNASSIGNED).order_by("pk")
    )
    crews = crews_for(Driver.objects.order_by("pk"), Vehicle.objects.all())
    return problem_for_day(orders, crews)


def assert_pairs_together(solution, problem) -> None:
    """Each shipment: both ends on one route, the pickup first (checked here on its own,
    and by the independent checker)."""
    assert checker.check(problem, solution) == []
    for shipment in problem.shipments:
        where = [
            (r, k, v.kind)
            for r, route in enumerate(solution.routes)
            for k, v in enumerate(route.visits)
            if v.id == shipment.id and v.kind in ("pickup", "delivery")
        ]
        assert [kind for _, _, kind in where] == ["pickup", "delivery"], where
        assert where[0][0] == where[1][0] and where[0][1] < where[1][1]


def test_a_pair_becomes_one_shipment_with_each_ends_place_and_windows(alpha):
    with schema_context("alpha"):
        fleet = make_fleet_day("conv", vans=1, orders=2)
        (delivery,) = make_pairs("conv", 1, skills=["fridge"])
        pickup = delivery.pair_as_delivery.pickup
        day = day_problem(fleet)

        (shipment,) = day.problem.shipments
        assert shipment.id == str(delivery.pk) and day.pickups == {str(delivery.pk): pickup}
        assert shipment.pickup.windows == (TimeWindow(8 * 3600, 13 * 3600),)
        assert shipment.delivery.windows == (TimeWindow(10 * 3600, 17 * 3600),)
        assert (shipment.pickup.service_s, shipment.delivery.service_s) == (120, 300)
        assert shipment.amount == (500, 0, 2) and shipment.skills == {"fridge"}
        points = day.problem.durations_s.shape[0]
        assert shipment.pickup.location != shipment.delivery.location < points
        assert [j.id for j in day.problem.jobs] == [str(o.pk) for o in fleet.orders]
        assert {o.pk for o in day.orders} == {o.pk for o in fleet.orders} | {
            delivery.pk,
            pickup.pk,
        }


def test_a_pair_with_an_end_not_found_is_left_out_whole(alpha):
    with schema_context("alpha"):
        fleet = make_fleet_day("nogeo", vans=1, orders=1)
        (delivery,) = make_pairs("nogeo", 1)
        Order.objects.filter(pk=delivery.pair_as_delivery.pickup_id).update(lat=None, lng=None)
        day = day_problem(fleet)
        assert not day.problem.shipments and len(day.problem.jobs) == 1
        assert {o.pk for o in day.not_geocoded} == {
            delivery.pk,
            delivery.pair_as_delivery.pickup_id,
        }


def test_a_delivery_whose_parcel_is_collected_is_a_plain_job(alpha):
    with schema_context("alpha"):
        fleet = make_fleet_day("coll", vans=1, orders=1)
        (delivery,) = make_pairs("coll", 1)
        Order.objects.filter(pk=delivery.pair_as_delivery.pickup_id).update(
            status=OrderStatus.DELIVERED
        )
        day = day_problem(fleet)
        assert not day.problem.shipments and not day.waiting
        assert str(delivery.pk) in {j.id for j in day.problem.jobs}


def test_a_delivery_whose_pickup_is_open_elsewhere_or_failed_waits(alpha):
    with schema_context("alpha"):
        fleet = make_fleet_day("wait", vans=1, orders=1)
        (delivery,) = make_pairs("wait", 1)
        Order.objects.filter(pk=delivery.pair_as_delivery.pickup_id).update(
            status=OrderStatus.FAILED
        )
        day = day_problem(fleet)
        assert [o.pk for o in day.waiting] == [delivery.pk]
        assert str(delivery.pk) not in {j.id for j in day.problem.jobs}
        assert not day.problem.shipments


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_neither_engine_splits_or_reverses_a_pair(alpha, engine):
    with schema_context("alpha"):
        fleet = make_fleet_day("eng", vans=3, orders=10, windows=True)
        make_pairs("eng", 6)
        if engine == "ortools":  # a stop limit is what PyVRP cannot state: OR-Tools alone
            Vehicle.objects.update(max_stops=20)
        day = day_problem(fleet)
        assert len(day.problem.shipments) == 6

        solution = solver.solve(day.problem, seconds=2, workers=1)

        assert solution.engine.startswith(engine)
        assert not solution.unassigned
        assert_pairs_together(solution, day.problem)


def test_the_checker_catches_a_reversed_pair(alpha):
    """The check above can fail: a solution with a pair swapped is refused."""
    with schema_context("alpha"):
        fleet = make_fleet_day("rev", vans=1, orders=2)
        make_pairs("rev", 1)
        day = day_problem(fleet)
        solution = solver.solve(day.problem, seconds=1, workers=1)
        visits = solution.routes[0].visits
        p = next(k for k, v in enumerate(visits) if v.kind == StepKind.PICKUP)
        d = next(k for k, v in enumerate(visits) if v.kind == StepKind.DELIVERY)
        visits[p], visits[d] = visits[d], visits[p]
        assert any("before its pickup" in e for e in checker.check(day.problem, solution))


def stored_pairs_are_together(plan: Plan) -> int:
    """How many pairs the plan has on its routes; fails if one is split or reversed."""
    stops = {s.order_id: s for s in PlanStop.objects.filter(route__plan=plan, order__isnull=False)}
    placed = 0
    for pair in PickupDelivery.objects.all():
        pickup, delivery = stops.get(pair.pickup_id), stops.get(pair.delivery_id)
        assert (pickup is None) == (delivery is None), "a pair split between route and pool"
        if pickup is not None:
            assert pickup.route_id == delivery.route_id
            assert pickup.sequence < delivery.sequence
            placed += 1
    return placed


def test_a_stored_plan_and_its_re_solve_keep_each_pair_on_one_route_pickup_first(alpha):
    with schema_context("alpha"):
        fleet = make_fleet_day("store", vans=2, orders=8)
        deliveries = make_pairs("store", 4)
        plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE

        assert stored_pairs_are_together(plan) == 4
        assert not PlanUnassigned.objects.filter(plan=plan).exists()
        pickup_ids = [d.pair_as_delivery.pickup_id for d in deliveries]

        order_transition(order=deliveries[0], to=OrderStatus.CANCELLED)  # both ends go
        plans.plan_resolve(plan=plan)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        assert stored_pairs_are_together(plan) == 3
        placed = set(PlanStop.objects.filter(route__plan=plan).values_list("order_id", flat=True))
        assert not {deliveries[0].pk, pickup_ids[0]} & placed


def test_a_published_re_solve_keeps_a_collected_parcel_on_its_route(alpha):
    from routing.services.publish import plan_publish

    with schema_context("alpha"):
        fleet = make_fleet_day("pub", vans=2, orders=6)
        deliveries = make_pairs("pub", 3)
        plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        plan.refresh_from_db()
        plan_publish(plan=plan, actor="test")
        pickup_id = deliveries[0].pair_as_delivery.pickup_id
        home = PlanStop.objects.get(route__plan=plan, order_id=pickup_id).route_id
        pickup = Order.objects.get(pk=pickup_id)
        for status in (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, OrderStatus.DELIVERED):
            pickup = order_transition(order=pickup, to=status)

        plans.plan_resolve(plan=plan)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE

        stop = PlanStop.objects.get(route__plan=plan, order_id=deliveries[0].pk)
        kept = PlanStop.objects.get(route__plan=plan, order_id=pickup_id)
        assert stop.route_id == kept.route_id == home and kept.sequence < stop.sequence
        assert stored_pairs_are_together(plan) == 3
