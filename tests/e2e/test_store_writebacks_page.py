"""A write-back that failed for good (the shop had revoked our token) shows on the order's
page and on the Stores page; once the owner fixed it, "Try again" writes it to the shop
(the fake Shopify, a real HTTP server; the server runs jobs at once, Q_SYNC). On a laptop
and on a phone."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.conftest import tenant_today
from tests.dispatch import shopify_payloads as sp
from tests.e2e.conftest import csp_checked_page, live_tenant, running_web, sign_in
from tests.stores.fake_shopify import FakeShopify, running_fake_shopify

pytestmark = pytest.mark.browser
#: A folder to keep screenshots of the pages in (to look at them), if set.
SHOTS = os.environ.get("WRITEBACK_SCREENSHOTS")

LINES = [
    {"id": 1, "quantity": 2, "requires_shipping": True},
    {"id": 2, "quantity": 1, "requires_shipping": False},
]


@pytest.fixture(scope="module")
def shopify_and_server(django_db_setup) -> Iterator[tuple[FakeShopify, str]]:
    """The fake Shopify, and a server of our own that reaches shops there."""
    with running_fake_shopify() as fake, running_web(SHOPIFY_SHOP_URL=fake.shop_url) as url:
        yield fake, url


def failed_write_back(django_db_blocker, fake: FakeShopify, tenant, shop: str) -> tuple[int, int]:
    """A Shopify order of the tenant whose set-off could not be written (token revoked),
    committed: (order id, write-back id)."""
    import json

    from dispatch.models import Order, ShopifyIntegration, WebhookEvent
    from dispatch.services import shopify as intake
    from stores.services import writeback

    token = f"shpat_{tenant.schema[-6:]}" + "0" * 26
    fake.shop(shop).token = token
    fake.add_order(shop, 7001, LINES)
    payload = sp.order(
        id=7001,
        note_attributes=[{"name": "Delivery Date", "value": tenant_today(2).isoformat()}],
        line_items=[{**line, "title": f"Line {line['id']}", "price": "5.00"} for line in LINES],
    )
    headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": f"e2e-{shop}"}
    with (
        django_db_blocker.unblock(),
        schema_context(tenant.schema),
        override_settings(SHOPIFY_SHOP_URL=fake.shop_url),
    ):
        ShopifyIntegration.objects.create(
            shop_domain=shop, mode="app", access_token=token, installed_at=timezone.now()
        )
        intake.webhook_keep(headers=headers, body=json.dumps(payload).encode(), shop=shop)
        intake.webhook_event_process(WebhookEvent.objects.get().pk)
        order = Order.objects.get(external_id="7001")
        found = writeback.record(order, "set_off", key=f"set_off:{order.pk}:e2e")
        fake.shop(shop).revoked = True
        assert writeback.run(found.pk) == "failed"
    fake.shop(shop).revoked = False  # the owner installed the app again
    return order.pk, found.pk


@pytest.mark.parametrize("viewport", [(1440, 900), (390, 844)], ids=["laptop", "phone"])
def test_a_failed_store_update_is_shown_and_tried_again(
    shopify_and_server, django_db_blocker, browser, viewport
):
    fake, server = shopify_and_server
    width, height = viewport
    prefix = f"wbpage{width}"
    dispatcher = f"dispatcher@{prefix}.test"
    tenant = live_tenant(django_db_blocker, server, prefix, users=((dispatcher, "dispatcher"),))
    shop = f"{prefix}-{tenant.schema[-6:]}.myshopify.com"
    order_id, pk = failed_write_back(django_db_blocker, fake, tenant, shop)

    with csp_checked_page(browser, viewport={"width": width, "height": height}) as page:
        # the owner sees it among the Stores page's failed updates
        sign_in(page, tenant, tenant.owner_email)
        page.goto(f"{tenant.url}/settings/stores/")
        row = page.locator(f"#writeback-{pk}")
        row.get_by_text("refused the store's token").wait_for()
        assert row.get_by_role("link", name=f"Order #{order_id}").is_visible()
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"stores-{width}.png"), full_page=True)
        page.context.clear_cookies()

        # the dispatcher sees it on the order's page, standing out, and tries it again
        sign_in(page, tenant, dispatcher)
        page.goto(f"{tenant.url}/orders/{order_id}/")
        panel = page.locator("#order-store-updates")
        panel.get_by_role("heading", name="Store updates").wait_for()
        alert = panel.get_by_role("alert")
        assert "refused the store's token" in alert.inner_text()
        button = panel.get_by_role("button", name="Try again")
        button.scroll_into_view_if_needed()
        assert button.is_visible()
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width  # on the screen
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        if SHOTS:
            panel.screenshot(path=str(Path(SHOTS) / f"order-store-updates-{width}.png"))
        button.click()

        page.get_by_text("will be tried again").wait_for()
        assert page.url.endswith(f"/orders/{order_id}/#order-store-updates")
        # the server ran the job at once: written to the shop
        done = page.locator(f'#store-update-{pk}[data-status="done"]')
        done.wait_for()
        assert panel.get_by_role("alert").count() == 0
        assert panel.get_by_role("button", name="Try again").count() == 0

    (made,) = fake.shop(shop).orders[7001].fulfillments
    assert [(i["line_id"], i["quantity"]) for i in made["line_items"]] == [(1, 2)]
    assert made["tracking"]["company"] == f"{prefix.title()} Co"
    assert fake.events_of(shop, 7001) == ["OUT_FOR_DELIVERY"]
