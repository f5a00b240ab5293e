"""Connecting a store: the service's checks, the owner's page and the owner's API."""

from __future__ import annotations

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import ShopifyIntegration, WebhookEvent
from dispatch.services import shopify
from tests.conftest import api_client, login_client
from tests.dispatch import shopify_payloads as sp

PAGE = "/integrations/shopify/"
API = "/api/v1/integrations/shopify"


@pytest.mark.parametrize(
    ("domain", "secret", "field"),
    [
        ("bloom.com", sp.SECRET, "shop_domain"),
        ("evil.myshopify.com.attacker.io", sp.SECRET, "shop_domain"),
        ("bloom.myshopify.com/admin", sp.SECRET, "shop_domain"),
        ("-bloom.myshopify.com", sp.SECRET, "shop_domain"),
        ("bl00m_shop.myshopify.com", sp.SECRET, "shop_domain"),
        ("bloom.myshopify.com", "", "client_secret"),
        ("bloom.myshopify.com", "short", "client_secret"),
        ("bloom.myshopify.com", "x" * 256, "client_secret"),
    ],
)
def test_integration_input_is_checked(alpha, domain, secret, field):
    with schema_context("alpha"), pytest.raises(ValidationError) as exc:
        shopify.integration_save(shop_domain=domain, client_secret=secret)
    assert field in exc.value.message_dict


def test_saving_again_updates_the_store_and_an_empty_secret_keeps_the_saved_one(alpha):
    with schema_context("alpha"):
        first = shopify.integration_save(
            shop_domain="https://Bloom-Florists.myshopify.com/", client_secret=sp.SECRET
        )
        shopify.integration_deactivate(integration=first)
        again = shopify.integration_save(shop_domain=sp.SHOP, client_secret="")
        assert (again.pk, again.shop_domain, again.is_active) == (first.pk, sp.SHOP, True)
        assert again.client_secret == sp.SECRET
        assert ShopifyIntegration.objects.count() == 1


def test_owner_connects_a_store_on_the_page(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get(PAGE).content.decode()
    assert f"http://{alpha.host}/api/v1/integrations/shopify/webhooks" in page
    assert "No store yet." in page
    saved = owner.post(PAGE, {"shop_domain": sp.SHOP, "client_secret": sp.SECRET}, follow=True)
    assert saved.redirect_chain == [("/integrations/shopify/", 302)]
    content = saved.content.decode()
    assert f"{sp.SHOP} is connected." in content
    assert sp.SECRET not in content  # never shown back
    assert re.search(rf"<td>{re.escape(sp.SHOP)}</td><td>set</td><td>Connected</td>", content)
    with schema_context("alpha"):
        assert ShopifyIntegration.objects.get().client_secret == sp.SECRET


def test_a_bad_store_address_is_shown_on_its_field(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(PAGE, {"shop_domain": "bloom.com", "client_secret": sp.SECRET})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["shop_domain"] == ["Use the store's address, like your-store.myshopify.com."]
    assert sp.SECRET not in response.content.decode()  # not even echoed into the field
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.exists()


def test_owner_disconnects_a_store_and_sees_the_recent_webhooks(alpha):
    with schema_context("alpha"):
        integration = shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
        WebhookEvent.objects.create(
            event_id="ev-1",
            topic="orders/create",
            shop_domain=sp.SHOP,
            payload={},
            status="failed",
            detail="country: 'XX' is not an ISO 3166-1 alpha-2 country code.",
        )
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get(PAGE).content.decode()
    assert "orders/create" in page and "Failed" in page and "country: &#x27;XX&#x27;" in page
    done = owner.post(f"{PAGE}{integration.pk}/disconnect/", follow=True)
    assert f"{sp.SHOP} is disconnected." in done.content.decode()
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.get().is_active


@pytest.mark.parametrize("role", ["dispatcher", "driver"])
def test_only_owners_have_the_page(alpha, role):
    client = login_client(alpha.host, getattr(alpha, f"{role}_email"))
    assert client.get(PAGE).status_code == 403
    assert (
        client.post(PAGE, {"shop_domain": sp.SHOP, "client_secret": sp.SECRET}).status_code == 403
    )


def put(client, body):
    return client.put(API, json.dumps(body), content_type="application/json")


def test_owner_configures_a_store_through_the_api(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    created = put(owner, {"shop_domain": sp.SHOP, "client_secret": sp.SECRET})
    assert created.status_code == 200, created.json()
    body = created.json()
    assert (body["shop_domain"], body["is_active"], body["secret_set"]) == (sp.SHOP, True, True)
    assert "client_secret" not in body
    overview = owner.get(API).json()
    assert overview["webhook_url"] == f"http://{alpha.host}/api/v1/integrations/shopify/webhooks"
    assert "orders/create" in overview["topics"]
    assert [s["shop_domain"] for s in overview["stores"]] == [sp.SHOP]
    assert sp.SECRET not in json.dumps(overview)
    removed = owner.delete(f"{API}/{body['id']}")
    assert (removed.status_code, removed.json()["is_active"]) == (200, False)
    assert owner.get(f"{API}/{body['id']}").json()["is_active"] is False
    assert owner.get(f"{API}/999999").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"shop_domain": "bloom.com", "client_secret": sp.SECRET}, "shop_domain"),
        ({"shop_domain": sp.SHOP}, "client_secret"),
        ({"shop_domain": sp.SHOP, "client_secret": sp.SECRET, "is_active": False}, "is_active"),
        ({"client_secret": sp.SECRET}, "shop_domain"),
        ([1, 2], "non_field_errors"),
    ],
)
def test_bad_configuration_is_400_with_field_errors(alpha, body, field):
    owner = login_client(alpha.host, alpha.owner_email)
    response = put(owner, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_configuration_api_is_for_owners_only(alpha):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get(API).status_code == 403
    assert put(dispatcher, {"shop_domain": sp.SHOP, "client_secret": sp.SECRET}).status_code == 403
    key = api_client(alpha.host, alpha.api_key)
    assert key.get(API).status_code == 403
    assert api_client(alpha.host).get(API).status_code in (401, 403)


@pytest.mark.parametrize(
    "typed",
    [
        "bloom-florists",
        "Bloom-Florists.myshopify.com",
        "https://bloom-florists.myshopify.com/",
        "https://admin.shopify.com/store/bloom-florists",
        "admin.shopify.com/store/bloom-florists/orders?x=1",
    ],
)
def test_the_store_address_is_read_from_what_an_owner_pastes(typed):
    assert shopify._shop_domain(typed) == "bloom-florists.myshopify.com"
