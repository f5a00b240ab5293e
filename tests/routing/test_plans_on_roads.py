"""A day planned on real roads (the Helsinki region, the embedded engine), straight lines
said plainly when a tenant has no region, and rush hours in plans and live arrival times."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order
from geo.selectors import region_engine
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
from routing.optimiser.matrix import StraightLineProvider
from routing.services import plans
from routing.services.matrix import travel_matrix
from routing.services.routes import arrival_from
from tenants.models import Tenant
from tests.routing.factories import DAY, HELSINKI, make_fleet_day

pytestmark = pytest.mark.django_db


def _solve(prefix: str, **fleet) -> tuple[Plan, object]:
    made = make_fleet_day(prefix, centre=HELSINKI, spread=0.006, **fleet)
    plan = plans.plan_create(date=DAY, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    plan.refresh_from_db()
    return plan, made


def test_a_day_is_planned_on_the_roads_and_says_so(alpha, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        plan, made = _solve("r", vans=2, orders=10)
        assert (plan.travel_kind, plan.travel_label) == ("roads", "Roads: helsinki (car)")
        assert plan.travel_note == ""
        assert not PlanUnassigned.objects.filter(plan=plan).exists()
        # each route's distance is the engine's road distance through its stops, in order
        engine = region_engine("helsinki")
        for route in PlanRoute.objects.filter(plan=plan, distance_m__gt=0):
            stops = PlanStop.objects.filter(route=route, order__isnull=False).order_by("sequence")
            points = [(made.depot.lat, made.depot.lng)]
            points += [(s.order.lat, s.order.lng) for s in stops] + [points[0]]
            table = engine.table(points)
            driven = sum(table.distances_m[i][i + 1] for i in range(len(points) - 1))
            assert route.distance_m == pytest.approx(driven, abs=len(points))  # rounding only
        points = [(o.lat, o.lng) for o in made.orders]
        roads = travel_matrix(points)
        # one-way streets: there and back differ on roads, never on a straight line
        assert (roads.durations_s != roads.durations_s.T).any()
        # between the points where they join the roads, a road is never shorter than a line
        snapped = engine.table(points).snapped
        straight = StraightLineProvider(detour_factor=1.0).matrix(snapped)
        assert (roads.distances_m >= straight.distances_m - 5).all()
        assert roads.distances_m.sum() > 1.2 * straight.distances_m.sum()


def test_an_order_no_road_reaches_is_left_out_with_that_reason(alpha, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        made = make_fleet_day("u", centre=HELSINKI, spread=0.006, vans=1, orders=4)
        far = made.orders[0]
        Order.objects.filter(pk=far.pk).update(lat=60.45, lng=25.5)  # 35 km out, no roads here
        plan = plans.plan_create(date=DAY, seconds=1)
        plans.plan_solve(plan.pk)
        left = PlanUnassigned.objects.get(plan=plan)
        assert (left.order_id, left.reason) == (far.pk, "unreachable")
        assert PlanStop.objects.filter(route__plan=plan, order__isnull=False).count() == 3


def test_without_a_region_plans_say_they_are_straight_lines_and_why(alpha, roads_for, settings):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solve("s", vans=1, orders=3)
        assert plan.travel_kind == "straight"
        assert plan.travel_label.startswith("Estimated: straight lines")
        assert "no road region is chosen" in plan.travel_note
    roads_for(alpha, region="nowhere")
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solve("n", vans=1, orders=3)
        assert plan.travel_kind == "straight"
        assert "nowhere (car) is not built on this server" in plan.travel_note


def test_the_plan_page_and_api_say_where_the_times_come_from(alpha, roads_for):
    from tests.conftest import api_client, login_client

    with schema_context(alpha.tenant.schema_name):
        straight, _ = _solve("a", vans=1, orders=3)
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        on_roads, _ = _solve("b", vans=1, orders=3)
    page = login_client(alpha.host, alpha.dispatcher_email)
    text = page.get(f"/plans/{straight.pk}/").content.decode()
    assert "Times are estimates" in text and "no road region is chosen" in text
    text = page.get(f"/plans/{on_roads.pk}/").content.decode()
    assert "Travel times: Roads: helsinki (car)" in text and "OpenStreetMap contributors" in text
    body = api_client(alpha.host, alpha.read_key).get(f"/api/v1/plans/{on_roads.pk}").json()
    assert (body["travel_kind"], body["travel_label"]) == ("roads", "Roads: helsinki (car)")


def test_rush_hours_slow_the_legs_that_set_off_in_them(alpha, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        calm, _ = _solve("c", vans=1, orders=6)
        calm_route = PlanRoute.objects.get(plan=calm, distance_m__gt=0)
        calm_stops = list(calm_route.stops.order_by("sequence"))
        PlanStop.objects.filter(route__plan=calm).delete()
        PlanRoute.objects.filter(plan=calm).delete()
        Order.objects.update(status="unassigned")
        every_day = [0, 1, 2, 3, 4, 5, 6]
        Tenant.objects.filter(pk=alpha.tenant.pk).update(
            rush_hours=[{"days": every_day, "start": "06:00", "end": "20:00", "factor": 2.0}]
        )
        rushed = plans.plan_create(date=DAY, seconds=1)
        plans.plan_solve(rushed.pk)
        route = PlanRoute.objects.get(plan=rushed, distance_m__gt=0)
        stops = list(route.stops.order_by("sequence"))

    def driving(stops, route):
        legs = [(stops[0].arrives_at - route.starts_at).total_seconds()]
        pairs = itertools.pairwise(stops)
        legs += [(b.arrives_at - a.departs_at).total_seconds() for a, b in pairs]
        return sum(legs)

    assert route.distance_m == calm_route.distance_m  # the same roads…
    assert driving(stops, route) == pytest.approx(2 * driving(calm_stops, calm_route), abs=8)


def test_live_arrival_is_the_road_time_from_the_van_with_the_rush_factor(alpha, roads_for):
    roads_for(alpha)
    zone = ZoneInfo("Europe/London")
    with schema_context(alpha.tenant.schema_name):
        made = make_fleet_day("e", centre=HELSINKI, spread=0.006, vans=1, orders=1)
        order = made.orders[0]
        van = (60.1699, 24.9384)  # near the railway station
        at = timezone.now()
        eta = arrival_from(at, *van, order.pk, now=at)
        road_s = region_engine("helsinki").table([van, (order.lat, order.lng)]).durations_s[0][1]
        assert (eta - at).total_seconds() == pytest.approx(road_s, abs=1)
        local = at.astimezone(zone)
        rush = {
            "days": [local.weekday()],
            "start": (local - dt.timedelta(hours=1)).strftime("%H:%M"),
            "end": (local + dt.timedelta(hours=1)).strftime("%H:%M"),
            "factor": 1.5,
        }
        if rush["start"] < rush["end"]:  # not across midnight (rush hours stay in a day)
            alpha.tenant.rush_hours = [rush]
            Tenant.objects.filter(pk=alpha.tenant.pk).update(rush_hours=[rush])
            try:
                eta = arrival_from(at, *van, order.pk, now=at)
            finally:
                alpha.tenant.rush_hours = []
            assert (eta - at).total_seconds() == pytest.approx(1.5 * road_s, abs=1)
        # a van where no road leads: no arrival time rather than a wrong one
        assert arrival_from(at, 60.45, 25.5, order.pk, now=at) is None


def test_an_orders_eta_says_where_its_times_come_from(alpha, beta, roads_for):
    from tests.conftest import api_client

    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        made = make_fleet_day("t", centre=HELSINKI, spread=0.006, vans=1, orders=1)
    order = made.orders[0].pk
    with schema_context(beta.tenant.schema_name):
        theirs = make_fleet_day("t", centre=HELSINKI, spread=0.006, vans=1, orders=1)
        Order.objects.filter(pk=theirs.orders[0].pk).update(id=order)  # ids repeat
    eta = api_client(alpha.host, alpha.read_key).get(f"/api/v1/orders/{order}/eta").json()
    assert eta["travel"] == {"kind": "roads", "label": "Roads: helsinki (car)", "reason": ""}
    eta = api_client(beta.host, beta.read_key).get(f"/api/v1/orders/{order}/eta").json()
    assert eta["travel"]["kind"] == "straight"
    assert "no road region is chosen" in eta["travel"]["reason"]
