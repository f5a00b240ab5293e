"""Every dashboard page an owner opens fits a phone's screen (390x844: no sideways
scrolling, the navigation behind a menu button that opens) and a desktop's (1440x900),
and reads as people write: kilometres and minutes, names instead of actor ids."""

from __future__ import annotations

import re

import pytest
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD
from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in
from tests.routing.factories import DAY, make_fleet_day

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
#: What a page must not show: raw metres and seconds ("103014 m", "1712 s"; the solver's
#: own "1.02 s" may stay), actor ids ("user:…", "driver:3").
RAW = re.compile(
    r"(?<![\d.,])\d{3,}\sm\b|(?<![\d.,])\d{2,}\ss\b|\b(?:user|driver|api_key|system):\S+"
)
WIDTH = "[document.documentElement.scrollWidth, window.innerWidth]"
#: For a failure's message: the outermost elements that stick out on the right, unless a
#: scrolling or clipping box (a card, a map) holds them.
STICKING_OUT = """() => {
  function clipped(el) {
    let reached = !["absolute", "fixed"].includes(getComputedStyle(el).position);
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (!reached && style.position !== "static") reached = true;
      if (reached && style.overflowX !== "visible") return true;
    }
    return false;
  }
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.getBoundingClientRect().right <= window.innerWidth + 1 || clipped(el)) continue;
    if (out.some((o) => o.contains(el))) continue;
    out.push(el);
  }
  return out.slice(0, 3).map((el) => el.outerHTML.slice(0, 80));
}"""


def _seed(tenant) -> dict[str, str]:
    """A business with a day of orders planned, published and started, a CSV import
    and a webhook; returns the URLs of its detail pages."""
    from accounts.services import user_create
    from dispatch.models import Order, OrderStatus
    from dispatch.services.csv_io import csv_import_start
    from dispatch.services.orders import order_transition
    from routing.models import Plan
    from routing.services import plans
    from routing.services.publish import plan_publish
    from webhooks.models import Subscription

    key = tenant.provisioned.api_key
    with schema_context(tenant.schema):
        user_create(
            email="maria@readable.test", password=PASSWORD, role="dispatcher", name="Maria Lind"
        )
        fleet = make_fleet_day("rd", vans=2, orders=8)
        Order.objects.filter(pk=fleet.orders[0].pk).update(
            customer_phone="+442079460958", customer_name="Wilhelmina Featherstonehaugh-Smythe"
        )
        fleet.drivers[0].phone = "+447700900123"
        fleet.drivers[0].save(update_fields=["phone"])
        Order.objects.filter(pk=fleet.orders[1].pk).update(
            address_line1="Flat 12B, Somerset House Apartments, 150 Strand Embankment Road"
        )
        first = fleet.orders[0]
        order_transition(order=first, to=OrderStatus.CANCELLED, actor=f"api_key:{key.prefix}")
        plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        plan_publish(plan=plan, actor="user:maria@readable.test")
        route = plan.routes.exclude(stops=None).order_by("pk").first()
        stop = route.stops.exclude(order=None).order_by("sequence").first()
        order_transition(
            order=stop.order, to=OrderStatus.EN_ROUTE, actor=f"driver:{route.driver_id}"
        )
        upload = csv_import_start(
            filename="orders.csv",
            content="name,address,city,date\nAda,1 Long Lane,London,2030-01-02\n",
        )
        hook = Subscription.objects.create(
            url="https://hooks.example.com/dispatch/orders",
            events=["order.created"],
            created_by=f"user:{tenant.owner_email}",
        )
        return {
            "order": f"/orders/{stop.order_id}/",
            "cancelled": f"/orders/{first.pk}/",
            "order_edit": f"/orders/{stop.order_id}/edit/",
            "order_new": "/orders/new/",
            "plan": f"/plans/{plan.pk}/",
            "board": f"/plans/{plan.pk}/board",
            "route_sheet": f"/plans/{plan.pk}/routes/{route.pk}/sheet",
            "depot": f"/fleet/depots/{fleet.depot.pk}/",
            "vehicle": f"/fleet/vehicles/{fleet.vans[0].pk}/",
            "driver": f"/fleet/drivers/{fleet.drivers[0].pk}/",
            "driver_new": "/fleet/drivers/new/",
            "import": f"/imports/{upload.pk}/",
            "webhook": f"/settings/webhooks/{hook.pk}/",
        }


