"""A pickup-and-delivery pair on the road, in headless Chromium: the driver app shows the
pickup stop ("Pick up", "Picked up") and where its delivery is collected, the driver
picks the parcel up then delivers it, and the customer's tracking page says where it is
being collected from, then when it was collected; the pickup's own contact sees a
collection page."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from django_tenants.utils import schema_context

from tests.e2e.conftest import live_driver, wait_until
from tests.e2e.test_driver_app_browser import open_app, phone

#: Set to a directory to keep screenshots of the driver app and the tracking pages.
SHOTS = os.environ.get("PICKUP_SCREENSHOTS")


def shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def pair_on_route(django_db_blocker, url: str, prefix: str):
    """A published route for the driver: a pickup (stop 1), its delivery (stop 2) and a
    plain order (stop 3). Returns (tenant, pickup id, delivery id, tracking links)."""
    from dispatch.models import OrderStatus
    from dispatch.services.orders import order_create, order_transition
    from routing.models import Plan, PlanRoute, PlanStop
    from routing.services.routes import version_create
    from tracking.services.day import tracking_link_for

    tenant, driver, van = live_driver(django_db_blocker, url, prefix)
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        today = dt.date.today()
        delivery = order_create(
            {
                "customer_name": "Ada Receiver",
                "address_line1": "5 Delivery Road",
                "lat": 51.52,
                "lng": -0.11,
                "delivery_date": today,
                "pickup": {
                    "name": "Corner Bakery",
                    "address_line1": "1 Bakery Lane",
                    "city": "London",
                    "lat": 51.51,
                    "lng": -0.12,
                },
            },
            source="api",
        )
        pickup = delivery.pair_as_delivery.pickup
        plain = order_create(
            {
                "customer_name": "Plain Customer",
                "address_line1": "9 Other Street",
                "lat": 51.53,
                "lng": -0.10,
                "delivery_date": today,
            },
            source="api",
        )
        now = dt.datetime.now(dt.UTC)
        plan = Plan.objects.create(date=today, status="done", solved_at=now, published_at=now)
        route = PlanRoute.objects.create(
            plan=plan,
            driver=driver,
            vehicle=van,
            starts_at=now,
            ends_at=now + dt.timedelta(hours=2),
            distance_m=0,
            duration_s=0,
        )
        for k, order in enumerate((pickup, delivery, plain), start=1):
            at = now + dt.timedelta(minutes=20 * k)
            PlanStop.objects.create(
                route=route, sequence=k, order=order, arrives_at=at, starts_at=at, departs_at=at
            )
            for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
                order_transition(order=order, to=status, actor="test")
        version_create(route, reason="Published")
        links = {o.pk: tracking_link_for(o) for o in (pickup, delivery)}
    return tenant, pickup.pk, delivery.pk, links


def status_of(django_db_blocker, tenant, order_id: int) -> str:
    from dispatch.models import Order

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        return Order.objects.values_list("status", flat=True).get(pk=order_id)


def finish(page, stop, link: str) -> None:
    stop.get_by_role("button", name="On my way").click()
    stop.get_by_role("button", name="Arrived").click()
    stop.get_by_role("link", name=link).click()
    page.locator("#complete-dialog").get_by_role("button", name="Finish the stop").click()


def test_the_driver_picks_up_then_delivers_and_the_customer_sees_the_collection(
    live_server_url, django_db_blocker, browser
):
    tenant, pickup, delivery, links = pair_on_route(django_db_blocker, live_server_url, "pdpair")
    customer = browser.new_context(viewport={"width": 390, "height": 844})
    track = customer.new_page()
    track.set_default_timeout(15_000)

    # before the pickup: the customer is told where the parcel is collected from
    track.goto(f"{live_server_url}/t/{links[delivery]}")
    track.locator("#track-collection").get_by_text("Being collected from Corner Bakery").wait_for()

    with phone(browser) as context:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_app(page, _Day(tenant, "pdpair"))
        first = page.locator(f"#driver-stop-{pickup}")
        second = page.locator(f"#driver-stop-{delivery}")
        assert first.locator(".kind-tag").text_content() == "Pick up"
        assert (
            "Collect first from Corner Bakery (stop 1)"
            in second.locator("[data-collect]").inner_text()
        )
        shot(page, "pickup-driver-390")
        # a long name or address wraps inside the stop's head, never under its status
        overflow = page.evaluate(
            "() => [...document.querySelectorAll('.stop-head .who')]"
            ".filter(w => w.scrollWidth > w.clientWidth + 1).length"
        )
        assert overflow == 0

        # loading the van: the pair's parcel is collected on the road, not loaded here
        page.get_by_role("tab", name="Scan").click()
        assert "0 of 1 parcels loaded" in page.locator("#loaded-count").inner_text()
        page.get_by_role("button", name="Scan parcels").click()
        page.get_by_label("Or type the code on the label").fill(
            f"{tenant.schema.upper()}-{delivery}"
        )
        page.locator("#scan-manual").get_by_role("button", name="Check").click()
        page.locator("#scan-result").get_by_text("is collected on the road").wait_for()
        page.locator("#scan-dialog [data-close]").click()
        assert "0 of 1 parcels loaded" in page.locator("#loaded-count").inner_text()
        page.get_by_role("tab", name="Stops").click()

        # the pickup: its own words on the sheet and the status
        finish(page, first, "Picked up")
        first.locator("[data-status-label]").get_by_text("Picked up").wait_for()
        wait_until(lambda: status_of(django_db_blocker, tenant, pickup) == "delivered")

        # the delivery says when the parcel was collected, then is delivered
        page.reload()
        note = page.locator(f"#driver-stop-{delivery} [data-collect]")
        assert note.inner_text().startswith("Collected from Corner Bakery at ")
        second = page.locator(f"#driver-stop-{delivery}")
        if second.locator(".stop-head").get_attribute("aria-expanded") != "true":
            second.locator(".stop-head").click()
        shot(page, "pickup-driver-collected-390")
        finish(page, second, "Delivered")
        second.locator("[data-status-label]").get_by_text("Delivered").wait_for()
        wait_until(lambda: status_of(django_db_blocker, tenant, delivery) == "delivered")
        assert not errors, errors

    # the pickup's own contact: a collection page
    # (a page of its own: the delivery's page, open meanwhile, reloads itself when the
    # parcel is delivered, which would interrupt navigating it elsewhere)
    collection = customer.new_page()
    collection.set_default_timeout(15_000)
    collection.goto(f"{live_server_url}/t/{links[pickup]}")
    collection.get_by_role("heading", name="Collected").wait_for()
    assert "Proof of collection" in collection.locator("main").inner_text()
    shot(collection, "pickup-track-pickup-390")
    customer.close()


def test_the_tracking_page_says_when_the_parcel_was_collected(
    live_server_url, django_db_blocker, browser
):
    from dispatch.models import Order
    from dispatch.services.orders import order_transition

    tenant, pickup, delivery, links = pair_on_route(django_db_blocker, live_server_url, "pdtrack")
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        order = Order.objects.get(pk=pickup)
        for status in ("en_route", "arrived", "delivered"):
            order = order_transition(order=order, to=status, actor="test")
    for width, height in ((1440, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server_url}/t/{links[delivery]}")
        collected = page.locator("#track-collection")
        text = collected.inner_text()
        assert text.startswith("Collected at ") and "from Corner Bakery" in text
        shot(page, f"pickup-track-{width}")
        context.close()


class _Day:
    """What `open_app` reads of a driver's day: the tenant and the users' prefix."""

    def __init__(self, tenant, prefix: str) -> None:
        self.tenant, self.prefix = tenant, prefix


def test_the_dispatcher_enters_a_pickup_and_delivery_order_in_the_form(
    live_server_url, django_db_blocker, browser
):
    from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in

    tenant = live_tenant(django_db_blocker, live_server_url, "pdform")
    for width, height in ((1440, 900), (390, 844)):
        with csp_checked_page(browser, viewport={"width": width, "height": height}) as page:
            sign_in(page, tenant, tenant.owner_email)
            page.goto(f"{tenant.url}/orders/new/")
            page.get_by_label("Customer name").fill(f"Receiver {width}")
            page.get_by_label("Address:", exact=True).fill("5 Delivery Road")
            page.get_by_label("Latitude:", exact=True).fill("51.52")
            page.get_by_label("Longitude:", exact=True).fill("-0.11")
            page.get_by_label("Delivery date").fill(str(dt.date.today() + dt.timedelta(days=1)))
            section = page.locator("#pickup-section")
            assert section.get_attribute("open") is None  # folded until wanted
            section.locator("summary").click()
            section.get_by_label("Collect from (name)").fill("Corner Bakery")
            section.get_by_label("Pickup address").fill("1 Bakery Lane")
            section.get_by_label("Pickup latitude").fill("51.51")
            section.get_by_label("Pickup longitude").fill("-0.12")
            section.get_by_label("Pickup from").fill("08:00")
            section.get_by_label("Pickup until").fill("10:00")
            shot(page, f"pickup-form-{width}")
            page.get_by_role("button", name="Create order").click()

            pair = page.locator("#order-pair")
            pair.wait_for()
            assert "Corner Bakery" in pair.inner_text()
            shot(page, f"pickup-order-{width}")
            pair.get_by_role("link").click()
            page.locator("#order-pair").get_by_text(f"Receiver {width}").wait_for()
            assert "Pickup for" in page.locator("dl.details").inner_text()
