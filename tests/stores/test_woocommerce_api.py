"""Connecting a WooCommerce store: the owner's API and the Stores page's section (field
errors, secrets kept and never shown, disconnecting), tenant by tenant."""

from __future__ import annotations

import logging

import pytest
from django_tenants.utils import schema_context

from stores.models import WooCommerceStore
from stores.services import woocommerce
from tests.conftest import api_client, login_client
from tests.stores import fake_woocommerce as fw

API = "/api/v1/integrations/woocommerce"
PAGE = "/settings/stores/"
SHOP = "https://shop.example.com"
SECRETS = (fw.CONSUMER_KEY, fw.CONSUMER_SECRET, fw.WEBHOOK_SECRET)


@pytest.fixture
def owner_api(alpha):
    client = login_client(alpha.host, alpha.owner_email)
    client.defaults["HTTP_HOST"] = alpha.host
    return client


def put(client, body: dict):
    return client.put(API, body, content_type="application/json")


FULL = {
    "url": "HTTPS://Shop.Example.com/",
    "consumer_key": fw.CONSUMER_KEY,
    "consumer_secret": fw.CONSUMER_SECRET,
    "webhook_secret": fw.WEBHOOK_SECRET,
}


def test_the_owner_connects_a_store_and_never_sees_its_secrets_again(alpha, owner_api, caplog):
    caplog.set_level(logging.DEBUG)
    response = put(owner_api, FULL)
    assert response.status_code == 200, response.content
    saved = response.json()
    assert saved["url"] == SHOP and saved["is_active"] is True
    assert (saved["keys_set"], saved["webhook_secret_set"]) == (True, True)
    overview = owner_api.get(API)
    assert overview.status_code == 200
    body = overview.json()
    assert body["webhook_url"] == f"http://{alpha.host}{API}/webhooks"
    assert body["topics"] == ["order.created", "order.updated", "order.deleted", "order.restored"]
    assert [s["url"] for s in body["stores"]] == [SHOP]
    detail = owner_api.get(f"{API}/{saved['id']}")
    for text in (response.content, overview.content, detail.content):
        assert not any(secret.encode() in text for secret in SECRETS)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert not any(secret in logged for secret in SECRETS)


def test_saving_again_with_empty_secrets_keeps_them(alpha, owner_api):
    put(owner_api, FULL)
    response = put(owner_api, {"url": SHOP, "consumer_key": "", "webhook_secret": ""})
    assert response.status_code == 200
    with schema_context("alpha"):
        store = WooCommerceStore.objects.get()
    assert (store.consumer_key, store.consumer_secret, store.webhook_secret) == SECRETS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "shop.example.com", "webhook_secret": "s3cret-s3cret"}, "url"),
        ({"url": "https://a:b@shop.example.com", "webhook_secret": "s3cret-s3cret"}, "url"),
        ({"url": SHOP}, "webhook_secret"),
        ({**FULL, "consumer_key": "cs_" + "1" * 40}, "consumer_key"),
        ({**FULL, "consumer_secret": "not-a-secret"}, "consumer_secret"),
        (
            {"url": SHOP, "webhook_secret": "x" * 20, "consumer_key": fw.CONSUMER_KEY},
            "consumer_secret",
        ),
        ({**FULL, "shop_domain": "x"}, "shop_domain"),
        ({**FULL, "url": 12}, "url"),
    ],
)
def test_bad_input_is_a_field_error(alpha, owner_api, body, field):
    response = put(owner_api, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    with schema_context("alpha"):
        assert not WooCommerceStore.objects.exists()


def test_https_is_required_when_the_setting_says(alpha, owner_api, settings):
    settings.STORE_REQUIRE_HTTPS = True
    response = put(owner_api, {**FULL, "url": "http://shop.example.com"})
    assert response.status_code == 400 and "https" in response.content.decode()
    assert put(owner_api, FULL).status_code == 200


def test_delete_disconnects_and_webhooks_are_refused(alpha, owner_api):
    pk = put(owner_api, FULL).json()["id"]
    response = owner_api.delete(f"{API}/{pk}")
    assert response.status_code == 200 and response.json()["is_active"] is False
    raw = fw.body(fw.order())
    hook = api_client(alpha.host).post(
        f"{API}/webhooks", raw, content_type="application/json", **fw.headers(raw, source=SHOP)
    )
    assert hook.status_code == 401
    assert put(owner_api, {"url": SHOP}).json()["is_active"] is True  # reconnected, secrets kept


def test_only_the_owner_may_connect_a_store(alpha):
    assert put(api_client(alpha.host, alpha.api_key), FULL).status_code == 403
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.put(API, FULL, content_type="application/json").status_code == 403
    assert dispatcher.get(PAGE).status_code in (302, 403)


def test_betas_api_never_shows_alphas_stores(alpha, beta, owner_api):
    pk = put(owner_api, FULL).json()["id"]
    beta_owner = login_client(beta.host, beta.owner_email)
    assert beta_owner.get(API).json()["stores"] == []
    assert beta_owner.get(f"{API}/{pk}").status_code == 404
    assert beta_owner.delete(f"{API}/{pk}").status_code == 404
    with schema_context("alpha"):
        assert WooCommerceStore.objects.get().is_active


# --- the Stores page ----------------------------------------------------------------------


def test_the_page_shows_how_to_connect_and_the_stores(alpha, owner_api):
    with schema_context("alpha"):
        store = woocommerce.store_save(url=SHOP, webhook_secret=fw.WEBHOOK_SECRET)
        woocommerce.WooCommerceStore.objects.filter(pk=store.pk).update(
            last_error="Order 5: The store refused the API keys (401)."
        )
    page = owner_api.get(PAGE).content.decode()
    assert f"http://{alpha.host}{API}/webhooks" in page
    assert "Order created" in page and "Order deleted" in page
    assert SHOP in page and "not set (nothing is written back)" in page
    assert "The store refused the API keys (401)." in page
    assert fw.WEBHOOK_SECRET not in page


def test_the_form_saves_and_shows_field_errors(alpha, owner_api):
    save = "/settings/stores/woocommerce/"
    response = owner_api.post(save, {"url": "ftp://shop", "consumer_key": "nope"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Use the store&#x27;s address" in text and "starts with ck_" in text
    assert "Paste the secret of the store&#x27;s webhooks." in text
    response = owner_api.post(save, FULL)
    assert response.status_code == 302 and response["Location"].endswith("#woocommerce")
    with schema_context("alpha"):
        store = WooCommerceStore.objects.get()
    assert store.url == SHOP
    response = owner_api.post(f"/settings/stores/woocommerce/{store.pk}/disconnect/")
    assert response.status_code == 302
    store.refresh_from_db()
    assert not store.is_active
    assert "Disconnected" in owner_api.get(PAGE).content.decode()
