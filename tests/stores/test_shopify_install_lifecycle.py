"""A store's installs over time, against the fake Shopify as a real HTTP server and the
public host's webhook endpoint: a store uninstalled in one account and installed in
another (the compliance webhooks reach both, each erasing only its own data, and the
live install stays), an app/uninstalled that arrives after the owner installed again,
two accounts installing the same store at once, and the access the write-back needs."""

# The fake Shopify is test_shopify_install's `fake` fixture, imported: each test's `fake`
# argument is that fixture, not a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, ShopifyIntegration, WebhookEvent
from dispatch.services import shopify
from stores.services import shopify_admin, shopify_app
from stores.services.sources.base import PermanentError
from stores.services.sources.shopify import EVENT_MUTATION
from tenants.models import StoreShop
from tests.conftest import FIXED_NOW, host_client, login_client
from tests.dispatch import shopify_payloads as sp
from tests.stores import fake_shopify
from tests.stores.test_shopify_install import (  # noqa: F401 - `fake` is a fixture (above)
    PUBLIC,
    SHOP,
    _refused,
    approve,
    callback,
    fake,
    install,
    nothing_stored,
    owner_of,
    start,
)

pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

URL = "/shopify/webhooks"


def deliver(payload: dict, *, topic: str, event_id: str, triggered_at: str | None = None):
    """A webhook as Shopify sends it to the public host, signed with the app's secret."""
    raw = sp.body(payload)
    headers = sp.headers(
        raw, topic=topic, event_id=event_id, shop=SHOP, secret=fake_shopify.API_SECRET
    )
    if triggered_at is not None:
        headers["HTTP_X_SHOPIFY_TRIGGERED_AT"] = triggered_at
    return host_client(PUBLIC).post(URL, raw, content_type="application/json", **headers)


def process_all(schema: str) -> list[str]:
    """What the background job does, for every stored event (jobs do not run in tests)."""
    with schema_context(schema):
        return [
            shopify.webhook_event_process(pk)
            for pk in WebhookEvent.objects.order_by("pk").values_list("pk", flat=True)
        ]


def topics(schema: str) -> list[str]:
    with schema_context(schema):
        return list(WebhookEvent.objects.order_by("pk").values_list("topic", flat=True))


def disconnect(fixture, integration: ShopifyIntegration) -> None:
    owner = owner_of(fixture)
    response = owner.post(f"/settings/stores/shopify/{integration.pk}/disconnect")
    assert response.status_code == 302


def names(schema: str) -> dict[str, str]:
    with schema_context(schema):
        return dict(Order.objects.values_list("external_id", "customer_name"))


@pytest.fixture
def moved(alpha, beta, fake):
    """SHOP installed in alpha (one order), uninstalled there, then installed in beta (one
    order of its own)."""
    first = install(fake, alpha)
    assert deliver(sp.order(), topic="orders/create", event_id="ev-a").status_code == 200
    process_all("alpha")
    disconnect(alpha, first)
    install(fake, beta)
    assert deliver(sp.order(id=2), topic="orders/create", event_id="ev-b").status_code == 200
    process_all("beta")
    assert names("alpha") == {str(sp.ORDER["id"]): "Jon Snow"}
    assert names("beta") == {"2": "Jon Snow"}
    return fake


# --- one store, several accounts over time --------------------------------------------------


def test_the_index_keeps_every_account_that_held_the_store_and_one_holder(alpha, beta, moved):
    rows = {r.tenant_id: r for r in StoreShop.objects.filter(shop=SHOP)}
    assert set(rows) == {alpha.tenant.pk, beta.tenant.pk}
    assert rows[alpha.tenant.pk].uninstalled_at is not None
    assert rows[beta.tenant.pk].uninstalled_at is None
    assert rows[beta.tenant.pk].installed_at > rows[alpha.tenant.pk].uninstalled_at
    # the order topics went to the holder only
    assert topics("alpha") == ["orders/create"] and topics("beta") == ["orders/create"]


def test_shop_redact_after_a_move_erases_the_old_accounts_data_and_leaves_the_new_install(
    alpha, beta, moved
):
    token = moved.shop(SHOP).token
    response = deliver({"shop_id": 1, "shop_domain": SHOP}, topic="shop/redact", event_id="ev-s")
    assert response.status_code == 200
    assert process_all("alpha")[-1] == "processed"
    assert process_all("beta")[-1] == "processed"
    # alpha, which held the store when it was uninstalled, forgets its customers
    assert names("alpha") == {str(sp.ORDER["id"]): "Redacted"}
    # beta's live install and its orders are untouched
    assert names("beta") == {"2": "Jon Snow"}
    with schema_context("beta"):
        live = ShopifyIntegration.objects.get()
    assert live.is_active and live.access_token == token
    assert set(StoreShop.objects.values_list("tenant_id", "uninstalled_at")) == {
        (beta.tenant.pk, None)
    }
    # and beta still takes the store's orders
    assert deliver(sp.order(id=3), topic="orders/create", event_id="ev-b3").status_code == 200
    assert topics("beta")[-1] == "orders/create"


