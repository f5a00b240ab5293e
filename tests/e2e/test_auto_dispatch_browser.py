"""The owner turns auto-dispatch on in the settings; during the running day an order that
fits on no route arrives by the API, and the alert appears on the open board at once
(the plan's new revision over the dispatch socket), then is marked seen."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in
from tests.e2e.test_auto_dispatch_worker import _running_day

pytestmark = pytest.mark.browser

#: Set to a directory to keep screenshots of the settings, the board and the overview.
SHOTS = os.environ.get("AUTO_DISPATCH_SCREENSHOTS")


def _api_order(tenant, data: dict) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{tenant.port}/api/v1/orders",
        data=json.dumps(data).encode(),
        method="POST",
        headers={
            "Host": tenant.host,
            "Content-Type": "application/json",
            "Authorization": f"Bearer {tenant.provisioned.api_key_secret}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["laptop", "phone"])
def test_auto_dispatch_is_turned_on_and_an_order_that_fits_nowhere_alerts_the_board(
    live_server_url, django_db_blocker, browser, viewport
):
    from tenants.models import Tenant

    tenant = live_tenant(django_db_blocker, live_server_url, "adb")
    with django_db_blocker.unblock():
        plan_id, today = _running_day(tenant.schema)
        Tenant.objects.filter(schema_name=tenant.schema).update(auto_dispatch=False)
    width, height = viewport
    shot = (lambda name: Path(SHOTS) / f"{name}-{width}.png") if SHOTS else None
    with csp_checked_page(browser, viewport={"width": width, "height": height}) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(f"{tenant.url}/settings/")
        section = page.locator("#dispatch")
        toggle = section.get_by_label("Auto-dispatch today's new orders")
        assert not toggle.is_checked()
        toggle.check()
        section.get_by_label("Plan and publish tomorrow at").check()
        section.get_by_label("Time (your time zone)").fill("18:30")
        if shot:
            section.scroll_into_view_if_needed()
            page.screenshot(path=str(shot("settings")))
        section.get_by_role("button", name="Save dispatch settings").click()
        page.get_by_text("Dispatch settings saved.").wait_for()
        assert (
            page.locator("#dispatch").get_by_label("Auto-dispatch today's new orders").is_checked()
        )
        assert page.locator("#id_auto_plan_at").input_value() == "18:30"
        with django_db_blocker.unblock():
            saved = Tenant.objects.get(schema_name=tenant.schema)
        assert saved.auto_dispatch and saved.auto_plan_at.strftime("%H:%M") == "18:30"

        # the overview, open in another tab, hears of the alert too
        overview = page.context.new_page()
        overview.goto(f"{tenant.url}/")
        overview.locator('[data-live-alerts][data-live="1"]').wait_for(state="attached")
        page.goto(f"{tenant.url}/plans/{plan_id}/board")
        # the dispatch socket is open (its status sits on the map, a tab away on a phone)
        expect(page.locator("#board-live")).to_have_text("Live", timeout=15_000)
        assert page.locator("#dispatch-alerts").count() == 0
        # more items than either van carries: it fits nowhere
        made = _api_order(
            tenant,
            {
                "customer_name": "Too Big Ltd",
                "address_line1": "9 Wide Road",
                "city": "London",
                "delivery_date": today.isoformat(),
                "lat": 51.5,
                "lng": -0.125,
                "items": 500,
            },
        )
        alert = page.locator("#dispatch-alerts")
        alert.get_by_text(
            re.compile(rf"Order #{made['id']} \(Too Big Ltd\): Not placed")
        ).wait_for()
        assert "too big for every vehicle" in alert.inner_text().lower()
        page.locator("#board-pool-holder").get_by_text("Too Big Ltd").wait_for()
        overview.locator("#dispatch-alerts").get_by_text("Too Big Ltd").wait_for()
        overview.close()
        if shot:
            page.screenshot(path=str(shot("board-alert")))
            page.goto(f"{tenant.url}/")
            page.locator("#dispatch-alerts").wait_for()
            page.screenshot(path=str(shot("overview-alert")), full_page=True)
            page.goto(f"{tenant.url}/plans/{plan_id}/board")

        page.locator("#dispatch-alerts").get_by_role("button", name="Seen").click()
        page.wait_for_url(re.compile(rf"/plans/{plan_id}/board$"))
        page.locator("#board-head").wait_for()
        assert page.locator("#dispatch-alerts").count() == 0
        page.goto(f"{tenant.url}/")
        page.get_by_role("heading", name=re.compile(r"^Today")).wait_for()
        assert page.locator("#dispatch-alerts").count() == 0
