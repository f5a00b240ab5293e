"""The owner connects a WooCommerce store on the Stores page (on a wide screen and on a
phone): a mistake is shown on its field, the store is listed with the webhook address to
paste into WooCommerce, a signed order webhook shows in the page's log, and the store is
disconnected."""

from __future__ import annotations

import urllib.request

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in, wait_until
from tests.stores import fake_woocommerce as fw

SHOP = "https://flowers.example.com"


def _send_webhook(tenant, payload: dict) -> int:
    raw = fw.body(payload)
    headers = {
        name.removeprefix("HTTP_").replace("_", "-"): value
        for name, value in fw.headers(raw, source=SHOP).items()
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{tenant.port}/api/v1/integrations/woocommerce/webhooks",
        data=raw,
        method="POST",
        headers={**headers, "Content-Type": "application/json", "Host": tenant.host},
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return response.status


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1440, "height": 900}, {"width": 390, "height": 844}],
    ids=["wide", "phone"],
)
def test_the_owner_connects_a_woocommerce_store(
    live_server_url, django_db_blocker, browser, viewport
):
    from dispatch.models import Order
    from stores.models import WooCommerceStore

    tenant = live_tenant(django_db_blocker, live_server_url, "woo")
    with csp_checked_page(browser, viewport=viewport) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.goto(f"{tenant.url}/settings/stores/")
        section = page.locator("#woocommerce")
        assert section.locator("#woocommerce-webhook-url").inner_text() == (
            f"{tenant.url}/api/v1/integrations/woocommerce/webhooks"
        )
        section.get_by_label("Store address").fill("ftp://flowers")
        section.get_by_label("Consumer key").fill(fw.CONSUMER_KEY)
        section.get_by_label("Consumer secret").fill(fw.CONSUMER_SECRET)
        section.get_by_role("button", name="Save WooCommerce store").click()
        page.get_by_text("Use the store's address, like https://shop.example.com.").wait_for()
        page.get_by_text("Paste the secret of the store's webhooks.").wait_for()

        section = page.locator("#woocommerce")
        section.get_by_label("Store address").fill(SHOP + "/")
        section.get_by_label("Consumer key").fill(fw.CONSUMER_KEY)
        section.get_by_label("Consumer secret").fill(fw.CONSUMER_SECRET)
        section.get_by_label("Webhook secret").fill(fw.WEBHOOK_SECRET)
        section.get_by_role("button", name="Save WooCommerce store").click()
        page.get_by_text(f"{SHOP} is connected.").wait_for()
        row = page.locator("#woocommerce-stores tbody tr").first
        assert SHOP in row.inner_text() and "Connected" in row.inner_text()
        assert fw.WEBHOOK_SECRET not in page.content()
        # wide tables scroll inside their card, never the page (once the layout settles:
        # read at once after the redirect, it was wider for a moment now and then)
        page.wait_for_function("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=f".data/woocommerce-page-{viewport['width']}.png", full_page=True)

        # WooCommerce sends an order: applied at once by the test server (Q_SYNC)
        assert _send_webhook(tenant, fw.order(1001)) == 200
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            wait_until(
                lambda: Order.objects.filter(external_id="1001@flowers.example.com").exists()
            )
        page.reload()
        event = page.locator("#woocommerce-events tbody tr").first
        assert "order.created" in event.inner_text() and "Processed" in event.inner_text()

        page.locator("#woocommerce-stores").get_by_role("button", name=f"Disconnect {SHOP}").click()
        page.get_by_text(f"{SHOP} is disconnected.").wait_for()
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        store = WooCommerceStore.objects.get()
        assert (store.url, store.is_active, store.webhook_secret) == (
            SHOP,
            False,
            fw.WEBHOOK_SECRET,
        )