def test_customer_requests_after_a_move_reach_every_account_that_held_the_store(alpha, beta, moved):
    asked = {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "orders_requested": [],
        "customer": {"id": sp.ORDER["customer"]["id"], "email": "jon@example.com"},
        "data_request": {"id": 9999},
    }
    assert deliver(asked, topic="customers/data_request", event_id="ev-d").status_code == 200
    for schema in ("alpha", "beta"):
        assert process_all(schema)[-1] == "processed"
        with schema_context(schema):
            request = WebhookEvent.objects.get(topic="customers/data_request")
            assert request.detail.startswith("1 orders hold this customer's data")
    redact = sp.redact_customer()
    assert deliver(redact, topic="customers/redact", event_id="ev-r").json()["status"] == (
        "accepted"
    )
    assert deliver(redact, topic="customers/redact", event_id="ev-r").json()["status"] == (
        "duplicate"
    )
    process_all("alpha")
    process_all("beta")
    assert names("alpha") == {str(sp.ORDER["id"]): "Redacted"}
    assert names("beta") == {"2": "Redacted"}
    with schema_context("beta"):
        assert ShopifyIntegration.objects.get().is_active


def test_shop_redact_leaves_an_install_made_again_in_the_same_account(alpha, fake):
    first = install(fake, alpha)
    deliver(sp.order(), topic="orders/create", event_id="ev-1")
    process_all("alpha")
    disconnect(alpha, first)
    install(fake, alpha)  # the owner installs it again before the 48 hours
    deliver(sp.order(id=2), topic="orders/create", event_id="ev-2")
    process_all("alpha")
    token = fake.shop(SHOP).token
    deliver({"shop_id": 1, "shop_domain": SHOP}, topic="shop/redact", event_id="ev-s")
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        integration = ShopifyIntegration.objects.get()
    assert integration.is_active and integration.access_token == token
    # what came before the uninstall is forgotten; what the new install brought stays
    assert names("alpha") == {str(sp.ORDER["id"]): "Redacted", "2": "Jon Snow"}
    entry = StoreShop.objects.get(shop=SHOP)
    assert (entry.tenant_id, entry.uninstalled_at) == (alpha.tenant.pk, None)


def test_shop_redact_still_switches_off_a_connection_whose_uninstall_was_lost(alpha, fake):
    """No app/uninstalled was processed, so nothing newer than the uninstall is known: the
    connection is older than Shopify's 48 hours and is switched off."""
    install(fake, alpha)
    deliver(sp.order(), topic="orders/create", event_id="ev-1")
    process_all("alpha")
    with schema_context("alpha"):
        ShopifyIntegration.objects.update(installed_at=timezone.now() - dt.timedelta(days=3))
    deliver({"shop_id": 1, "shop_domain": SHOP}, topic="shop/redact", event_id="ev-s")
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        integration = ShopifyIntegration.objects.get()
    assert not integration.is_active and integration.access_token is None
    assert names("alpha") == {str(sp.ORDER["id"]): "Redacted"}
    assert not StoreShop.objects.exists()


