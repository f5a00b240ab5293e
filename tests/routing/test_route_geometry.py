"""A route's road path for the maps: it follows Helsinki's streets, is cached until an edit
or a rebuilt region changes it, falls back to straight legs and says so, and is read only
by the tenant it belongs to."""

from __future__ import annotations

import itertools
import json
import shutil

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, Vehicle
from geo.engine import haversine_m
from routing.models import Plan, PlanRoute, PlanStop
from routing.services import edits, geometry, plans
from routing.services.geometry import path_through, polyline_decode, polyline_encode
from tenants.selectors import travel_source
from tests.conftest import HELSINKI_PBF, api_client, login_client
from tests.routing.factories import DAY, HELSINKI, make_fleet_day

pytestmark = pytest.mark.django_db

#: Inside central Helsinki (the extract), on its streets.
SPREAD = 0.0055
#: 40 km out of the extract: no road of the region within reach.
NOWHERE = (60.45, 25.5)


def _length_m(points) -> float:
    return sum(haversine_m(a, b) for a, b in itertools.pairwise(points))


def _helsinki_route(prefix: str, orders: int = 10) -> PlanRoute:
    """One van's day of `orders` stops in central Helsinki, solved on the tenant's roads."""
    day = make_fleet_day(prefix, vans=1, orders=orders, centre=HELSINKI, spread=SPREAD)
    plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    return PlanRoute.objects.get(plan=plan)


@pytest.fixture
def count_paths(monkeypatch):
    """How many times the road engine is asked for a path."""
    calls = []
    real = geometry.road_path

    def spy(points, source=None, **options):
        calls.append(len(points))
        return real(points, source, **options)

    monkeypatch.setattr(geometry, "road_path", spy)
    return calls


