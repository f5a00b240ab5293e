"""The app's webhooks on the public host (signed with the app's secret, the tenant found by
the shop), uninstalling (by the shop or by the owner), the compliance topics, and the
Stores page's shops across tenants. Against the fake Shopify as a real HTTP server."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, ShopifyIntegration, WebhookEvent
from dispatch.services import shopify
from stores.models import WriteBack
from tenants.models import StoreShop
from tests.conftest import FIXED_NOW, host_client, login_client
from tests.dispatch import shopify_payloads as sp
from tests.stores import fake_shopify
from tests.stores.test_shopify_install import PUBLIC, SHOP, fake, install  # noqa: F401

# The order payloads carry December 2026 dates: the clock is pinned before them.
pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

URL = "/shopify/webhooks"
APP_SECRET = fake_shopify.API_SECRET


def deliver(payload: dict, *, topic="orders/create", event_id="ev-1", shop=SHOP, **kwargs):
    raw = sp.body(payload)
    headers = sp.headers(
        raw, topic=topic, event_id=event_id, shop=shop, secret=kwargs.pop("secret", APP_SECRET)
    )
    host = kwargs.pop("host", PUBLIC)
    return host_client(host).post(URL, raw, content_type="application/json", **headers)


def process_all(schema: str) -> list[str]:
    """What the background job does, for every stored event (jobs do not run in tests)."""
    with schema_context(schema):
        return [
            shopify.webhook_event_process(pk)
            for pk in WebhookEvent.objects.order_by("pk").values_list("pk", flat=True)
        ]


def events(schema: str) -> list[WebhookEvent]:
    with schema_context(schema):
        return list(WebhookEvent.objects.order_by("pk"))


@pytest.fixture
def shopify_fake(fake):  # noqa: F811 - the fixture imported above
    return fake


@pytest.fixture
def installed(alpha, shopify_fake):
    return install(shopify_fake, alpha)


def pending_writeback(schema: str = "alpha") -> WriteBack:
    with schema_context(schema):
        order = Order.objects.get(external_id=str(sp.ORDER["id"]))
        return WriteBack.objects.create(
            order=order,
            platform="shopify",
            store=SHOP,
            action=WriteBack.Action.SET_OFF,
            key=f"set_off:{order.pk}",
            next_attempt_at=timezone.now(),
        )


# --- receiving ------------------------------------------------------------------------------


def test_an_order_of_an_installed_shop_lands_in_its_tenant_only(alpha, beta, installed):
    response = deliver(sp.order())
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "event_id": "ev-1"}
    assert deliver(sp.order()).json()["status"] == "duplicate"
    assert process_all("alpha") == ["processed"]
    with schema_context("alpha"):
        order = Order.objects.get()
        assert order.events.get().actor == f"shopify:{SHOP}"
    assert (order.source, order.customer_name) == ("shopify", "Jon Snow")
    assert events("beta") == []
    with schema_context("beta"):
        assert not Order.objects.exists()


@pytest.mark.parametrize(
    "kwargs",
    [{"secret": "shpss_wrong_secret_0000000000000"}, {"shop": "unknown-shop.myshopify.com"}],
    ids=["bad-signature", "unknown-shop"],
)
def test_bad_signatures_and_unknown_shops_are_401_and_keep_nothing(alpha, installed, kwargs):
    response = deliver(sp.order(), **kwargs)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert events("alpha") == []


def test_a_tampered_body_is_401(alpha, installed):
    raw = sp.body(sp.order())
    headers = sp.headers(raw, topic="orders/create", event_id="ev-t", secret=APP_SECRET)
    tampered = raw.replace(b"Baker Street", b"Evil Street")
    response = host_client(PUBLIC).post(URL, tampered, content_type="application/json", **headers)
    assert response.status_code == 401
    assert events("alpha") == []


def test_a_signed_body_that_is_not_json_is_400(alpha, installed):
    raw = b"not json"
    headers = sp.headers(raw, topic="orders/create", event_id="ev-j", secret=APP_SECRET)
    response = host_client(PUBLIC).post(URL, raw, content_type="application/json", **headers)
    assert response.status_code == 400
    assert events("alpha") == []


def test_a_webhook_whose_job_cannot_be_queued_is_503(alpha, installed, monkeypatch):
    monkeypatch.setattr(shopify.transaction, "on_commit", lambda func, **kwargs: func())

    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(shopify, "enqueue_for_tenant", broken)
    assert deliver(sp.order()).status_code == 503
    assert [e.status for e in events("alpha")] == ["received"]  # kept, for the retry


def test_without_the_app_configured_every_app_webhook_is_refused(alpha, installed, settings):
    settings.SHOPIFY_API_SECRET = ""
    assert deliver(sp.order()).status_code == 401


def test_the_tenant_hosts_endpoint_refuses_an_app_installed_shop(alpha, installed):
    """The custom app's endpoint knows only custom apps' own secrets: an app-installed
    shop (no secret of its own) is refused there, whatever the signature."""
    for secret in (APP_SECRET, ""):
        raw = sp.body(sp.order())
        headers = sp.headers(raw, topic="orders/create", event_id="ev-h", secret=secret)
        response = host_client(alpha.host).post(
            "/api/v1/integrations/shopify/webhooks", raw, content_type="application/json", **headers
        )
        assert response.status_code == 401
    assert events("alpha") == []


def test_a_custom_app_secret_left_on_an_installed_shop_no_longer_signs(alpha, shopify_fake):
    with schema_context("alpha"):
        shopify.integration_save(shop_domain=SHOP, client_secret=sp.SECRET)
    install(shopify_fake, alpha)
    raw = sp.body(sp.order())
    headers = sp.headers(raw, topic="orders/create", event_id="ev-c")
    response = host_client(alpha.host).post(
        "/api/v1/integrations/shopify/webhooks", raw, content_type="application/json", **headers
    )
    assert response.status_code == 401
    with schema_context("alpha"), pytest.raises(shopify.ValidationError):
        shopify.integration_save(shop_domain=SHOP, client_secret=sp.SECRET)


# --- uninstalling -------------------------------------------------------------------------------


def test_app_uninstalled_stops_everything_for_that_shop(alpha, installed):
    deliver(sp.order())
    process_all("alpha")
    writeback = pending_writeback()
    response = deliver({"id": 1, "domain": SHOP}, topic="app/uninstalled", event_id="ev-u")
    assert response.status_code == 200
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        integration = ShopifyIntegration.objects.get()
        writeback.refresh_from_db()
    assert not integration.is_active and integration.access_token is None
    assert integration.uninstalled_at is not None
    assert writeback.status == WriteBack.Status.CANCELLED
    # later orders are refused; the shop stays indexed (uninstalled) for shop/redact
    assert deliver(sp.order(id=5), event_id="ev-later").status_code == 401
    entry = StoreShop.objects.get(shop=SHOP)
    assert entry.tenant_id == alpha.tenant.pk and entry.uninstalled_at is not None
    page = login_client(alpha.host, alpha.owner_email).get("/settings/stores/")
    assert b"Uninstalled" in page.content


def test_disconnecting_on_the_page_revokes_the_token_at_shopify(alpha, shopify_fake, installed):
    deliver(sp.order())
    process_all("alpha")
    writeback = pending_writeback()
    token = shopify_fake.shop(SHOP).token
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(f"/settings/stores/shopify/{installed.pk}/disconnect", follow=True)
    assert response.status_code == 200
    assert f"{SHOP} is disconnected.".encode() in response.content
    revoke = [r for r in shopify_fake.requests if r["method"] == "DELETE"]
    assert revoke[0]["path"] == f"/{SHOP}/admin/api_permissions/current.json"
    assert revoke[0]["token"] == token and shopify_fake.shop(SHOP).revoked
    with schema_context("alpha"):
        integration = ShopifyIntegration.objects.get()
        writeback.refresh_from_db()
    assert not integration.is_active and integration.access_token is None
    assert writeback.status == WriteBack.Status.CANCELLED
    # Shopify then sends app/uninstalled: harmless
    deliver({"id": 1}, topic="app/uninstalled", event_id="ev-u")
    assert process_all("alpha")[-1] == "processed"


def test_a_token_already_revoked_still_disconnects(alpha, shopify_fake, installed):
    shopify_fake.shop(SHOP).revoked = True  # the fake answers 401, as Shopify does
    owner = login_client(alpha.host, alpha.owner_email)
    owner.post(f"/settings/stores/shopify/{installed.pk}/disconnect")
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.get().is_active


def test_shopify_unreachable_leaves_the_shop_connected_and_says_so(
    alpha,
    shopify_fake,
    installed,
    settings,
):
    settings.SHOPIFY_SHOP_URL = "http://127.0.0.1:9/{shop}"  # nothing listens there
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(f"/settings/stores/shopify/{installed.pk}/disconnect", follow=True)
    assert b"could not be told" in response.content
    with schema_context("alpha"):
        assert ShopifyIntegration.objects.get().is_active


def test_a_custom_app_store_is_disconnected_from_the_page_too(alpha, shopify_fake):
    with schema_context("alpha"):
        store = shopify.integration_save(shop_domain=SHOP, client_secret=sp.SECRET)
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/stores/")
    assert b"Custom app" in page.content
    owner.post(f"/settings/stores/shopify/{store.pk}/disconnect")
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.get().is_active
    assert not [r for r in shopify_fake.requests if r["method"] == "DELETE"]


# --- compliance -------------------------------------------------------------------------------


def data_request(email="jon@example.com", ids=()) -> dict:
    return {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "orders_requested": list(ids),
        "customer": {"id": sp.ORDER["customer"]["id"], "email": email, "phone": None},
        "data_request": {"id": 9999},
    }


def test_a_customers_data_request_is_recorded_and_downloadable_by_the_owner(alpha, beta, installed):
    deliver(sp.order())
    deliver(sp.order(id=2, email="other@example.com", customer={}), event_id="ev-2")
    response = deliver(data_request(), topic="customers/data_request", event_id="ev-d")
    assert response.status_code == 200
    assert process_all("alpha")[-1] == "processed"
    (asked,) = [e for e in events("alpha") if e.topic == "customers/data_request"]
    assert asked.detail.startswith("1 orders hold this customer's data")
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/stores/")
    assert f'id="data-request-{asked.pk}"'.encode() in page.content
    download = owner.get(f"/settings/stores/shopify/data-requests/{asked.pk}.json")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    body = download.json()
    assert body["shop"] == SHOP and body["data_request_id"] == 9999
    assert [o["external_id"] for o in body["orders"]] == [str(sp.ORDER["id"])]
    assert body["orders"][0]["customer_email"] == "jon@example.com"
    assert body["orders"][0]["history"][0]["status"] == "unassigned"
    # owners only, and this tenant's only
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get(
        f"/settings/stores/shopify/data-requests/{asked.pk}.json"
    ).status_code == (403)
    other = login_client(beta.host, beta.owner_email)
    assert other.get(f"/settings/stores/shopify/data-requests/{asked.pk}.json").status_code == 404
    assert host_client(alpha.host).get(
        f"/settings/stores/shopify/data-requests/{asked.pk}.json"
    ).status_code in (302, 401, 403)


def test_customers_redact_through_the_app_forgets_the_customer(alpha, installed):
    deliver(sp.order())
    process_all("alpha")
    redact = sp.redact_customer(ids=[sp.ORDER["id"]])
    assert deliver(redact, topic="customers/redact", event_id="ev-r").status_code == 200
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        assert Order.objects.get().customer_name == "Redacted"


def test_shop_redact_after_uninstall_forgets_the_shop_and_its_index_entry(
    alpha,
    shopify_fake,
    installed,
):
    deliver(sp.order())
    process_all("alpha")
    owner = login_client(alpha.host, alpha.owner_email)
    owner.post(f"/settings/stores/shopify/{installed.pk}/disconnect")
    # 48 hours later
    response = deliver({"shop_id": 1, "shop_domain": SHOP}, topic="shop/redact", event_id="ev-s")
    assert response.status_code == 200  # found by the index entry kept for it
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        assert Order.objects.get().customer_name == "Redacted"
    assert not StoreShop.objects.filter(shop=SHOP).exists()
    # nothing finds the tenant any more
    assert deliver({"id": 1}, topic="shop/redact", event_id="ev-s2").status_code == 401


def test_shop_redact_keeps_an_index_entry_another_tenant_holds_now(alpha, beta, shopify_fake):
    first = install(shopify_fake, alpha)
    with schema_context("alpha"):
        from stores.services import shopify_app

        shopify_app.uninstall(integration=first)
    install(shopify_fake, beta)
    with schema_context("alpha"):
        event = WebhookEvent.objects.create(
            source="shopify",
            event_id="late-redact",
            topic="shop/redact",
            shop_domain=SHOP,
            payload={"shop_domain": SHOP},
        )
        assert shopify.webhook_event_process(event.pk) == "processed"
    assert StoreShop.objects.get(shop=SHOP).tenant_id == beta.tenant.pk


# --- the page, across tenants -----------------------------------------------------------------


def test_beta_sees_and_disconnects_none_of_alphas_shops(alpha, beta, shopify_fake, installed):
    other = login_client(beta.host, beta.owner_email)
    page = other.get("/settings/stores/")
    assert page.status_code == 200 and SHOP.encode() not in page.content
    response = other.post(f"/settings/stores/shopify/{installed.pk}/disconnect")
    assert response.status_code == 404
    with schema_context("alpha"):
        assert ShopifyIntegration.objects.get().is_active
    assert not shopify_fake.shop(SHOP).revoked


def test_the_page_lists_every_shop_with_its_state(alpha, shopify_fake, installed):
    with schema_context("alpha"):
        shopify.integration_save(shop_domain="hand-made.myshopify.com", client_secret=sp.SECRET)
        ShopifyIntegration.objects.filter(pk=installed.pk).update(
            last_error="Order 7: Shopify refused the request", last_error_at=timezone.now()
        )
    page = login_client(alpha.host, alpha.owner_email).get("/settings/stores/").content.decode()
    assert SHOP in page and "hand-made.myshopify.com" in page
    assert "<code>read_orders</code><br><code>write_merchant_managed_fulfillment_orders" in page
    assert "Order 7: Shopify refused the request" in page
    assert page.count("Connected</span>") == 2
    assert 'href="/integrations/shopify/"' in page  # connecting by hand stays reachable
    assert shopify_fake.shop(SHOP).token not in page


def test_only_owners_may_install_or_disconnect(alpha, installed):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.post("/settings/stores/shopify/install", {"shop": SHOP}).status_code == 403
    response = dispatcher.post(f"/settings/stores/shopify/{installed.pk}/disconnect")
    assert response.status_code == 403
    with schema_context("alpha"):
        assert ShopifyIntegration.objects.get().is_active


def test_the_old_pages_disconnect_of_an_uninstalled_app_changes_nothing(alpha, installed):
    """Once uninstalled, the old page's Disconnect has nothing to stop (an installed one
    is refused there: test_shopify_install_lifecycle)."""
    deliver({"id": 1}, topic="app/uninstalled", event_id="ev-u")
    process_all("alpha")
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(f"/integrations/shopify/{installed.pk}/disconnect/")
    assert response.status_code == 302
    with schema_context("alpha"):
        integration = ShopifyIntegration.objects.get()
    assert not integration.is_active and integration.mode == "app"
