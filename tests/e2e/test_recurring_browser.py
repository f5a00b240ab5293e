"""A dispatcher makes a weekly recurring order in the browser: the rule builder's live
preview shows the next days, the schedule's page lists them with the orders made, one day
is skipped (its order cancelled), and the orders are in the order list."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in

pytestmark = pytest.mark.browser

#: Set to a folder to keep screenshots of the pages (desktop and phone) for a look.
SHOTS = os.environ.get("RECURRING_SCREENSHOTS")


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_dispatcher_makes_a_weekly_schedule_skips_a_day_and_sees_the_orders(
    live_server_url, browser, django_db_blocker
):
    from dispatch.models import Order

    tenant = live_tenant(
        django_db_blocker, live_server_url, "recur", users=(("d@recur.test", "dispatcher"),)
    )
    first = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)  # the tenant's zone: UTC
    second = first + dt.timedelta(weeks=1)
    weekday = first.strftime("%a")  # the chip's label: Mon, Tue...
    for viewport in ({"width": 1440, "height": 900}, {"width": 390, "height": 844}):
        with csp_checked_page(browser, viewport=viewport) as page:
            sign_in(page, tenant, "d@recur.test")
            if viewport["width"] == 1440:
                page.get_by_role("link", name="Recurring", exact=True).click()
            else:
                page.goto(f"{tenant.url}/recurring/")
            page.get_by_role("heading", name="Recurring orders").wait_for()
            _shot(page, f"list-empty-{viewport['width']}")
            if viewport["width"] == 1440:
                _make_schedule(page, weekday=weekday, first=first, second=second)
            else:  # the phone: the pages made above, as they look there
                page.get_by_role("link", name="Café Rosa bread").click()
                page.get_by_role("heading", name="Next days").wait_for()
                _shot(page, "detail-390")
                page.get_by_role("link", name="Edit").click()
                page.locator("#preview-days li").first.wait_for()
                _shot(page, "form-390")
                page.goto(f"{tenant.url}/recurring/")
                _shot(page, "list-390")

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        made = dict(Order.objects.filter(source="recurring").values_list("delivery_date", "status"))
    assert made == {first: "unassigned", second: "cancelled"}


def _make_schedule(page, *, weekday: str, first: dt.date, second: dt.date) -> None:
    page.get_by_text("No recurring orders yet").wait_for()
    page.get_by_role("link", name="New recurring order").click()
    page.get_by_label("Schedule name").fill("Café Rosa bread")
    page.locator(".day-chip", has_text=weekday).click()
    page.get_by_label("Days ahead").fill("14")
    # the live preview: six days a week apart, the first tomorrow
    days = page.locator("#preview-days li")
    days.nth(5).wait_for()
    assert days.count() == 6
    assert first.strftime("%A") in days.first.inner_text()
    assert str(first.day) in days.first.inner_text()
    # an advanced rule that cannot be a schedule is said so, live
    page.get_by_text("Advanced: RRULE", exact=True).click()
    page.get_by_label("Rule (RRULE)").fill("FREQ=HOURLY")
    page.locator("#preview-errors").get_by_text("more than once a day").wait_for()
    page.get_by_label("Rule (RRULE)").fill("")
    days.nth(5).wait_for()
    page.get_by_label("Customer name:", exact=True).fill("Café Rosa")
    page.get_by_label("Address:", exact=True).fill("1 High Street")
    page.get_by_label("Latitude:", exact=True).fill("51.5")
    page.get_by_label("Longitude:", exact=True).fill("-0.1")
    page.get_by_label("Window from:", exact=True).fill("09:00")
    page.get_by_label("Window until:", exact=True).fill("12:00")
    _shot(page, "form-1440")
    page.get_by_role("button", name="Create schedule").click()
    page.get_by_text("2 orders made for the next 14 days").wait_for()
    rows = page.locator("#next-days tbody tr")
    assert re.search(r"#\d+", rows.nth(0).inner_text()) and "Unassigned" in rows.nth(0).inner_text()
    assert re.search(r"#\d+", rows.nth(1).inner_text())
    _shot(page, "detail-1440")

    page.locator(f"#day-{second.isoformat()}").get_by_role("button", name="Skip").click()
    page.get_by_text("1 order cancelled.").wait_for()
    skipped = page.locator(f"#day-{second.isoformat()}")
    assert "skipped" in skipped.inner_text()
    assert skipped.get_by_role("button", name="Undo skip").is_visible()
    assert page.locator("#orders-made tbody tr").count() == 1  # the skipped day's is gone

    page.get_by_role("link", name="Recurring", exact=True).click()
    row = page.locator("tr", has_text="Café Rosa bread")
    assert "(skipped)" in row.inner_text()
    _shot(page, "list-1440")

    page.get_by_role("link", name="Orders", exact=True).click()
    orders = page.get_by_role("table")
    orders.get_by_text("Café Rosa").first.wait_for()
    assert orders.get_by_text(re.compile(r"^recurring-\d+-")).count() == 2
    assert "Cancelled" in orders.inner_text()  # the skipped day's order
