"""Shopify through real servers: one event delivered five times at once, and the owner's
page in the browser."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError

import pytest
from django_tenants.utils import schema_context

from tests.dispatch import shopify_payloads as sp
from tests.e2e.conftest import live_tenant, sign_in


def test_one_event_delivered_five_times_at_once_creates_one_order(
    live_server_url, second_live_server_url, django_db_blocker
):
    from dispatch.models import Order, WebhookEvent
    from dispatch.services.shopify import integration_save

    tenant = live_tenant(django_db_blocker, live_server_url, "shop")
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
    raw = sp.body(sp.order())
    headers = {
        key.removeprefix("HTTP_").replace("_", "-").title(): value
        for key, value in sp.headers(raw, topic="orders/create", event_id="evt-5x").items()
    }
    ports = [url.rsplit(":", 1)[1] for url in (live_server_url, second_live_server_url)]

    def deliver(n: int) -> int:
        port = ports[n % 2]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/integrations/shopify/webhooks",
            data=raw,
            method="POST",
            headers={**headers, "Host": f"{tenant.provisioned.domain.domain}:{port}",
                     "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except HTTPError as exc:
            return exc.code

    with ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(deliver, range(5)))
    assert statuses == [200] * 5
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert WebhookEvent.objects.count() == 1
        assert WebhookEvent.objects.get().status == "processed"  # jobs run inline (Q_SYNC)
        assert Order.objects.filter(source="shopify").count() == 1


@pytest.mark.browser
def test_owner_connects_a_store_in_the_browser(live_server_url, page, django_db_blocker):
    tenant = live_tenant(django_db_blocker, live_server_url, "shoppage")
    host = tenant.host
    sign_in(page, tenant, tenant.owner_email)
    page.locator(".account summary").click()
    page.get_by_role("link", name="Shopify").click()
    assert page.locator("#webhook-url").inner_text() == (
        f"http://{host}/api/v1/integrations/shopify/webhooks"
    )
    page.get_by_label("Store address").fill("Bloom-Florists.myshopify.com")
    page.get_by_label("Client secret").fill(sp.SECRET)
    page.get_by_role("button", name="Save").click()
    page.get_by_text(f"{sp.SHOP} is connected.").wait_for()
    assert "Connected" in page.locator("table").first.inner_text()
