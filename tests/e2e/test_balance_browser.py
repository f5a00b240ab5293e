"""The dispatcher asks for a balanced plan in the browser: on the issue's day (27 orders
that one driver could do alone, two drivers on shift) both drivers get work within the
tolerance, and the board says what the balance costs against the shortest plan."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in
from tests.routing.factories import DAY, make_fleet_day

#: Set to a directory to keep screenshots of the form and the board (phone and desktop).
SHOTS = os.environ.get("BALANCE_SCREENSHOTS")


def test_a_balanced_plan_is_made_and_its_cost_is_shown(live_server_url, django_db_blocker, browser):
    from routing.models import Plan, PlanRoute

    tenant = live_tenant(django_db_blocker, live_server_url, "balance")
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        fleet = make_fleet_day("bb", vans=2, orders=27, spread=0.01)
    for size in ((1440, 900), (390, 844)) if SHOTS else ((1440, 900),):
        with csp_checked_page(browser, viewport={"width": size[0], "height": size[1]}) as page:
            sign_in(page, tenant, tenant.owner_email)
            page.wait_for_url(lambda url: "/login/" not in url)
            page.goto(f"{tenant.url}/plans/")  # on a phone the menu folds the link away
            form = page.locator("form", has=page.locator("#id_depot"))  # "Plan a day"
            form.get_by_label("Date").fill(DAY.isoformat())
            form.get_by_label("Depot").select_option(label=fleet.depot.name)
            form.get_by_label("Optimiser time (seconds)").fill("2")
            form.get_by_label("Balance stops").check()
            form.get_by_label("Tolerance (±%)").fill("15")
            form.get_by_label("Use every driver on shift").check()
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / f"plan-form-{size[0]}.png"), full_page=True)
            form.get_by_role("button", name="Plan", exact=True).click()

            page.locator("#plan-status").get_by_text("Done").wait_for(timeout=60_000)
            line = page.locator("#plan-balance")
            line.wait_for()
            text = line.inner_text()
            assert "Balanced by stops (±15%), every driver used:" in text
            assert re.search(
                r"\+[\d.,]+\s(km|m), \+[\d\s]+(h|min).* against the shortest plan", text
            )
            low, high = map(int, re.search("stops per driver (\\d+)\u2013(\\d+)", text).groups())
            assert 11 <= low <= high <= 16  # 27 stops, two drivers, at most 16 each
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / f"board-{size[0]}.png"))

            with django_db_blocker.unblock(), schema_context(tenant.schema):
                plan = Plan.objects.latest("pk")
                counts = sorted(
                    r.stops.exclude(order=None).count() for r in PlanRoute.objects.filter(plan=plan)
                )
            assert counts == [low, high]
            # the table view lists each route's stops and working time
            page.goto(f"{tenant.url}/plans/{plan.pk}/")
            assert page.locator("#plan-balance").inner_text() == text
            assert page.get_by_text(re.compile(r"works \d")).count() == 2
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / f"detail-{size[0]}.png"))
