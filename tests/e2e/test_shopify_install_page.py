"""The owner installs the Shopify app from the Stores page, in a real browser: types the
shop, presses Install, approves on (the fake) Shopify's page, and is brought back to the
Stores page showing the shop connected, its webhooks subscribed. On a desktop and on a
phone."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, running_web, sign_in
from tests.stores import fake_shopify
from tests.stores.fake_shopify import running_fake_shopify

#: Set to a directory to keep screenshots of the Stores page (desktop and phone).
SHOTS = os.environ.get("SHOPIFY_SCREENSHOTS")


@pytest.fixture(scope="module")
def shopify_server(django_db_setup):
    """The fake Shopify, and a server whose Shopify app is pointed at it."""
    with running_fake_shopify() as fake:
        env = {
            "SHOPIFY_SHOP_URL": fake.shop_url,
            "SHOPIFY_API_KEY": fake_shopify.API_KEY,
            "SHOPIFY_API_SECRET": fake_shopify.API_SECRET,
        }
        with running_web(**env) as url:
            yield fake, url


def test_the_owner_installs_the_app_from_the_stores_page(
    shopify_server, django_db_blocker, browser
):
    from dispatch.models import ShopifyIntegration
    from tenants.models import StoreShop

    fake, url = shopify_server
    tenant = live_tenant(django_db_blocker, url, "shopapp")
    for width, height in ((1440, 900), (390, 844)):
        shop = f"bloom-{width}-{secrets.token_hex(3)}.myshopify.com"
        with csp_checked_page(browser, viewport={"width": width, "height": height}) as page:
            sign_in(page, tenant, tenant.owner_email)
            page.wait_for_url(lambda u: "/login/" not in u)
            page.goto(f"{tenant.url}/settings/stores/")
            section = page.locator("#shopify")
            section.get_by_label("Store address").fill(shop)
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / f"stores-{width}-before.png"))
            section.get_by_role("button", name="Install the app").click()
            # Shopify's page: the app, what it asks for, the Install button
            page.wait_for_url(f"{fake.url}/{shop}/admin/oauth/authorize?*")
            page.get_by_text("read_orders, write_merchant_managed_fulfillment_orders").wait_for()
            page.get_by_role("link", name="Install app").click()
            # back on the tenant's own Stores page
            page.wait_for_url(f"{tenant.url}/settings/stores/?installed={shop}")
            message = page.locator("#shopify-installed")
            message.wait_for()
            assert shop in message.inner_text()
            row = page.locator("#shopify-stores tr", has_text=shop)
            assert "Connected" in row.inner_text()
            assert "Subscribed" in row.inner_text()  # the job ran (jobs run inline here)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            if SHOTS:
                page.screenshot(path=str(Path(SHOTS) / f"stores-{width}.png"), full_page=True)
        with django_db_blocker.unblock():
            assert StoreShop.objects.get(shop=shop).tenant_id == tenant.provisioned.tenant.pk
            with schema_context(tenant.schema):
                integration = ShopifyIntegration.objects.get(shop_domain=shop)
            assert integration.mode == "app" and integration.is_active
            assert integration.access_token == fake.shop(shop).token
        assert len(fake.shop(shop).webhooks) == 4
