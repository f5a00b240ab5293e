"""The operations overview in the browser, on a laptop and a phone: today's numbers, and
a late stop or a driver opens the board on it."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in
from tests.tracking.overview_day import EXPECTED, make_overview_day

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["laptop", "phone"])
def test_the_overview_counts_the_day_and_opens_the_board_on_a_stop_or_a_driver(
    live_server_url, django_db_blocker, browser, viewport
):
    from django.utils import timezone

    tenant = live_tenant(django_db_blocker, live_server_url, "ops")
    zone = tenant.provisioned.tenant.time_zone
    today = timezone.localdate(timezone=ZoneInfo(zone))
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        day = make_overview_day("ops", day=today, zone=zone)
        make_overview_day("next", day=today + dt.timedelta(days=1), zone=zone)
        route = day.plan.routes.get(driver=day.drivers[1])
    late, driver = day.orders["late"], day.drivers[1]
    board = re.escape(f"/plans/{day.plan.pk}/board")

    width, height = viewport
    with csp_checked_page(browser, viewport={"width": width, "height": height}) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.get_by_role("heading", name=re.compile(r"^Today")).wait_for()
        numbers = {
            name: int(page.locator(f'[data-stat="{name}"]').inner_text()) for name in EXPECTED
        }
        assert numbers == EXPECTED
        assert _no_sideways_scroll(page)
        alerts = page.locator("#ov-alerts li")
        assert alerts.count() == 3
        assert "ops late" in alerts.first.inner_text()
        assert page.locator("#ov-tomorrow-title").is_visible()

        alerts.first.get_by_role("link").click()
        page.wait_for_url(re.compile(rf"{board}\?focus={late.pk}$"))
        page.locator(f"#board-stop-{late.pk}").wait_for(state="attached")

        page.go_back()
        page.locator(f'#ov-drivers a[data-driver="{driver.pk}"]').click()
        page.wait_for_url(re.compile(rf"{board}\?follow={driver.pk}$"))
        page.locator(f"#board-route-{route.pk}").wait_for(state="attached")
