"""What the optimised order saves: a route's stops driven in the order their orders arrived
(routing.services.baseline), against legs computed by hand with the same straight-line
provider."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, Vehicle
from routing.models import Plan, PlanRoute, PlanStop
from routing.optimiser.matrix import UNREACHABLE_M, Matrix, StraightLineProvider
from routing.services import baseline, matrix, plans
from routing.services.routes import route_retime
from tests.conftest import tenant_today
from tests.routing.test_conversion import DAY as SOLVE_DAY
from tests.routing.test_conversion import make_day

pytestmark = pytest.mark.django_db
DAY = tenant_today(3)
START, END = (51.50, -0.10), (51.50, -0.05)
#: where the orders are, named by the order they arrived in
PLACES = {"first": (51.52, -0.06), "second": (51.48, -0.09), "third": (51.53, -0.09)}


@pytest.fixture(autouse=True)
def straight_lines(settings):
    settings.ROUTING_MATRIX_PROVIDER = "straight"
    settings.ROUTING_MATRIX_CACHE_TTL_S = 0


def leg(a: tuple[float, float], b: tuple[float, float], detour: float) -> int:
    """One leg by the provider the tenant's matrix uses, asked on its own."""
    return int(StraightLineProvider(detour_factor=detour).matrix([a, b]).distances_m[0][1])


def crafted_route(*, sequence: list[str]) -> tuple[PlanRoute, dict[str, Order]]:
    """A van from START to END; three orders that arrived first, second, third (their pks
    in another order), on the route in `sequence`, with the driver's break in the middle."""
    start = Depot.objects.create(name="Base start", lat=START[0], lng=START[1])
    end = Depot.objects.create(name="Base end", lat=END[0], lng=END[1])
    van = Vehicle.objects.create(name="Base van", start_depot=start, end_depot=end)
    driver = Driver.objects.create(name="Base driver", default_vehicle=van)
    made = {
        name: Order.objects.create(customer_name=name, delivery_date=DAY, lat=lat, lng=lng)
        for name, (lat, lng) in reversed(PLACES.items())  # pks: third < second < first
    }
    arrived = timezone.now() - dt.timedelta(days=2)
    for k, name in enumerate(PLACES):
        Order.objects.filter(pk=made[name].pk).update(created_at=arrived + dt.timedelta(hours=k))
    plan = Plan.objects.create(date=DAY, status=Plan.Status.DONE)
    at = timezone.make_aware(dt.datetime.combine(DAY, dt.time(9)))
    route = PlanRoute.objects.create(
        plan=plan,
        driver=driver,
        vehicle=van,
        starts_at=at,
        ends_at=at + dt.timedelta(hours=3),
        distance_m=0,
        duration_s=0,
    )
    stops = [made[sequence[0]], None, *(made[name] for name in sequence[1:])]
    for k, order in enumerate(stops, start=1):
        PlanStop.objects.create(
            route=route,
            sequence=k,
            order=order,
            is_break=order is None,
            arrives_at=at,
            starts_at=at,
            departs_at=at,
        )
    return route, made


def test_the_stops_are_driven_in_the_order_their_orders_arrived(alpha, settings):
    detour = settings.ROUTING_DETOUR_FACTOR
    with schema_context(alpha.tenant.schema_name):
        route, _ = crafted_route(sequence=["third", "first", "second"])
        distance = baseline.arrival_order_distance(route)
    f, s, t = PLACES["first"], PLACES["second"], PLACES["third"]
    expected = leg(START, f, detour) + leg(f, s, detour) + leg(s, t, detour) + leg(t, END, detour)
    assert distance == expected
    assert 15_000 < distance < 40_000  # about 24 km by straight lines x the detour factor
    # not the order of the pks, nor the order on the route
    by_pk = leg(START, t, detour) + leg(t, s, detour) + leg(s, f, detour) + leg(f, END, detour)
    assert by_pk != expected


def test_a_retimed_route_stores_it_next_to_its_own_distance(alpha, settings):
    detour = settings.ROUTING_DETOUR_FACTOR
    with schema_context(alpha.tenant.schema_name):
        # the sensible order: north-west first, then south, then east to the end depot
        route, _ = crafted_route(sequence=["third", "second", "first"])
        route_retime(route)
        route.refresh_from_db()
    f, s, t = PLACES["first"], PLACES["second"], PLACES["third"]
    arrival = leg(START, f, detour) + leg(f, s, detour) + leg(s, t, detour) + leg(t, END, detour)
    planned = leg(START, t, detour) + leg(t, s, detour) + leg(s, f, detour) + leg(f, END, detour)
    assert route.arrival_order_distance_m == arrival
    assert route.distance_m == planned  # the same matrix, the route's own order
    assert arrival - planned > 2_000  # the saving the reports show


def test_a_route_without_stops_is_zero_and_a_missing_road_is_unknown(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        route, _ = crafted_route(sequence=["first", "second", "third"])
        no_road = np.full((5, 5), UNREACHABLE_M, np.int64)
        np.fill_diagonal(no_road, 0)
        monkeypatch.setattr(matrix, "travel_matrix", lambda points: Matrix(no_road, no_road))
        assert baseline.arrival_order_distance(route) is None
        route.stops.all().delete()
        assert baseline.arrival_order_distance(route) == 0


def test_a_solved_plan_stores_it_for_each_route(alpha):
    with schema_context(alpha.tenant.schema_name):
        make_day("base")
        plan = plans.plan_create(date=SOLVE_DAY, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        route = PlanRoute.objects.get(plan=plan)
        assert route.arrival_order_distance_m is not None
        assert route.arrival_order_distance_m == baseline.arrival_order_distance(route) > 0
        # the four orders of make_day arrived along one street going north: that order
        # is also the shortest, so the planner's route is no longer
        assert route.distance_m <= route.arrival_order_distance_m
