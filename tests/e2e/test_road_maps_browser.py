"""Road paths on the maps, in Chromium, on Helsinki's real roads: the plan page draws each
route along the streets, the live map draws each driver's path still to drive and keeps it
as positions arrive, the driver's phone shows the way to the next stop, and the customer
the way from the van to their door; each map credits OpenStreetMap's contributors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import requests
from django.test import override_settings
from django_tenants.utils import schema_context

from tests.e2e.conftest import LiveTenant, csp_checked_page, live_tenant, running_web, sign_in
from tests.routing.factories import DAY, HELSINKI, make_fleet_day

ATTRIBUTION = "Road paths \u00a9 OpenStreetMap contributors"


@dataclass
class RoadWorld:
    tenant: LiveTenant
    prefix: str
    plan_id: int
    route_ids: list[int]
    driver_id: int
    driver_token: str
    heading: int  # the order the first driver is on the way to
    heading_link: str
    van: tuple[float, float]


def make_road_world(
    django_db_blocker, server_url: str, roads, prefix: str, *, vans: int = 2, orders: int = 20
) -> RoadWorld:
    """A tenant on the Helsinki region with a plan solved on its roads and published for
    today; on the first route the first stop is delivered, the driver is on the way to the
    second and their phone put them half-way."""
    from accounts.models import User
    from dispatch.models import Order, OrderStatus, Vehicle
    from dispatch.services.orders import order_transition
    from routing.models import Plan
    from routing.services import plans, publish
    from tenants.models import Tenant
    from tracking.services.day import Fix, duty_set, fixes_store, tracking_link_for
    from tracking.services.tokens import driver_token

    driver_email = f"driver@{prefix}.test"
    tenant = live_tenant(
        django_db_blocker,
        server_url,
        prefix,
        users=((driver_email, "driver"), (f"dispatcher@{prefix}.test", "dispatcher")),
    )
    with django_db_blocker.unblock(), override_settings(ROADS_DIR=roads):
        Tenant.objects.filter(pk=tenant.provisioned.tenant.pk).update(road_region="helsinki")
        tenant.provisioned.tenant.road_region = "helsinki"
        with schema_context(tenant.schema):
            fleet = make_fleet_day(
                prefix, vans=vans, orders=orders, centre=HELSINKI, spread=0.0055, seed=19
            )
            Vehicle.objects.filter(pk__in=[v.pk for v in fleet.vans]).update(
                max_stops=-(-orders // vans)
            )
            plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=2)
            assert plans.plan_solve(plan.pk) == Plan.Status.DONE
            publish.plan_publish(plan=plan, actor="test")
            zone = ZoneInfo(Tenant.objects.get(pk=tenant.provisioned.tenant.pk).time_zone)
            Plan.objects.filter(pk=plan.pk).update(date=dt.datetime.now(zone).date())
            routes = list(plan.routes.order_by("pk"))
            route = routes[0]
            stops = [s.order for s in route.stops.exclude(order=None).order_by("sequence")]
            for status in ("en_route", "arrived", "delivered"):
                order_transition(order=stops[0], to=status, actor="test")
            order_transition(order=stops[1], to=OrderStatus.EN_ROUTE, actor="test")
            done, heading = stops[0], Order.objects.get(pk=stops[1].pk)
            van = ((done.lat + heading.lat) / 2, (done.lng + heading.lng) / 2)
            driver = route.driver
            user = User.objects.get(email=driver_email)
            driver.user = user
            driver.save()
            duty_set(driver=driver, on_duty=True)
            at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
            # the server numbers later positions by its own clock; this process's counter
            # may run ahead of it (an earlier test moved the clock), so number by the fix
            seq = int(at.timestamp() * 1_000_000)
            fixes_store([(driver.pk, Fix(recorded_at=at, lat=van[0], lng=van[1]), seq)])
            token = driver_token(schema=tenant.schema, driver_id=driver.pk, user_id=user.pk)
            link = tracking_link_for(heading)
    return RoadWorld(
        tenant, prefix, plan.pk, [r.pk for r in routes], driver.pk, token, heading.pk, link, van
    )


@pytest.fixture(scope="module")
def roads_server(django_db_setup, helsinki_roads) -> Iterator[str]:
    """A web process of this module's own that serves the Helsinki region."""
    with running_web(ROADS_DIR=str(helsinki_roads)) as url:
        yield url


@pytest.fixture(scope="module")
def world(roads_server, django_db_blocker, helsinki_roads) -> RoadWorld:
    return make_road_world(django_db_blocker, roads_server, helsinki_roads, "roadmaps")


def _svg_points(page, selector: str) -> list[int]:
    """How many points each drawn path of `selector` has on screen (after Leaflet's own
    simplification at this zoom)."""
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => (e.getAttribute('d') || '').split(/[ML]/).length - 1)",
    )


def test_the_plan_map_draws_each_route_along_the_streets(world, page):
    sign_in(page, world.tenant, world.tenant.owner_email)
    page.goto(f"{world.tenant.url}/plans/{world.plan_id}/")
    page.locator("#plan-map[data-routes-drawn='2']").wait_for()
    assert page.locator("#plan-map").get_attribute("data-paths") == "roads"
    assert int(page.locator("#plan-map").get_attribute("data-vertices")) > 400
    on_road = _svg_points(page, "path.route-line.road-leg")
    assert len(on_road) >= 2 and min(on_road) > 40, on_road  # corners, not stop to stop
    assert page.locator("path.route-line.straight-leg").count() == 0
    assert ATTRIBUTION in page.locator(".leaflet-control-attribution").inner_text()
    assert "Paths: Roads: helsinki (car)." in page.locator("#plan-paths").inner_text()