# --- a late app/uninstalled ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "triggered",
    [None, (FIXED_NOW - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")],
    ids=["received-at", "triggered-at-header"],
)
def test_an_uninstall_processed_after_a_reinstall_leaves_the_new_install(alpha, fake, triggered):
    install(fake, alpha)
    # the store removes the app; Shopify's webhook is received, its job not yet run
    response = deliver({"id": 1}, topic="app/uninstalled", event_id="ev-u", triggered_at=triggered)
    assert response.status_code == 200
    install(fake, alpha)  # the owner installs it again meanwhile
    token = fake.shop(SHOP).token
    assert process_all("alpha") == ["ignored"]
    with schema_context("alpha"):
        integration = ShopifyIntegration.objects.get()
        event = WebhookEvent.objects.get()
    assert integration.is_active and integration.access_token == token
    assert event.detail == "The app was installed again after this uninstall."
    if triggered:
        assert event.triggered_at == dt.datetime(2026, 11, 25, 11, 59, 0, 123456, tzinfo=dt.UTC)
    assert StoreShop.objects.get(shop=SHOP).uninstalled_at is None
    assert deliver(sp.order(), topic="orders/create", event_id="ev-o").status_code == 200


def test_an_uninstall_triggered_after_the_install_stops_it(alpha, fake):
    install(fake, alpha)
    later = (timezone.now() + dt.timedelta(seconds=5)).isoformat().replace("+00:00", "Z")
    deliver({"id": 1}, topic="app/uninstalled", event_id="ev-u", triggered_at=later)
    assert process_all("alpha") == ["processed"]
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.get().is_active
    assert StoreShop.objects.get(shop=SHOP).uninstalled_at is not None


# --- two installs at once ----------------------------------------------------------------------


def test_two_accounts_installing_the_same_store_at_once_refuse_the_second_and_revoke_its_token(
    alpha, beta, fake, monkeypatch
):
    """alpha's install reads that nobody holds the store; beta's install of it commits
    before alpha's writes (the one-holder key then refuses alpha's)."""
    real_holder = shopify_app._holder
    real_exchange = shopify_app._exchange

    def racing_holder(shop):
        found = real_holder(shop)  # nobody yet...
        StoreShop.objects.create(platform="shopify", shop=shop, tenant=beta.tenant)  # ...now beta
        return found

    def exchange(shop, code):
        grant = real_exchange(shop, code)
        monkeypatch.setattr(shopify_app, "_holder", racing_holder)
        return grant

    monkeypatch.setattr(shopify_app, "_exchange", exchange)
    response = callback(approve(fake, start(alpha)), owner_of(alpha))
    _refused(response, "being installed for another account at the same moment")
    assert fake.shop(SHOP).revoked  # the token just issued is given back
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.exists()
    assert not StoreShop.objects.filter(tenant=alpha.tenant).exists()


def test_an_install_that_lost_to_another_accounts_revokes_its_token(alpha, beta, fake, monkeypatch):
    real_exchange = shopify_app._exchange

    def exchange(shop, code):
        grant = real_exchange(shop, code)
        # beta's install of the same store finished meanwhile
        StoreShop.objects.create(platform="shopify", shop=shop, tenant=beta.tenant)
        with schema_context("beta"):
            ShopifyIntegration.objects.create(shop_domain=shop, mode="app", access_token="x")
        return grant

    monkeypatch.setattr(shopify_app, "_exchange", exchange)
    _refused(callback(approve(fake, start(alpha)), owner_of(alpha)), "another account")
    assert fake.shop(SHOP).revoked
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.exists()


# --- the access the app needs ------------------------------------------------------------------


def test_the_install_asks_for_write_fulfillments(alpha, fake):
    assert "write_fulfillments" in shopify_app.SCOPES
    assert "%2Cwrite_fulfillments" in start(alpha)


def test_an_install_granted_without_write_fulfillments_is_refused(alpha, fake):
    authorize = start(alpha)
    url = approve(fake, authorize.replace("%2Cwrite_fulfillments", ""))
    _refused(callback(url, owner_of(alpha)), "did not grant")
    assert nothing_stored(alpha)
    assert fake.shop(SHOP).revoked


def test_a_token_without_write_fulfillments_cannot_write_a_delivery_event(alpha, fake):
    integration = install(fake, alpha)
    # as a store installed before the scope was asked for
    fake.shop(SHOP).scopes = "read_orders,write_merchant_managed_fulfillment_orders"
    event = {"fulfillmentId": "gid://shopify/Fulfillment/1", "status": "DELIVERED"}
    with schema_context("alpha"), pytest.raises(PermanentError, match="lacks a permission"):
        shopify_admin.graphql(integration, EVENT_MUTATION, {"fulfillmentEvent": event})
    answer = fake.graphql_calls("fulfillmentEventCreate")
    assert answer and answer[-1]["token"] == fake.shop(SHOP).token
    # with the scope granted, Shopify goes on to the mutation itself
    fake.shop(SHOP).scopes = ",".join(shopify_app.SCOPES)
    with schema_context("alpha"):
        data = shopify_admin.graphql(integration, EVENT_MUTATION, {"fulfillmentEvent": event})
    assert data["fulfillmentEventCreate"]["userErrors"][0]["message"] == (
        "Fulfillment does not exist."
    )


def test_the_fakes_access_denied_answer_is_shopifys():
    shop = fake_shopify.FakeShop(SHOP, scopes="read_orders")
    denied = fake_shopify.access_denied(shop, EVENT_MUTATION)
    (error,) = denied["errors"]
    assert error["message"] == (
        "Access denied for fulfillmentEventCreate field. "
        "Required access: `write_fulfillments` access scope."
    )
    assert error["extensions"]["code"] == "ACCESS_DENIED"
    # a token set by hand (no scopes recorded) may do anything
    assert fake_shopify.access_denied(fake_shopify.FakeShop(SHOP), EVENT_MUTATION) is None


def test_the_old_page_and_api_refuse_to_disconnect_an_installed_app(alpha, fake):
    integration = install(fake, alpha)
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/integrations/shopify/")
    assert b"disconnect on Stores" in page.content
    response = owner.post(f"/integrations/shopify/{integration.pk}/disconnect/", follow=True)
    assert b"disconnect it on Settings" in response.content
    api = owner.delete(f"/api/v1/integrations/shopify/{integration.pk}")
    assert api.status_code == 400
    assert "Stores" in api.json()["errors"]["shop_domain"][0]
    with schema_context("alpha"):
        integration.refresh_from_db()
    assert integration.is_active and integration.access_token == fake.shop(SHOP).token
    assert not fake.shop(SHOP).revoked
