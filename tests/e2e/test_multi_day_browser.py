"""The dispatcher plans three days at once in the browser: the orders that may wait go to
the days with room, each day is a plan of its own, and one day is published alone."""

from __future__ import annotations

import datetime as dt
import os

from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in
from tests.routing.test_multi_day import FIRST, _week

SHOTS = os.environ.get("SCREENSHOT_DIR")  # set to look at the pages (1440x900, 390x844)


def _shoot(page, name: str) -> None:
    if not SHOTS:
        return
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_plan_several_days_and_publish_one(live_server_url, django_db_blocker, page):
    from dispatch.models import OrderStatus
    from routing.models import MultiDayPlan

    tenant = live_tenant(django_db_blocker, live_server_url, "multiday")
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        fixed, second, flexible, _ = _week("mdb")
    sign_in(page, tenant, tenant.owner_email)
    page.get_by_role("link", name="Plans").click()
    form = page.locator("#plan-several-days")
    _shoot(page, "multi-day-form")
    form.get_by_label("First day").fill(FIRST.isoformat())
    form.get_by_label("Days").fill("3")
    form.get_by_label("Optimiser time (seconds)").fill("2")
    form.get_by_role("button", name="Plan the days").click()

    # jobs run inline in the test server: the days page opens on the solved plan
    page.locator("#multi-day-status").get_by_text("Done").wait_for(timeout=60_000)
    rows = page.locator("#multi-day-days tbody tr")
    assert rows.count() == 3
    days = [FIRST + dt.timedelta(days=k) for k in range(3)]
    assert [rows.nth(k).get_attribute("data-day") for k in range(3)] == [
        d.isoformat() for d in days
    ]
    counts = [int(rows.nth(k).locator("td.num").first.inner_text()) for k in range(3)]
    assert counts[0] == len(fixed) and sum(counts) == len(fixed) + 1 + len(flexible)
    assert page.get_by_role("button", name="Publish").count() == 3
    _shoot(page, "multi-day-days")

    second_row = page.locator(f"#multi-day-days tr[data-day='{days[1].isoformat()}']")
    second_row.get_by_role("button", name="Publish").click()
    page.get_by_text("drivers have their routes").wait_for()
    second_row.get_by_text("Published").wait_for()
    assert page.get_by_role("button", name="Publish").count() == 2
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        multi = MultiDayPlan.objects.get()
        plans = list(multi.plans.order_by("date"))
        assert [p.is_published for p in plans] == [False, True, False]
        second.refresh_from_db()
        assert second.status == OrderStatus.DISPATCHED
        for order in flexible:
            order.refresh_from_db()
            assert days[0] < order.delivery_date <= days[2]

    # a day's plan is an ordinary plan, linked back to its days
    page.locator(f"#multi-day-days tr[data-day='{days[2].isoformat()}'] a").first.click()
    page.get_by_role("button", name="Publish to drivers").wait_for()
    page.get_by_role("link", name="One of several days planned together").click()
    page.locator("#multi-day-days").wait_for()


def test_an_order_gets_a_deliver_by_day_in_the_form(live_server_url, django_db_blocker, page):
    from dispatch.models import Order
    from tests.conftest import tenant_today

    tenant = live_tenant(django_db_blocker, live_server_url, "deliverby")
    sign_in(page, tenant, tenant.owner_email)
    page.goto(f"{tenant.url}/orders/new/")
    page.get_by_label("Customer name").fill("Flex Ible")
    page.locator("#id_address_line1").fill("1 High Street")
    page.locator("#id_lat").fill("51.5")
    page.locator("#id_lng").fill("-0.12")
    page.get_by_label("Delivery date").fill(tenant_today(3).isoformat())
    page.get_by_label("Deliver by").fill(tenant_today(2).isoformat())  # before: refused
    page.get_by_role("button", name="Create order").click()
    page.get_by_text("The last day to deliver is before the delivery date.").wait_for()
    page.get_by_label("Deliver by").fill(tenant_today(6).isoformat())
    _shoot(page, "order-form-deliver-by")
    page.get_by_role("button", name="Create order").click()
    page.get_by_text("for Flex Ible created.").wait_for()
    page.locator("#order-deliver-by").wait_for()
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert Order.objects.get(customer_name="Flex Ible").latest_date == tenant_today(6)
    page.get_by_role("link", name="Orders", exact=True).first.click()
    page.get_by_label("Day").select_option("true")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("tbody tr", has_text="Flex Ible")
    row.wait_for()
    assert f"by {tenant_today(6):%a}, {tenant_today(6).day} " in row.inner_text()
    page.get_by_label("Day").select_option("false")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("0 orders").wait_for()