def test_the_live_map_draws_each_drivers_path_still_to_drive_and_keeps_it(world, page):
    sign_in(page, world.tenant, f"dispatcher@{world.prefix}.test")
    page.goto(f"{world.tenant.url}/live/")
    marker = page.locator(f".driver-marker[data-driver='{world.driver_id}']")
    marker.wait_for()
    page.wait_for_function(
        "id => { const m = document.querySelector(`.driver-marker[data-driver='${id}']`);"
        " return m && Number(m.dataset.pathVertices) > 0; }",
        arg=world.driver_id,
    )
    assert int(marker.get_attribute("data-path-vertices")) > 60
    assert page.locator("path.live-next.road-leg").count() >= 1
    assert min(_svg_points(page, "path.live-rest.road-leg")) > 20
    assert page.locator(".live-stop").count() >= 3
    assert ATTRIBUTION in page.locator(".leaflet-control-attribution").inner_text()

    # the van moves on: the marker follows and the path still starts at it
    lat, lng = world.van[0] + 0.0004, world.van[1] + 0.0004
    response = requests.post(
        f"http://127.0.0.1:{world.tenant.port}/api/v1/driver/pings",
        json={
            "fixes": [
                {"t": int(dt.datetime.now(dt.UTC).timestamp() * 1000), "lat": lat, "lng": lng}
            ]
        },
        headers={"Authorization": f"Driver {world.driver_token}", "Host": world.tenant.host},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    page.wait_for_function(
        "([id, lat]) => { const m = document.querySelector(`.driver-marker[data-driver='${id}']`);"
        " return m && Math.abs(Number(m.dataset.lat) - lat) < 1e-9; }",
        arg=[world.driver_id, lat],
    )
    # the path to the next stop now starts where the van is (trimmed, not fetched again)
    start = marker.get_attribute("data-path-start").split(",")
    assert [float(x) for x in start] == pytest.approx([lat, lng])
    assert page.locator("path.live-next.road-leg").count() >= 1


def test_the_driver_sees_the_road_to_the_next_stop_on_the_phone(world, browser):
    with csp_checked_page(browser, viewport={"width": 390, "height": 844}) as phone:
        sign_in(phone, world.tenant, f"driver@{world.prefix}.test")
        phone.goto(f"{world.tenant.url}/driver/")
        phone.get_by_role("tab", name="Map").click()  # the app's map has a tab of its own
        phone.locator("#driver-map[data-drawn='1']").wait_for()
        assert int(phone.locator("#driver-map").get_attribute("data-next-vertices")) > 5
        assert phone.locator("path.driver-next.road-leg").count() >= 1
        assert phone.locator(".next-stop-marker").count() == 1
        assert phone.locator("path.driver-position").count() == 1
        assert ATTRIBUTION in phone.locator(".leaflet-control-attribution").inner_text()
        caption = phone.locator("#driver-map-card figcaption").inner_text()
        assert re.search(r"Next: #\d+ ", caption) and "Roads: helsinki (car)" in caption


def test_the_customer_sees_the_road_from_the_van_to_their_door(world, roads_server, page):
    page.goto(f"{roads_server}/t/{world.heading_link}")
    page.get_by_role("heading", name="On the way to you").wait_for()
    page.locator("#track-map[data-path-vertices]").wait_for(state="attached")
    assert int(page.locator("#track-map").get_attribute("data-path-vertices")) > 5
    assert page.locator("path.track-path.road-leg").count() == 1
    assert ATTRIBUTION in page.locator(".leaflet-control-attribution").inner_text()


def test_a_customers_name_on_the_maps_is_text_never_markup(world, browser, django_db_blocker):
    from dispatch.models import Order, OrderStatus
    from routing.models import PlanStop

    payload = '<img src=x onerror="window.__xss = 1">Mallory'
    with django_db_blocker.unblock(), schema_context(world.tenant.schema):
        ahead = PlanStop.objects.filter(
            route_id=world.route_ids[0], order__status=OrderStatus.DISPATCHED
        ).order_by("sequence")
        order = ahead.last().order  # one of the small stop circles on both maps
        before = order.customer_name
        Order.objects.filter(pk=order.pk).update(customer_name=payload)
    try:
        for who, url, stop in (
            (f"dispatcher@{world.prefix}.test", "/live/", "path.live-stop"),
            (f"driver@{world.prefix}.test", "/driver/", "path.driver-stop"),
        ):
            with csp_checked_page(browser, viewport={"width": 1440, "height": 900}) as page:
                sign_in(page, world.tenant, who)
                page.goto(f"{world.tenant.url}{url}")
                if url == "/driver/":
                    page.get_by_role("tab", name="Map").click()
                page.locator(stop).first.wait_for()
                # every stop's tooltip opened, as a pointer over each circle opens it
                shown = page.eval_on_selector_all(
                    stop,
                    """els => els.map(el => {
                        el.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
                        const tips = document.querySelectorAll(".leaflet-tooltip");
                        const text = Array.from(tips, tip => tip.innerText).join(" | ");
                        el.dispatchEvent(new MouseEvent("mouseout", {bubbles: true}));
                        return text;
                    })""",
                )
                assert any(payload in text for text in shown), (who, shown)  # the letters
                assert page.locator(".leaflet-tooltip img").count() == 0
                assert page.evaluate("window.__xss") is None
    finally:
        with django_db_blocker.unblock(), schema_context(world.tenant.schema):
            Order.objects.filter(pk=order.pk).update(customer_name=before)
