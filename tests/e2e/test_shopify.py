"""The owner's Shopify page in the browser (concurrent deliveries: test_shopify_concurrency)."""

from __future__ import annotations

import pytest

from tests.dispatch import shopify_payloads as sp
from tests.e2e.conftest import live_tenant, sign_in


@pytest.mark.browser
def test_owner_connects_a_store_sees_its_webhooks_and_disconnects_it(
    live_server_url, page, django_db_blocker
):
    tenant = live_tenant(django_db_blocker, live_server_url, "shoppage")
    sign_in(page, tenant, tenant.owner_email)
    page.locator(".account summary").click()
    page.get_by_role("link", name="Stores").click()  # the old page is linked from there
    page.get_by_role("link", name="connect by hand (custom app)").click()
    assert page.locator("#webhook-url").inner_text() == (
        f"http://{tenant.host}/api/v1/integrations/shopify/webhooks"
    )
    page.get_by_label("Store address").fill("Bloom-Florists.myshopify.com")
    page.get_by_label("Client secret").fill(sp.SECRET)
    page.get_by_role("button", name="Save").click()
    page.get_by_text(f"{sp.SHOP} is connected.").wait_for()
    store_row = page.locator("tr", has_text=sp.SHOP).first
    assert "Connected" in store_row.inner_text()
    assert sp.SECRET not in page.content()

    raw = sp.body(sp.order())
    headers = sp.http_headers(raw, topic="orders/create", event_id="evt-page")
    domain = tenant.provisioned.domain.domain
    assert sp.deliver_over_http(tenant.port, domain, raw, headers)[0] == 200
    page.reload()
    event_row = page.locator("tr", has_text="orders/create")
    assert "Processed" in event_row.inner_text()  # applied inline by the test server
    assert "created" in event_row.inner_text()

    page.get_by_role("button", name="Disconnect").click()
    page.get_by_text(f"{sp.SHOP} is disconnected.").wait_for()
    assert "Disconnected" in page.locator("tr", has_text=sp.SHOP).first.inner_text()
    assert sp.deliver_over_http(tenant.port, domain, raw, headers)[0] == 401
