"""The road path still to drive: on the live map (from the van through the stops still to
do), in the driver's app, and on the customer's page (from the van to that address only),
each read only by whom it belongs to."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Driver, Order, Vehicle
from geo.engine import haversine_m
from routing.models import Plan, PlanRoute
from routing.services import plans, publish
from routing.services.geometry import path_through, polyline_decode
from tenants.selectors import travel_source
from tests.conftest import TENANT_ZONE, api_client, host_client, login_client, tenant_today
from tests.routing.factories import DAY, HELSINKI, make_fleet_day
from tests.tracking.helpers import ACTOR, orders_on
from tracking.models import TrackingSettings
from tracking.services.day import Fix, fixes_store, next_seq, tracking_link_for
from tracking.services.paths import customer_path, driver_path

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@dataclass
class RoadDay:
    plan: Plan
    route: PlanRoute
    other: PlanRoute
    driver: Driver
    done: Order  # delivered
    heading: Order  # en route: the next stop
    later: list[Order]  # still to do after it
    van: tuple[float, float]  # the driver's last position


def _road_day(prefix: str, user_id: int | None = None) -> RoadDay:
    """Two vans' day in central Helsinki, published and running today: on the first route
    the first stop is delivered, the driver is on the way to the second, and their phone
    put them between the two."""
    day = make_fleet_day(prefix, vans=2, orders=8, centre=HELSINKI, spread=0.0055)
    Vehicle.objects.filter(pk__in=[v.pk for v in day.vans]).update(max_stops=4)
    plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    publish.plan_publish(plan=plan, actor=ACTOR)
    Plan.objects.filter(pk=plan.pk).update(date=tenant_today())  # the day is today
    routes = [r for r in plan.routes.order_by("pk") if len(orders_on(r)) >= 3]
    route, other = routes[0], next(r for r in plan.routes.order_by("pk") if r != routes[0])
    ids = orders_on(route)
    Order.objects.filter(pk=ids[0]).update(status="delivered")
    Order.objects.filter(pk=ids[1]).update(status="en_route")
    done, heading = Order.objects.get(pk=ids[0]), Order.objects.get(pk=ids[1])
    van = ((done.lat + heading.lat) / 2, (done.lng + heading.lng) / 2)
    driver = route.driver
    if user_id is not None:
        driver.user_id = user_id
        driver.save()
    at = timezone.now().replace(microsecond=0)
    fixes_store([(driver.pk, Fix(recorded_at=at, lat=van[0], lng=van[1]), next_seq())])
    later = [Order.objects.get(pk=pk) for pk in ids[2:]]  # in driving order
    return RoadDay(plan, route, other, driver, done, heading, later, van)


def _vertices(legs: list[dict]) -> list[tuple[float, float]]:
    return [p for leg in legs for p in polyline_decode(leg["line"])]


def _length_m(points) -> float:
    return sum(haversine_m(a, b) for a, b in itertools.pairwise(points))


def test_the_path_to_drive_starts_at_the_van_and_runs_through_the_stops_still_to_do(
    alpha, roads_for
):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name), timezone.override(TENANT_ZONE):
        day = _road_day("ahead")
        path = driver_path(day.driver.pk)
        depot = day.route.vehicle.start_depot
    assert path["route"] == day.route.pk and path["starts_from"] == "van"
    assert path["source"]["kind"] == "roads"
    assert [s["order"] for s in path["stops"]] == [day.heading.pk, *[o.pk for o in day.later]]
    assert day.done.pk not in [s["order"] for s in path["stops"]]  # delivered: behind
    to_next, rest = _vertices(path["next"]), _vertices(path["rest"])
    assert all(leg["road"] for leg in path["next"] + path["rest"])
    assert haversine_m(to_next[0], day.van) < 150  # from the van, on its road
    assert haversine_m(to_next[-1], (day.heading.lat, day.heading.lng)) < 150
    assert rest[0] == to_next[-1]  # the rest goes on from the next stop
    assert haversine_m(rest[-1], (depot.lat, depot.lng)) < 150  # back to the depot
    assert len(to_next) + len(rest) > 60  # the streets' corners, not a few straight lines


def test_without_a_position_the_path_starts_from_the_stop_reached_last(alpha, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name), timezone.override(TENANT_ZONE):
        day = _road_day("noposition")
        day.driver.driverposition.delete()
        path = driver_path(day.driver.pk)
    assert path["starts_from"] == "last_stop" and path["position"] is None
    assert path["start"] == [round(day.done.lat, 5), round(day.done.lng, 5)]


def test_the_live_map_asks_for_a_drivers_path_and_only_dispatchers_and_keys_get_it(
    alpha, roads_for
):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        day = _road_day("livemap")
    url = f"/api/v1/drivers/{day.driver.pk}/path"
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get("/live/").content.decode()
    assert 'data-path-url="/api/v1/drivers/0/path"' in page and "js/roadmap.js" in page
    assert "Paths: Roads: helsinki (car)." in page
    body = dispatcher.get(url).json()
    assert body["route"] == day.route.pk and body["colour"].startswith("#")
    assert body["source"]["attribution"] == "\u00a9 OpenStreetMap contributors"
    assert body["position"]["lat"] == pytest.approx(day.van[0]) and body["every_s"] == 20
    assert api_client(alpha.host, alpha.read_key).get(url).status_code == 200
    assert login_client(alpha.host, alpha.driver_email).get(url).status_code == 403
    assert dispatcher.get("/api/v1/drivers/999999/path").status_code == 404
    # a driver with no route today: their position, no path
    with schema_context(alpha.tenant.schema_name):
        idle = Driver.objects.create(name="Idle")
    idle_body = dispatcher.get(f"/api/v1/drivers/{idle.pk}/path").json()
    assert idle_body["route"] is None and "next" not in idle_body


def test_another_tenant_cannot_read_a_drivers_path_though_the_ids_repeat(alpha, beta, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name):
        day = _road_day("crossdriver")
    url = f"/api/v1/drivers/{day.driver.pk}/path"
    assert api_client(beta.host, beta.read_key).get(url).status_code == 404
    assert api_client(beta.host, alpha.read_key).get(url).status_code in (401, 403)
    with schema_context(beta.tenant.schema_name):
        Driver.objects.create(pk=day.driver.pk, name="Beta's own")  # alpha's driver id
    body = api_client(beta.host, beta.read_key).get(url).json()
    assert body == {
        "driver": day.driver.pk,
        "route": None,
        "source": body["source"],
        "position": None,  # not alpha's van
        "every_s": 20,
    }
    assert body["source"]["kind"] == "straight"  # beta has no road region


def test_the_driver_app_shows_the_road_to_the_next_stop(alpha, beta, roads_for):
    roads_for(alpha)
    user = alpha.user_ids[alpha.driver_email]
    with schema_context(alpha.tenant.schema_name):
        day = _road_day("driverapp", user_id=user)
    client = login_client(alpha.host, alpha.driver_email)
    page = client.get("/driver/").content.decode()
    assert 'id="driver-map"' in page and "js/driver_map.js" in page
    assert "Next: <strong>#" in page and "Roads: helsinki (car)." in page
    data = page.split('id="driver-path-data" type="application/json">')[1].split("</script>")[0]
    embedded = json.loads(data)
    assert embedded["stops"][0]["order"] == day.heading.pk and embedded["starts_from"] == "van"
    fetched = client.get("/driver/path").json()
    assert fetched["next"] == embedded["next"] and fetched["route"] == day.route.pk
    # the same driver id and user id in beta: beta's driver sees nothing of alpha's day
    with schema_context(beta.tenant.schema_name):
        Driver.objects.create(pk=day.driver.pk, name="Beta twin", user_id=user)
    theirs = login_client(beta.host, beta.driver_email).get("/driver/path").json()
    assert theirs == {"route": None}
    # alpha's session is no key to beta's host
    assert host_client(beta.host).get("/driver/path").status_code in (302, 403)


def test_the_customer_sees_the_road_from_the_van_to_their_address_only(alpha, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name), timezone.override(TENANT_ZONE):
        day = _road_day("customer")
        token = tracking_link_for(day.heading)
        waiting = tracking_link_for(day.later[0])
        source = travel_source(alpha.tenant)
        direct = path_through([day.van, (day.heading.lat, day.heading.lng)], source=source)
        via_other = path_through(
            [day.van, (day.later[0].lat, day.later[0].lng), (day.heading.lat, day.heading.lng)],
            source=source,
        )
    public = host_client("localhost")
    body = public.get(f"/t/{token}/path").json()
    assert set(body) == {"legs", "walks", "attribution", "seq", "every_s"}  # nothing of the route
    assert [leg["line"] for leg in body["legs"]] == [leg.line for leg in direct]
    path = _vertices(body["legs"])
    assert haversine_m(path[0], day.van) < 150
    assert haversine_m(path[-1], (day.heading.lat, day.heading.lng)) < 150
    # straight to this address: shorter than by way of the next customer's stop
    assert _length_m(path) < _length_m([p for leg in via_other for p in leg.path])
    other_names = [o.customer_name for o in day.later] + [day.done.customer_name]
    assert not any(name in json.dumps(body) for name in other_names)
    page = public.get(f"/t/{token}").content.decode()
    assert 'id="track-path"' in page and "js/roadmap.js" in page
    assert not any(name in page for name in other_names)
    # the next customer, not on the way to yet, gets no path; nor does anyone when hidden
    assert public.get(f"/t/{waiting}/path").json() == {"legs": []}
    with schema_context(alpha.tenant.schema_name):
        TrackingSettings.objects.update_or_create(pk=1, defaults={"tracking_show_map": False})
    cache.clear()
    assert public.get(f"/t/{token}/path").json() == {"legs": []}
    assert public.get("/t/not-a-token/path").status_code == 404


def test_a_tracking_path_is_the_tenants_own_though_order_ids_repeat(alpha, beta, roads_for):
    roads_for(alpha)
    with schema_context(alpha.tenant.schema_name), timezone.override(TENANT_ZONE):
        day = _road_day("crosstrack")
        ours = customer_path(day.heading.pk, tenant=alpha.tenant)
    assert ours and ours["legs"]
    with schema_context(beta.tenant.schema_name):
        twin = Order.objects.create(
            pk=day.heading.pk,
            customer_name="Beta twin",
            delivery_date=DAY,
            lat=51.5,
            lng=-0.1,
            status="en_route",
        )
        their_token = tracking_link_for(twin)
    # beta's order of the same id is on no route of beta's: no van, no path, nothing of alpha
    assert host_client("localhost").get(f"/t/{their_token}/path").json() == {"legs": []}
    with schema_context(beta.tenant.schema_name):
        assert customer_path(twin.pk, tenant=beta.tenant) is None
