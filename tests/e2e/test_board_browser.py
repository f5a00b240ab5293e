"""The dispatch board in Chromium: stops dragged between routes and from the pool (each
drop re-timed and saved, or shown first when it breaks a rule), two dispatchers on one
day (one's change reaches the other; a change made on a stale view is refused with the
fresh plan), and the map following a driver as their phone reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import requests
from django_tenants.utils import schema_context
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import LiveTenant, csp_checked_page, live_tenant, sign_in
from tests.routing.factories import DAY, make_fleet_day


@dataclass
class BoardDay:
    tenant: LiveTenant
    prefix: str
    plan_id: int
    routes: list[int]
    pooled: int  # an order waiting in the plan's pool

    @property
    def dispatcher(self) -> str:
        return f"dispatcher@{self.prefix}.test"

    @property
    def board(self) -> str:
        return f"{self.tenant.url}/plans/{self.plan_id}/board"


def make_board_day(django_db_blocker, server_url: str, prefix: str) -> BoardDay:
    """Two vans and eight orders solved on straight lines (four stops a van at most, so
    that both go out; no limit after); one order taken off to the pool."""
    from dispatch.models import Vehicle
    from routing.models import Plan
    from routing.services import edits, plans

    tenant = live_tenant(
        django_db_blocker, server_url, prefix, users=((f"dispatcher@{prefix}.test", "dispatcher"),)
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        fleet = make_fleet_day(prefix, vans=2, orders=8, spread=0.01)
        Vehicle.objects.filter(pk__in=[v.pk for v in fleet.vans]).update(max_stops=4)
        plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        routes = list(plan.routes.order_by("pk"))
        assert all(r.stops.exists() for r in routes), "both vans should have stops"
        Vehicle.objects.filter(pk__in=[v.pk for v in fleet.vans]).update(max_stops=None)
        pooled = routes[0].stops.exclude(order=None).order_by("-sequence").first().order_id
        edits.stop_move(plan=plan, order_id=pooled, route_id=None)
    return BoardDay(tenant, prefix, plan.pk, [r.pk for r in routes], pooled)


def drag(page, source, target, *, below: bool = False) -> None:
    """Drag `source` onto `target` with the mouse, in small steps, as a hand would (the
    board's lists drag with SortableJS' pointer-driven mode): dropped on the upper half of
    `target` it goes before it, on the lower half after it."""
    for attempt in range(3):
        try:
            target.scroll_into_view_if_needed()
            source.scroll_into_view_if_needed()
            break
        except PlaywrightError as error:  # the board drew its lists again (a live update)
            if "not attached" not in str(error) or attempt == 2:
                raise
    a = source.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(a["x"] + a["width"] / 2 + 6, a["y"] + a["height"] / 2 + 6, steps=3)
    b = target.bounding_box()  # where it is now that the stop is held, as an eye would
    x = b["x"] + b["width"] / 2
    page.mouse.move(x, b["y"] + b["height"] / 2, steps=20)
    page.mouse.move(x, b["y"] + b["height"] * (0.9 if below else 0.1), steps=5)
    page.mouse.up()


def open_board(page, day: BoardDay, email: str | None = None) -> None:
    sign_in(page, day.tenant, email or day.dispatcher)
    page.goto(day.board)
    page.locator("#board-map[data-pins]").wait_for(state="attached")
    page.locator("#board-live", has_text="Live").wait_for()


def stop_in(day: BoardDay, order_id: int):
    """(route id or None, sequence) of the order in the plan, as stored."""
    from routing.models import PlanStop

    stop = PlanStop.objects.filter(route__plan_id=day.plan_id, order_id=order_id).first()
    return (stop.route_id, stop.sequence) if stop else (None, None)


def test_a_stop_dragged_to_another_route_and_one_from_the_pool_are_re_timed_and_saved(
    live_server_url, django_db_blocker, browser
):
    from routing.models import Plan, PlanRoute, PlanStop

    day = make_board_day(django_db_blocker, live_server_url, "boarddrag")
    source, target = day.routes
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        moving = PlanStop.objects.filter(route_id=source).exclude(order=None).order_by("sequence")
        moving = moving.first().order_id
        ends_before = PlanRoute.objects.get(pk=target).ends_at
        revision = Plan.objects.get(pk=day.plan_id).revision
    with csp_checked_page(browser, viewport={"width": 1440, "height": 900}) as page:
        open_board(page, day)
        _drag_to_route_then_from_the_pool(
            page, django_db_blocker, day, moving, ends_before, revision
        )


def _drag_to_route_then_from_the_pool(page, django_db_blocker, day, moving, ends_before, revision):
    from dispatch.models import Order
    from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
    from tenants.models import Tenant
    from tenants.services.formats import Formats

    source, target = day.routes

    first_of_target = page.locator(f"#board-route-{target} .board-stop[data-order]").first
    drag(page, page.locator(f"#board-stop-{moving}"), first_of_target)
    page.locator("#board-notice", has_text="route; it now ends at").wait_for()
    # saved where the hand let it go (at the top, or just after the first stop)
    shown = page.locator(f"#board-route-{target} .board-stop").evaluate_all(
        "items => items.map(i => i.dataset.order || 'break')"
    )
    place = shown.index(str(moving)) + 1
    assert place <= 2
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        assert stop_in(day, moving) == (target, place)
        stored = PlanStop.objects.get(order_id=moving, route_id=target)
        route = PlanRoute.objects.get(pk=target)
        assert route.ends_at > ends_before  # one more stop: the route was re-timed
        formats = Formats.of(Tenant.objects.get(schema_name=day.tenant.schema))
        shown = formats.time(stored.starts_at)
        assert Plan.objects.get(pk=day.plan_id).revision > revision
    # the list shows the stop's new time, as stored
    assert page.locator(f"#board-stop-{moving} .eta").inner_text() == shown

    # from the pool onto the end of the first route
    last_of_source = page.locator(f"#board-route-{source} .board-stop[data-order]").last
    drag(page, page.locator(f"#board-stop-{day.pooled}"), last_of_source, below=True)
    page.locator(f"#board-route-{source} #board-stop-{day.pooled}").wait_for()
    page.locator("#board-notice", has_text=f"Order #{day.pooled} is on").wait_for()
    shown = page.locator(f"#board-route-{source} .board-stop").evaluate_all(
        "items => items.map(i => i.dataset.order || 'break')"
    )
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        route_id, sequence = stop_in(day, day.pooled)
        assert route_id == source
        assert sequence == shown.index(str(day.pooled)) + 1  # where the list shows it
        assert sequence >= PlanStop.objects.filter(route_id=source).count() - 1  # at the end
        assert not PlanUnassigned.objects.filter(plan_id=day.plan_id, order_id=day.pooled).exists()

    # a drop that breaks a rule is shown first; nothing is saved until it is kept
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        tight = Order.objects.get(pk=moving)
        tight.time_windows = [{"start": "06:00", "end": "06:05"}]  # before the vans leave
        tight.save(update_fields=["time_windows"])
    page.reload()
    page.locator("#board-map[data-pins]").wait_for(state="attached")
    drag(page, page.locator(f"#board-stop-{moving}"), last_of_source, below=True)
    preview = page.locator("#board-preview")
    preview.wait_for()
    assert f"Order #{moving}: outside its time window" in preview.inner_text()
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        assert stop_in(day, moving) == (target, place)  # not saved yet
    page.get_by_role("button", name="Keep the move").click()
    page.locator("#board-notice", has_text=f"Order #{moving} is on").wait_for()
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        assert stop_in(day, moving)[0] == source
        kinds = {(v["kind"], v["order"]) for v in PlanRoute.objects.get(pk=source).violations}
        assert ("time_window", moving) in kinds
    assert page.locator(f"#board-stop-{moving}.state-late").count() == 1


def test_two_dispatchers_on_one_day_see_each_others_changes_and_a_stale_one_is_refused(
    live_server_url, django_db_blocker, browser
):
    from routing.models import PlanStop

    day = make_board_day(django_db_blocker, live_server_url, "boardtwo")
    first, second = day.routes
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        ones = list(
            PlanStop.objects.filter(route_id=first).exclude(order=None).order_by("sequence")
        )
        twos = list(
            PlanStop.objects.filter(route_id=second).exclude(order=None).order_by("sequence")
        )
    held = {"on": False, "messages": []}

    def partition(ws) -> None:  # the second dispatcher's socket, which the test can hold up
        server = ws.connect_to_server()
        server.on_message(lambda m: held["messages"].append(m) if held["on"] else ws.send(m))

    with (
        csp_checked_page(browser, viewport={"width": 1440, "height": 900}) as alice,
        csp_checked_page(browser, viewport={"width": 1440, "height": 900}) as bob,
    ):
        bob.route_web_socket("**/ws/dispatch/", partition)
        open_board(alice, day, day.tenant.owner_email)
        open_board(bob, day)

        # Alice moves a stop to the second route: Bob's board shows it without a reload
        drag(
            alice,
            alice.locator(f"#board-stop-{ones[0].order_id}"),
            alice.locator(f"#board-stop-{twos[0].order_id}"),
        )
        alice.locator("#board-notice", has_text="it now ends at").wait_for()
        bob.locator(f"#board-route-{second} #board-stop-{ones[0].order_id}").wait_for()
        assert bob.get_attribute("#board", "data-revision") == alice.get_attribute(
            "#board", "data-revision"
        )

        # Bob's view goes stale (his socket is held up) while Alice moves another stop
        held["on"] = True
        drag(
            alice,
            alice.locator(f"#board-stop-{twos[-1].order_id}"),
            alice.locator(f"#board-stop-{ones[-1].order_id}"),
            below=True,
        )
        alice.locator(f"#board-route-{first} #board-stop-{twos[-1].order_id}").wait_for()
        assert bob.locator(f"#board-route-{second} #board-stop-{twos[-1].order_id}").count() == 1
        with django_db_blocker.unblock(), schema_context(day.tenant.schema):
            before = stop_in(day, ones[1].order_id)

        # Bob's move, made on what he saw, is refused; his board now shows the plan as it is
        drag(
            bob,
            bob.locator(f"#board-stop-{ones[1].order_id}"),
            bob.locator(f"#board-stop-{twos[0].order_id}"),
        )
        bob.locator("#board-notice", has_text="Someone else changed this plan first").wait_for()
        bob.locator(f"#board-route-{first} #board-stop-{twos[-1].order_id}").wait_for()
        assert bob.locator(f"#board-route-{first} #board-stop-{ones[1].order_id}").count() == 1
        with django_db_blocker.unblock(), schema_context(day.tenant.schema):
            assert stop_in(day, ones[1].order_id) == before  # nothing overwritten
        assert bob.get_attribute("#board", "data-revision") == alice.get_attribute(
            "#board", "data-revision"
        )


def test_the_board_follows_a_driver_as_the_phone_reports(live_server_url, django_db_blocker, page):
    from accounts.models import User
    from dispatch.services.orders import order_transition
    from routing.models import Plan
    from routing.services import publish
    from tenants.models import Tenant
    from tracking.services.day import duty_set
    from tracking.services.tokens import driver_token

    day = make_board_day(django_db_blocker, live_server_url, "boardfollow")
    driver_email = f"driver@{day.prefix}.test"
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        from accounts.services import user_create
        from tests.conftest import PASSWORD

        user = user_create(email=driver_email, password=PASSWORD, role="driver")
        plan = Plan.objects.get(pk=day.plan_id)
        publish.plan_publish(plan=plan, actor="test")
        zone = ZoneInfo(Tenant.objects.get(schema_name=day.tenant.schema).time_zone)
        Plan.objects.filter(pk=plan.pk).update(date=dt.datetime.now(zone).date())
        route = plan.routes.order_by("pk").first()
        first_stop = route.stops.exclude(order=None).order_by("sequence").first()
        order_transition(order=first_stop.order, to="en_route", actor="test")
        driver = route.driver
        driver.user = User.objects.get(pk=user.pk)
        driver.save()
        duty_set(driver=driver, on_duty=True)
        token = driver_token(schema=day.tenant.schema, driver_id=driver.pk, user_id=user.pk)
        depot = route.vehicle.start_depot
    open_board(page, day)
    page.locator(f"#board-stop-{first_stop.order_id}.state-en_route").wait_for()
    page.locator(f"[data-follow-driver='{driver.pk}']").click()
    assert page.locator(f"#board-route-{route.pk}.is-followed").count() == 1

    def ping(lat: float, lng: float) -> None:
        response = requests.post(
            f"http://127.0.0.1:{day.tenant.port}/api/v1/driver/pings",
            json={
                "fixes": [
                    {"t": int(dt.datetime.now(dt.UTC).timestamp() * 1000), "lat": lat, "lng": lng}
                ]
            },
            headers={"Authorization": f"Driver {token}", "Host": day.tenant.host},
            timeout=10,
        )
        assert response.status_code == 200, response.text

    centre = "() => document.getElementById('board-map').dataset.center"
    for k in range(1, 4):  # the van drives off north-east; the map keeps it in the middle
        lat, lng = depot.lat + 0.01 * k, depot.lng + 0.015 * k
        ping(lat, lng)
        page.wait_for_function(
            "([id, lat]) => { const v = document.querySelector(`.board-van[data-driver='${id}']`);"
            " return v && Math.abs(Number(v.dataset.lat) - lat) < 1e-9; }",
            arg=[driver.pk, lat],
        )
        page.wait_for_function(
            f"([lat, lng]) => {{ const c = ({centre})(); if (!c) return false;"
            " const [a, b] = c.split(',').map(Number);"
            " return Math.abs(a - lat) < 0.002 && Math.abs(b - lng) < 0.003; }",
            arg=[lat, lng],
        )
    # following stops when the dispatcher fits the day again
    page.get_by_role("button", name="Fit the day").click()
    assert page.locator(f"#board-route-{route.pk}.is-followed").count() == 0
    ping(depot.lat + 0.05, depot.lng + 0.05)
    page.wait_for_function(
        "([id, lat]) => { const v = document.querySelector(`.board-van[data-driver='${id}']`);"
        " return v && Math.abs(Number(v.dataset.lat) - lat) < 1e-9; }",
        arg=[driver.pk, depot.lat + 0.05],
    )
    c = [float(x) for x in page.evaluate(centre).split(",")]
    assert abs(c[0] - (depot.lat + 0.05)) > 0.005  # not followed any more
