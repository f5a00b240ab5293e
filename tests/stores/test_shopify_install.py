"""Installing the Shopify app, against the fake Shopify as a real HTTP server: the owner's
install link, Shopify's authorize page approved, the callback on the public host; the
token stored encrypted and never logged; every refusal of the callback storing nothing;
the app's webhooks subscribed by the app itself."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import ShopifyIntegration
from stores.services import shopify_app
from tenants.models import StoreInstall, StoreShop
from tests.conftest import host_client, login_client
from tests.stores import fake_shopify
from tests.stores.fake_shopify import running_fake_shopify

SHOP = "bloom-florists.myshopify.com"
PUBLIC = "localhost"


@pytest.fixture
def fake(settings):
    """The fake Shopify, with this deployment's app pointed at it."""
    with running_fake_shopify() as fake:
        settings.SHOPIFY_SHOP_URL = fake.shop_url
        settings.SHOPIFY_API_KEY = fake_shopify.API_KEY
        settings.SHOPIFY_API_SECRET = fake_shopify.API_SECRET
        settings.PUBLIC_BASE_URL = f"http://{PUBLIC}"
        settings.STORE_TIMEOUT_S = 5
        yield fake


def start(fixture, shop: str = SHOP) -> str:
    """The owner presses Install on the Stores page: the authorize URL it redirects to."""
    owner = login_client(fixture.host, fixture.owner_email)
    response = owner.post("/settings/stores/shopify/install", {"shop": shop})
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    link = html.unescape(re.search(r'id="shopify-authorize"\s+href="([^"]+)"', page).group(1))
    assert f'content="0;url={html.escape(link)}"' in page  # the browser goes there at once
    return link


def approve(fake, authorize_url: str) -> str:
    """The shop owner approves on Shopify's page: the callback URL Shopify redirects to."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200 and "Install app" in page.text
    href = html.unescape(re.search(r'id="install" href="([^"]+)"', page.text).group(1))
    back = requests.get(fake.url + href, allow_redirects=False, timeout=5)
    assert back.status_code == 302
    return back.headers["Location"]


def callback(url: str, owner=None):
    """Shopify's redirect followed by the browser: to the public host, which sends it on
    to the install's tenant's host, where `owner` (a signed-in client; None: the public
    host's answer) finishes it."""
    parts = urlsplit(url)
    assert parts.path == "/shopify/callback"
    public = host_client(PUBLIC).get(parts.path, dict(parse_qsl(parts.query)))
    if owner is None or public.status_code != 302:
        return public
    onward = urlsplit(public["Location"])
    assert onward.path == "/settings/stores/shopify/callback"
    return owner.get(onward.path, dict(parse_qsl(onward.query)))


def owner_of(fixture):
    return login_client(fixture.host, fixture.owner_email)


def install(fake, fixture, shop: str = SHOP) -> ShopifyIntegration:
    """The whole install, as a browser would go through it."""
    response = callback(approve(fake, start(fixture, shop)), owner_of(fixture))
    assert response.status_code == 302, response.content.decode()
    with schema_context(fixture.tenant.schema_name):
        return ShopifyIntegration.objects.get(shop_domain=shop)


def signed_query(params: dict[str, str]) -> dict[str, str]:
    return {**params, "hmac": fake_shopify.oauth_hmac(params)}


def nothing_stored(fixture, shop: str = SHOP) -> bool:
    with schema_context(fixture.tenant.schema_name):
        kept = ShopifyIntegration.objects.filter(shop_domain=shop).exists()
    return not kept and not StoreShop.objects.filter(shop=shop).exists()


# --- the install --------------------------------------------------------------------------


def test_the_authorize_url_asks_for_an_offline_token_with_only_the_scopes_used(alpha, fake):
    url = start(alpha)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        f"{fake.url}/{SHOP}/admin/oauth/authorize"
    )
    assert query["client_id"] == fake_shopify.API_KEY
    assert query["scope"] == (
        "read_orders,write_merchant_managed_fulfillment_orders,write_fulfillments"
    )
    assert query["redirect_uri"] == "http://localhost/shopify/callback"
    assert len(query["state"]) >= 43  # 256 bits, url-safe
    assert not any(k.startswith("grant_options") for k in query)  # offline: the shop's token
    install = StoreInstall.objects.get()
    assert (install.tenant_id, install.shop) == (alpha.tenant.pk, SHOP)
    assert query["state"] not in install.state_sha256  # only its digest is kept