@pytest.fixture
def fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_encoded_polylines_round_trip_at_five_decimals():
    assert polyline_encode([(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]) == (
        "_p~iF~ps|U_ulLnnqC_mqNvxq`@"  # Google's own example
    )
    points = [(60.171234, 24.941299), (60.17, 24.95), (-33.9, 151.2)]
    assert polyline_decode(polyline_encode(points)) == [
        (60.17123, 24.9413),
        (60.17, 24.95),
        (-33.9, 151.2),
    ]


def test_a_route_on_roads_follows_the_streets(alpha, roads_for, fresh_cache):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        route = _helsinki_route("streets")
        stops = route.stops.exclude(order=None).count()
        drawn = geometry.route_geometry(route)
    assert drawn.source.kind == "roads" and stops >= 8
    assert [leg.road for leg in drawn.legs] == [True] and drawn.flags == []
    path = drawn.legs[0].path
    # a street path bends at every corner: many vertices per stop, not one
    assert len(path) > 10 * (stops + 2), len(path)
    # as long as the road distance the plan drove (not the straight lines between stops)
    assert _length_m(path) == pytest.approx(route.distance_m, rel=0.05)
    depot = route.vehicle.start_depot
    assert haversine_m(path[0], (depot.lat, depot.lng)) < 150  # from the depot's road
    assert haversine_m(path[-1], (depot.lat, depot.lng)) < 150  # and back
    # a stop away from the road the van stops on is joined to it by a (dotted) walk
    with schema_context(alpha.tenant.schema_name):
        places = {(round(s.order.lat, 5), round(s.order.lng, 5)) for s in route.stops.all()}
    places.add((round(depot.lat, 5), round(depot.lng, 5)))
    for walk in map(polyline_decode, drawn.walks):
        assert len(walk) == 2 and walk[1] in places
        assert 25 < haversine_m(*walk) <= 500 + 1


def test_the_path_is_cached_and_an_edit_recomputes_it(alpha, roads_for, fresh_cache, count_paths):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        route = _helsinki_route("cached", orders=6)
        first = geometry.route_geometry(route)
        asked = len(count_paths)
        assert asked >= 1
        assert geometry.route_geometry(route).legs == first.legs
        assert len(count_paths) == asked  # from the cache
        last = route.stops.exclude(order=None).order_by("sequence").last()
        edits.stop_move(plan=route.plan, order_id=last.order_id, route_id=route.pk, position=1)
        moved = geometry.route_geometry(PlanRoute.objects.get(pk=route.pk))
    assert len(count_paths) > asked  # the new order of stops was drawn again
    assert moved.legs != first.legs


def test_a_rebuilt_region_recomputes_the_path(
    alpha, roads_for, helsinki_roads, settings, tmp_path, fresh_cache, count_paths
):
    from geo.services import region_build

    roads = tmp_path / "roads"
    shutil.copytree(helsinki_roads, roads, symlinks=True)
    roads_for(alpha)
    settings.ROADS_DIR = roads  # a region of this test's own, rebuilt below
    with schema_context(alpha.tenant.schema_name):
        route = _helsinki_route("rebuilt", orders=4)
        before = travel_source(alpha.tenant).region.built_at
        geometry.route_geometry(route)
        asked = len(count_paths)
        geometry.route_geometry(route)
        assert len(count_paths) == asked
        region_build("helsinki", HELSINKI_PBF)
        source = travel_source(alpha.tenant)
        assert source.region.built_at > before
        again = geometry.route_geometry(route, source=source)
    assert len(count_paths) > asked and again.legs[0].road


def test_without_a_road_region_paths_are_straight_dashed_and_say_why(alpha, fresh_cache):
    with schema_context(alpha.tenant.schema_name):
        day = make_fleet_day("straight", vans=1, orders=4)
        plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        plans.plan_solve(plan.pk)
        route = PlanRoute.objects.get(plan=plan)
        drawn = geometry.route_geometry(route)
        legend = geometry.source_dict(drawn.source)["legend"]
    assert drawn.source.kind == "straight" and drawn.source.attribution == ""
    assert [leg.road for leg in drawn.legs] == [False]
    assert len(drawn.legs[0].path) == 4 + 2  # depot, the stops, depot: straight segments
    assert drawn.flags == []  # nothing to flag: every path is straight, and the legend says why
    assert legend.startswith("Estimated: straight lines \u00d7 1.3 \u2014 no road region is chosen")


def test_a_leg_no_road_joins_is_drawn_straight_and_flagged(alpha, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        source = travel_source(alpha.tenant)
        a, b = (60.1699, 24.9384), (60.1710, 24.9450)
        legs = path_through([a, NOWHERE, b], source=source)
    assert [leg.road for leg in legs] == [False]  # both legs touch the cut-off point: one run
    assert legs[0].path == [a, NOWHERE, b] and legs[0].ends == (0, 2)
    with schema_context(alpha.tenant.schema_name):
        c = (60.1740, 24.9420)
        legs = path_through([a, b, NOWHERE, c, a], source=source)
    assert [(leg.road, leg.ends) for leg in legs] == [
        (True, (0, 1)),
        (False, (1, 3)),
        (True, (3, 4)),
    ]


def test_a_stop_off_the_roads_on_a_route_is_flagged_by_name(alpha, roads_for, fresh_cache):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        route = _helsinki_route("flagged", orders=4)
        far = Order.objects.create(
            customer_name="Far away", delivery_date=DAY, lat=NOWHERE[0], lng=NOWHERE[1]
        )
        last = route.stops.order_by("sequence").last()
        PlanStop.objects.create(
            route=route,
            sequence=last.sequence + 1,
            order=far,
            arrives_at=last.arrives_at,
            starts_at=last.starts_at,
            departs_at=last.departs_at,
        )
        drawn = geometry.route_geometry(PlanRoute.objects.get(pk=route.pk))
    assert [leg.road for leg in drawn.legs] == [True, False]
    n = last.sequence + 1
    assert drawn.flags == [f"No road joins stop #{last.sequence} to the depot: drawn straight."]
    assert drawn.legs[1].path[1] == NOWHERE and n == drawn.legs[1].ends[0] + 1
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/plans/{route.plan_id}/")
    assert drawn.flags[0] in page.content.decode()  # under the map, by the route's name


# --- the plan page and the API --------------------------------------------------------------


def test_the_plan_page_draws_each_route_on_the_roads_with_its_attribution(alpha, roads_for):
    roads_for(alpha)
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        route = _helsinki_route("page", orders=8)
    page = client.get(f"/plans/{route.plan_id}/").content.decode()
    assert "js/roadmap.js" in page and "Paths: Roads: helsinki (car)." in page
    data = page.split('id="plan-map-data" type="application/json">')[1].split("</script>")[0]
    data = json.loads(data)
    assert data["source"]["attribution"] == "\u00a9 OpenStreetMap contributors"
    legs = data["routes"][0]["geometry"]["legs"]
    assert legs and all(leg["road"] for leg in legs)
    assert sum(len(polyline_decode(leg["line"])) for leg in legs) > 100


def test_the_plan_page_says_why_paths_are_straight(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        day = make_fleet_day("dashed", vans=1, orders=3)
        plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        plans.plan_solve(plan.pk)
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert (
        "Paths: Estimated: straight lines \u00d7 1.3 \u2014 no road region is chosen in "
        "Settings \u2192 Roads (drawn dashed)." in page
    )


def test_the_geometry_api_answers_dispatchers_and_keys_not_drivers(alpha, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        route = _helsinki_route("api", orders=5)
    url = f"/api/v1/plans/{route.plan_id}/routes/{route.pk}/geometry"
    body = login_client(alpha.host, alpha.dispatcher_email).get(url).json()
    assert body["route"] == route.pk and body["colour"] == "#1f77b4"
    assert body["source"]["kind"] == "roads" and body["flags"] == []
    assert len(polyline_decode(body["legs"][0]["line"])) > 50
    assert api_client(alpha.host, alpha.read_key).get(url).status_code == 200
    assert login_client(alpha.host, alpha.driver_email).get(url).status_code == 403
    assert api_client(alpha.host).get(url).status_code in (401, 403)
    other_plan = f"/api/v1/plans/{route.plan_id + 1000}/routes/{route.pk}/geometry"
    assert api_client(alpha.host, alpha.read_key).get(other_plan).status_code == 404


def _same_ids_in(schema: str, route: PlanRoute) -> None:
    """Beta gets a plan and a route with alpha's very ids, in London, on no roads."""
    with schema_context(schema):
        depot = Depot.objects.create(name="Beta depot", lat=51.5, lng=-0.12)
        van = Vehicle.objects.create(name="Beta van", start_depot=depot)
        driver = Driver.objects.create(name="Beta driver")
        plan = Plan.objects.create(pk=route.plan_id, date=DAY, status=Plan.Status.DONE)
        theirs = PlanRoute.objects.create(
            pk=route.pk,
            plan=plan,
            driver=driver,
            vehicle=van,
            starts_at=route.starts_at,
            ends_at=route.ends_at,
            distance_m=1,
            duration_s=1,
        )
        order = Order.objects.create(
            customer_name="Beta customer", delivery_date=DAY, lat=51.51, lng=-0.1
        )
        PlanStop.objects.create(
            route=theirs,
            sequence=1,
            order=order,
            arrives_at=route.starts_at,
            starts_at=route.starts_at,
            departs_at=route.starts_at,
        )


def test_another_tenant_cannot_read_a_routes_geometry_though_the_ids_repeat(
    alpha, beta, roads_for, fresh_cache
):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        route = _helsinki_route("ours", orders=5)
        ours = geometry.route_geometry(route)
    url = f"/api/v1/plans/{route.plan_id}/routes/{route.pk}/geometry"
    # beta has no such route: nothing of alpha's is found under alpha's ids
    assert api_client(beta.host, beta.read_key).get(url).status_code == 404
    # alpha's key is not beta's
    assert api_client(beta.host, alpha.read_key).get(url).status_code in (401, 403)
    _same_ids_in(beta.tenant.schema_name, route)
    body = api_client(beta.host, beta.read_key).get(url).json()
    assert body["source"]["kind"] == "straight"  # beta's own route, in London, no roads
    assert [leg["line"] for leg in body["legs"]] != [leg.line for leg in ours.legs]
    assert polyline_decode(body["legs"][0]["line"]) == [(51.5, -0.12), (51.51, -0.1), (51.5, -0.12)]
    # and alpha's cached path is still alpha's (the cache key carries the schema)
    alpha_body = api_client(alpha.host, alpha.read_key).get(url).json()
    assert [leg["line"] for leg in alpha_body["legs"]] == [leg.line for leg in ours.legs]