def _nav_links(page) -> list[str]:
    """The paths of every link in the top bar's navigation and the owner's menu."""
    hrefs = page.locator(".topbar nav a, .topbar .account a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return [h for h in hrefs if h and h.startswith("/")]


def test_every_dashboard_page_fits_a_phone_and_a_desktop(
    live_server_url, django_db_blocker, browser
):
    tenant = live_tenant(django_db_blocker, live_server_url, "readable")
    with django_db_blocker.unblock():
        details = _seed(tenant)

    with csp_checked_page(browser, viewport=DESKTOP) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.locator(".topbar nav").wait_for()
        # the desktop shows the bar as it is (once the stylesheet applies: wait, not a glance)
        page.locator(".menu-toggle").wait_for(state="hidden")
        assert (
            page.locator(".topbar nav").get_by_role("link", name="Orders", exact=True).is_visible()
        )
        paths = list(dict.fromkeys([*_nav_links(page), *details.values()]))
        assert len(paths) >= 25, paths
        desktop_wide = []
        for path in paths:
            response = page.goto(f"{tenant.url}{path}")
            assert response.ok, (path, response.status)
            scroll, inner = page.evaluate(WIDTH)
            if scroll > inner:
                desktop_wide.append((path, scroll))
        assert not desktop_wide, f"wider than 1440 px: {desktop_wide}"

    with csp_checked_page(browser, viewport=PHONE, has_touch=True) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.locator(".topbar").wait_for()
        too_wide, unreadable = [], []
        for path in paths:
            response = page.goto(f"{tenant.url}{path}")
            assert response.ok, (path, response.status)
            scroll, inner = page.evaluate(WIDTH)
            if max(scroll, inner) > PHONE["width"]:
                too_wide.append((path, scroll, page.evaluate(STICKING_OUT)))
            found = RAW.findall(page.locator("main").inner_text())
            if found:
                unreadable.append((path, found))
        assert not too_wide, f"wider than the phone's 390 px: {too_wide}"
        assert not unreadable, f"raw units or actor ids: {unreadable}"

        # the menu: hidden until the button opens it, then every page is a tap away
        page.goto(f"{tenant.url}/orders/")
        orders = page.locator(".topbar nav").get_by_role("link", name="Orders", exact=True)
        assert orders.is_hidden()
        toggle = page.get_by_role("button", name="Menu")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        for name in ("Overview", "Orders", "Plans", "Live map", "Reports", "Drivers"):
            assert (
                page.locator(".topbar nav").get_by_role("link", name=name, exact=True).is_visible()
            ), name
        assert page.locator(".topbar .account").get_by_role("link", name="Audit log").is_visible()
        assert page.get_by_role("button", name="Sign out").is_visible()
        assert page.evaluate(WIDTH)[0] <= PHONE["width"]
        page.locator(".topbar nav").get_by_role("link", name="Plans", exact=True).click()
        page.wait_for_url(f"{tenant.url}/plans/")
        assert page.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "false"


def test_histories_name_who_acted_and_distances_read_in_km(
    live_server_url, django_db_blocker, browser
):
    tenant = live_tenant(django_db_blocker, live_server_url, "named")
    with django_db_blocker.unblock():
        details = _seed(tenant)
    with csp_checked_page(browser, viewport=DESKTOP) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.goto(f"{tenant.url}{details['order']}")
        history = page.locator("#order-history").inner_text()
        assert "Maria Lind (dispatcher)" in history
        assert re.search(r"rd driver \d \(driver\)", history), history
        page.goto(f"{tenant.url}{details['plan']}")
        summary = page.locator("section.route p.muted").first.inner_text()
        assert re.search(r"\d+\.\d\skm|\d+\sm\b", summary), summary
        page.goto(f"{tenant.url}/settings/audit/")
        who = page.locator("#audit-log tbody td:nth-child(3)").all_inner_texts()
        assert "owner@named.test (owner)" in who, who
        page.goto(f"{tenant.url}{details['cancelled']}")
        assert "API key 'First key'" in page.locator("#order-history").inner_text()