def test_the_whole_install_connects_the_shop_with_its_token_encrypted_and_never_logged(
    alpha, fake, caplog, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    caplog.set_level(logging.DEBUG)
    original_sync, Conf.SYNC = Conf.SYNC, True  # the queued job runs inline
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = callback(approve(fake, start(alpha)), owner_of(alpha))
    finally:
        Conf.SYNC = original_sync
    assert response.status_code == 302
    assert response["Location"] == f"/settings/stores/?installed={SHOP}"
    token = fake.shop(SHOP).token
    assert token.startswith("shpat_")
    with schema_context("alpha"):
        integration = ShopifyIntegration.objects.get(shop_domain=SHOP)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT access_token FROM dispatch_shopifyintegration WHERE shop_domain = %s",
                [SHOP],
            )
            (raw,) = cursor.fetchone()
    assert integration.mode == "app" and integration.is_active
    assert integration.access_token == token
    assert token not in raw and raw.startswith("gAAAA")  # Fernet, at rest
    assert integration.scopes == (
        "read_orders,write_merchant_managed_fulfillment_orders,write_fulfillments"
    )
    assert integration.installed_at and integration.uninstalled_at is None
    assert StoreShop.objects.get(shop=SHOP).tenant_id == alpha.tenant.pk
    assert not StoreInstall.objects.exists()  # the state is spent
    # the job queued after the commit subscribed the app's webhooks
    assert integration.webhooks_subscribed_at is not None
    assert len(fake.shop(SHOP).webhooks) == len(shopify_app.WEBHOOK_TOPICS)
    # the code exchange was what the fake documents: JSON with the app's credentials
    exchange = [r for r in fake.requests if r["path"].endswith("/admin/oauth/access_token")]
    assert exchange[0]["method"] == "POST"
    assert exchange[0]["body"]["client_id"] == fake_shopify.API_KEY
    # the owner lands on the Stores page, which says so
    page = login_client(alpha.host, alpha.owner_email).get(f"/settings/stores/?installed={SHOP}")
    assert b'id="shopify-installed"' in page.content and SHOP.encode() in page.content
    assert token not in caplog.text
    assert token.encode() not in page.content


def test_the_webhooks_are_subscribed_by_the_app_once(alpha, fake, caplog):
    caplog.set_level(logging.DEBUG)
    integration = install(fake, alpha)
    with schema_context("alpha"):
        assert shopify_app.webhooks_subscribe_job(integration.pk) == "subscribed"
        integration.refresh_from_db()
        assert integration.webhooks_subscribed_at is not None
        hooks = fake.shop(SHOP).webhooks
        assert sorted(h["topic"] for h in hooks) == sorted(shopify_app.WEBHOOK_TOPICS)
        assert {h["uri"] for h in hooks} == {"http://localhost/shopify/webhooks"}
        # again (a job run twice, a reinstall): nothing new
        assert shopify_app.webhooks_subscribe(integration) == []
        assert len(fake.shop(SHOP).webhooks) == 4
    calls = fake.graphql_calls("webhookSubscription")
    assert calls and all(c["token"] == fake.shop(SHOP).token for c in calls)
    assert fake.shop(SHOP).token not in caplog.text


def test_the_sweep_retries_a_shop_whose_webhooks_are_not_subscribed(
    alpha, fake, django_capture_on_commit_callbacks
):
    integration = install(fake, alpha)
    fake.fail_next = [(503, {"errors": "Service unavailable"})]
    with schema_context("alpha"):
        assert shopify_app.webhooks_subscribe_job(integration.pk) == "retry"
        assert ShopifyIntegration.objects.get().webhooks_subscribed_at is None
        with django_capture_on_commit_callbacks() as queued:
            assert shopify_app.webhooks_due() == 1
        assert len(queued) == 1
        assert shopify_app.webhooks_subscribe_job(integration.pk) == "subscribed"
        assert shopify_app.webhooks_due() == 0


def test_a_permanent_subscription_failure_shows_on_the_shop(alpha, fake):
    integration = install(fake, alpha)
    fake.shop(SHOP).revoked = True
    with schema_context("alpha"):
        assert shopify_app.webhooks_subscribe_job(integration.pk) == "failed"
        integration.refresh_from_db()
        refused = "Webhooks not subscribed: Shopify no longer renews"  # the token: revoked
        assert integration.last_error.startswith(refused)
        assert shopify_app.webhooks_due() == 0  # not again before a quarter of an hour


def test_reinstalling_updates_the_same_shop(alpha, fake):
    first = install(fake, alpha)
    second = install(fake, alpha)
    assert first.pk == second.pk and second.access_token == fake.shop(SHOP).token
    assert StoreShop.objects.filter(shop=SHOP).count() == 1


