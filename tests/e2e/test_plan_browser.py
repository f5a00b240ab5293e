"""The dispatcher plans a day in the browser: 60 orders, 4 vans, the board with the
routes on the map and the timeline, a stop moved with the keyboard (the board's move
form), the plan published after a confirmation."""

from __future__ import annotations

import re

from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in
from tests.routing.factories import DAY, make_fleet_day


def test_plan_a_day_see_the_routes_move_a_stop_and_publish(
    live_server_url, django_db_blocker, page
):
    from dispatch.models import Order, OrderStatus
    from routing.models import Plan, PlanStop

    tenant = live_tenant(django_db_blocker, live_server_url, "planner")
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        # 35 items per van and about 120 items in all: the day needs every van
        fleet = make_fleet_day("pb", vans=4, orders=60, capacity_items=35, spread=0.06)
    sign_in(page, tenant, tenant.owner_email)
    page.get_by_role("link", name="Plans").click()
    one_day = page.get_by_role("region", name="Plan a day")  # not "Plan several days"
    one_day.get_by_label("Date").fill(DAY.isoformat())
    one_day.get_by_label("Depot").select_option(label=fleet.depot.name)
    one_day.get_by_label("Optimiser time (seconds)").fill("2")
    one_day.get_by_role("button", name="Plan", exact=True).click()

    page.locator("#plan-status").get_by_text("Done").wait_for(timeout=60_000)
    page.locator("#board-map[data-paths='4']").wait_for(state="attached")  # 4 routes drawn
    assert page.locator("path.board-path").count() >= 4
    assert page.locator(".board-pin").count() == 60  # one numbered pin per stop
    assert page.locator(".tl-row").count() == 4

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        plan = Plan.objects.get()
        routes = list(plan.routes.order_by("pk"))
        source, target = routes[0], routes[1]
        moving = source.stops.exclude(order=None).order_by("sequence").first().order_id

    # the keyboard's way: focus the stop, Enter, choose the route and the place, Move
    page.locator(f"#board-stop-{moving}").focus()
    page.keyboard.press("Enter")
    page.get_by_label("Move to").select_option(str(target.pk))
    page.get_by_label("at stop").fill("1")
    page.locator("#board-move-form").get_by_role("button", name="Move").click()
    # a van full to its 35 items: the move would overload it, so the board asks first
    kept = page.locator("#board-notice", has_text=f"Order #{moving} is on")
    page.locator("#board-preview").or_(kept).first.wait_for()
    overloaded = page.locator("#board-preview").is_visible()
    if overloaded:
        assert "capacity" in page.locator("#board-preview").inner_text()
        page.get_by_role("button", name="Keep the move").click()
    kept.wait_for()
    first_row = page.locator(f"#board-route-{target.pk} .board-stop[data-order]").first
    assert first_row.get_attribute("id") == f"board-stop-{moving}"

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Publish to drivers").click()
    page.get_by_text("Published: drivers have their routes.").wait_for()
    # publishing asks first, and says so when a route carries a warning
    expected = "Warnings on the routes: 1;" if overloaded else "Publish 4 routes to the drivers?"
    assert asked and expected in asked[0]
    assert page.locator(f"#board-route-{target.pk}").get_by_text(re.compile(r"v1")).count() == 1
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        on_routes = PlanStop.objects.filter(route__plan=plan).exclude(order=None)
        assert on_routes.count() == 60
        assert PlanStop.objects.get(route=target, sequence=1).order_id == moving
        statuses = set(
            Order.objects.filter(pk__in=on_routes.values("order")).values_list("status", flat=True)
        )
        assert statuses == {OrderStatus.DISPATCHED}
