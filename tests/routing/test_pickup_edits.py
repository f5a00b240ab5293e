"""The dispatcher's edits keep a pickup-and-delivery pair together, the pickup first:
a reversing move is refused (400 through the API), one end sent to the pool takes the
other, and one end moved to another route (or out of the pool) brings the other along."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderStatus
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
from routing.services import edits, plans
from tests.conftest import api_client
from tests.routing.factories import DAY, make_fleet_day
from tests.routing.test_pickup_planning import make_pairs


def solved(prefix: str, *, vans: int = 1, pairs: int = 2) -> tuple[Plan, list[Order]]:
    fleet = make_fleet_day(prefix, vans=vans, orders=4)
    deliveries = make_pairs(prefix, pairs)
    plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    plan.refresh_from_db()
    return plan, deliveries


def sequence(route: PlanRoute) -> list[int]:
    return [s.order_id for s in route.stops.order_by("sequence") if s.order_id]


def ends(delivery: Order) -> tuple[int, int]:
    return delivery.pair_as_delivery.pickup_id, delivery.pk


def test_a_delivery_cannot_go_before_its_pickup_nor_the_pickup_after_it(alpha):
    with schema_context("alpha"):
        plan, deliveries = solved("rev")
        route = plan.routes.get()
        pickup, delivery = ends(deliveries[0])
        before = sequence(route)
        at_pickup = before.index(pickup) + 1
        at_delivery = before.index(delivery) + 1

        with pytest.raises(ValidationError) as refused:
            edits.stop_move(plan=plan, order_id=delivery, route_id=route.pk, position=at_pickup)
        assert "after its pickup" in str(refused.value.message_dict["position"])
        with pytest.raises(ValidationError) as refused:
            edits.stop_move(plan=plan, order_id=pickup, route_id=route.pk, position=None)
        assert "before its delivery" in str(refused.value.message_dict["position"])
        assert sequence(route) == before

        # a reorder that keeps the pickup first is fine
        edits.stop_move(plan=plan, order_id=pickup, route_id=route.pk, position=at_delivery - 1)
        after = sequence(route)
        assert after.index(pickup) < after.index(delivery)


def test_sending_one_end_to_the_pool_sends_both_and_placing_one_places_both(alpha):
    with schema_context("alpha"):
        plan, deliveries = solved("pool")
        route = plan.routes.get()
        pickup, delivery = ends(deliveries[0])

        edits.stop_move(plan=plan, order_id=pickup, route_id=None)
        assert not {pickup, delivery} & set(sequence(route))
        pooled = set(PlanUnassigned.objects.filter(plan=plan).values_list("order_id", flat=True))
        assert {pickup, delivery} <= pooled

        edits.stop_move(plan=plan, order_id=delivery, route_id=route.pk, position=1)
        assert sequence(route)[:2] == [pickup, delivery]
        assert not PlanUnassigned.objects.filter(plan=plan, order_id__in=[pickup, delivery])


def test_moving_one_end_to_another_route_brings_the_other(alpha):
    with schema_context("alpha"):
        plan, deliveries = solved("two", vans=2, pairs=3)
        pickup, delivery = ends(deliveries[0])
        source = PlanStop.objects.get(route__plan=plan, order_id=pickup).route
        target = plan.routes.exclude(pk=source.pk).get()

        edits.stop_move(plan=plan, order_id=pickup, route_id=target.pk, position=1)

        assert sequence(target)[:2] == [pickup, delivery]
        assert not {pickup, delivery} & set(sequence(source))


def test_a_collected_parcel_stays_on_its_route(alpha):
    with schema_context("alpha"):
        plan, deliveries = solved("kept", vans=2)
        pickup, delivery = ends(deliveries[0])
        Order.objects.filter(pk=pickup).update(status=OrderStatus.DELIVERED)
        home = PlanStop.objects.get(route__plan=plan, order_id=delivery).route
        other = plan.routes.exclude(pk=home.pk).get()
        for route_id in (None, other.pk):
            with pytest.raises(ValidationError) as refused:
                edits.stop_move(plan=plan, order_id=delivery, route_id=route_id)
            assert "collected" in str(refused.value.message_dict["order"])


def test_a_reversing_move_is_a_400_through_the_api(alpha):
    with schema_context("alpha"):
        plan, deliveries = solved("api")
        route = plan.routes.get()
        pickup, delivery = ends(deliveries[0])
        first = sequence(route).index(pickup) + 1
    response = api_client(alpha.host, alpha.api_key).post(
        f"/api/v1/plans/{plan.pk}/moves",
        {"order": delivery, "route": route.pk, "position": first},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "position" in response.json()["errors"]