def test_several_shops_in_one_tenant(alpha, fake):
    install(fake, alpha)
    install(fake, alpha, "bloom-outlet.myshopify.com")
    with schema_context("alpha"):
        assert ShopifyIntegration.objects.filter(mode="app", is_active=True).count() == 2
    assert set(StoreShop.objects.values_list("shop", "tenant_id")) == {
        (SHOP, alpha.tenant.pk),
        ("bloom-outlet.myshopify.com", alpha.tenant.pk),
    }


# --- the callback's refusals: each stores nothing --------------------------------------------


def _refused(response, words: str) -> None:
    assert response.status_code == 400
    text = response.content.decode()
    assert "The Shopify app was not installed" in text and words in text


def test_a_tampered_hmac_is_refused(alpha, fake):
    url = approve(fake, start(alpha))
    _refused(callback(url.replace("code=", "code=0"), owner_of(alpha)), "not signed by Shopify")
    assert nothing_stored(alpha)
    assert StoreInstall.objects.count() == 1  # not spent by a forgery


def test_a_reused_state_is_refused(alpha, fake):
    url = approve(fake, start(alpha))
    assert callback(url, owner_of(alpha)).status_code == 302
    with schema_context("alpha"):
        ShopifyIntegration.objects.all().delete()
    StoreShop.objects.all().delete()
    _refused(callback(url, owner_of(alpha)), "already used")
    assert nothing_stored(alpha)


def test_an_expired_state_is_refused(alpha, fake):
    url = approve(fake, start(alpha))
    StoreInstall.objects.update(created_at=timezone.now() - dt.timedelta(minutes=11))
    _refused(callback(url, owner_of(alpha)), "expired")
    assert nothing_stored(alpha)
    assert not StoreInstall.objects.exists()  # spent all the same


def test_a_state_made_for_another_shop_is_refused(alpha, fake):
    # the owner asked for one shop, Shopify came back from another (approved there)
    authorize = start(alpha)
    other = authorize.replace(f"/{SHOP}/", "/other-shop.myshopify.com/")
    _refused(callback(approve(fake, other), owner_of(alpha)), "another store")
    assert nothing_stored(alpha) and nothing_stored(alpha, "other-shop.myshopify.com")


def test_a_code_shopify_does_not_accept_is_refused(alpha, fake):
    state = dict(parse_qsl(urlsplit(start(alpha)).query))["state"]
    query = signed_query(
        {
            "code": "not-a-code-shopify-gave",
            "shop": SHOP,
            "state": state,
            "timestamp": str(int(time.time())),
        }
    )
    url = f"http://{PUBLIC}/shopify/callback?{urlencode(query)}"
    _refused(callback(url, owner_of(alpha)), "did not accept")
    assert nothing_stored(alpha)


def test_an_old_timestamp_or_a_foreign_shop_address_is_refused(alpha, fake):
    state = dict(parse_qsl(urlsplit(start(alpha)).query))["state"]
    old = str(int(time.time()) - 2 * 86400)
    query = signed_query({"code": "c", "shop": SHOP, "state": state, "timestamp": old})
    _refused(host_client(PUBLIC).get("/shopify/callback", query), "too old")
    query = signed_query(
        {"code": "c", "shop": "evil.example.com", "state": state, "timestamp": old}
    )
    _refused(host_client(PUBLIC).get("/shopify/callback", query), "not a Shopify store")
    assert nothing_stored(alpha)


def test_scopes_not_granted_are_refused_and_the_token_given_back(alpha, fake):
    # the shop granted less than asked (the owner's approval page was edited)
    authorize = start(alpha)
    assert "%2Cwrite_merchant_managed_fulfillment_orders" in authorize
    url = approve(fake, authorize.replace("%2Cwrite_merchant_managed_fulfillment_orders", ""))
    _refused(callback(url, owner_of(alpha)), "did not grant")
    assert nothing_stored(alpha)
    assert fake.shop(SHOP).revoked


def test_a_callback_without_a_query_is_a_page_not_an_error(alpha, fake):
    _refused(host_client(PUBLIC).get("/shopify/callback"), "not signed by Shopify")
    _refused(owner_of(alpha).get("/settings/stores/shopify/callback"), "not signed by Shopify")


def test_without_the_app_configured_the_install_is_refused(alpha, settings):
    settings.SHOPIFY_API_KEY = settings.SHOPIFY_API_SECRET = ""
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post("/settings/stores/shopify/install", {"shop": SHOP}, follow=True)
    assert b"not set up on this server" in response.content
    assert not StoreInstall.objects.exists()
    page = owner.get("/settings/stores/")
    assert b'id="shopify-not-configured"' in page.content
    assert b"Connect by hand (custom app)".lower() in page.content.lower()
    query = signed_query({"code": "c", "shop": SHOP, "state": "s", "timestamp": "1"})
    _refused(host_client(PUBLIC).get("/shopify/callback", query), "not set up")


# --- across tenants -------------------------------------------------------------------------


def test_a_shop_installed_by_alpha_cannot_be_installed_by_beta(alpha, beta, fake):
    install(fake, alpha)
    owner = login_client(beta.host, beta.owner_email)
    response = owner.post("/settings/stores/shopify/install", {"shop": SHOP}, follow=True)
    assert b"connected to another account" in response.content
    assert StoreShop.objects.get(shop=SHOP).tenant_id == alpha.tenant.pk
    assert not StoreInstall.objects.filter(tenant=beta.tenant).exists()
    with schema_context("beta"):
        assert not ShopifyIntegration.objects.exists()


def test_a_shop_uninstalled_by_alpha_may_be_installed_by_beta(alpha, beta, fake):
    integration = install(fake, alpha)
    with schema_context("alpha"):
        shopify_app.uninstall(integration=integration)
    install(fake, beta)
    # beta holds it now; alpha's entry stays, uninstalled, for the compliance webhooks
    holder = StoreShop.objects.get(shop=SHOP, uninstalled_at__isnull=True)
    assert holder.tenant_id == beta.tenant.pk
    assert StoreShop.objects.get(shop=SHOP, tenant=alpha.tenant).uninstalled_at is not None
    with schema_context("alpha"):
        assert not ShopifyIntegration.objects.get().is_active


def test_the_public_host_sends_the_callback_on_to_the_installs_tenant(alpha, beta, fake):
    url = approve(fake, start(beta))
    onward = callback(url)["Location"]
    assert onward.startswith(f"http://{beta.host}/settings/stores/shopify/callback?")
    assert urlsplit(onward).query == urlsplit(url).query  # Shopify's signed query, as it was
    assert StoreInstall.objects.count() == 1  # nothing spent or stored on the public host
    # alpha's owner cannot finish it on alpha's host either
    query = dict(parse_qsl(urlsplit(url).query))
    _refused(owner_of(alpha).get("/settings/stores/shopify/callback", query), "someone else")
    assert nothing_stored(alpha) and nothing_stored(beta)


def test_a_shop_owner_lured_into_someone_elses_install_link_connects_nothing(alpha, fake, caplog):
    """An attacker starts an install of a victim's shop in their own account and sends the
    victim Shopify's approval link: the victim's browser is sent on to the attacker's host,
    where only the attacker's signed-in owner could finish it."""
    url = approve(fake, start(alpha))  # approved by the victim
    onward = urlsplit(callback(url)["Location"])
    victim = host_client(alpha.host)  # not signed in to the attacker's account
    response = victim.get(onward.path, dict(parse_qsl(onward.query)))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert nothing_stored(alpha)
    assert not [r for r in fake.requests if r["path"].endswith("/admin/oauth/access_token")]


def test_another_owner_of_the_same_account_cannot_finish_it(alpha, fake):
    from accounts.services import user_create
    from tests.conftest import PASSWORD

    with schema_context("alpha"):
        user_create(email="second-owner@alpha.test", password=PASSWORD, role="owner")
    url = approve(fake, start(alpha))
    other = login_client(alpha.host, "second-owner@alpha.test")
    _refused(callback(url, other), "someone else")
    assert nothing_stored(alpha)


def test_the_install_api_answers_the_authorize_url_to_owners_only(alpha, fake):
    from tests.conftest import api_client

    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(
        "/api/v1/integrations/shopify/install", {"shop": SHOP}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["authorize_url"].startswith(f"{fake.url}/{SHOP}/admin/oauth/authorize?")
    bad = owner.post(
        "/api/v1/integrations/shopify/install",
        {"shop": "not a shop"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "shop" in bad.json()["errors"]
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert (
        dispatcher.post(
            "/api/v1/integrations/shopify/install", {"shop": SHOP}, content_type="application/json"
        ).status_code
        == 403
    )
    key = api_client(alpha.host, alpha.api_key)
    assert key.post("/api/v1/integrations/shopify/install", {"shop": SHOP}).status_code == 403
    assert StoreInstall.objects.count() == 1


def test_the_callback_query_signature_follows_shopifys_rules(fake):
    params = {"code": "a&b", "shop": SHOP, "state": "x%y", "timestamp": "1"}
    message = "code=a%26b&shop=" + SHOP + "&state=x%25y&timestamp=1"
    import hashlib
    import hmac as hmac_

    digest = hmac_.new(fake_shopify.API_SECRET.encode(), message.encode(), hashlib.sha256)
    assert shopify_app.query_signature_valid({**params, "hmac": digest.hexdigest()})
    assert not shopify_app.query_signature_valid({**params, "hmac": "0" * 64})
    assert not shopify_app.query_signature_valid(params)
