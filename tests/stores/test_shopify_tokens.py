"""Expiring offline tokens (Shopify requires them of public apps from 1 January 2027): the
install asks for one, its refresh token is kept encrypted, a token near its end is renewed
before a call, a 401 on a token that should still be good is renewed once and tried again,
concurrent renewals happen once, and a refused renewal tells the owner to install again."""

# ruff: noqa: F811 - `fake`, the fixture imported from test_shopify_install, is a parameter
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import ShopifyIntegration
from stores.services import shopify_admin, shopify_app
from stores.services.sources.base import PermanentError
from tests.conftest import PASSWORD
from tests.stores.test_shopify_install import (
    SHOP,
    fake,  # noqa: F401 - the fixture
    install,
)

QUERY = "query Shop { shop { name myshopifyDomain } }"


def _raw_refresh(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT refresh_token FROM dispatch_shopifyintegration WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def refreshes(fake) -> list[dict]:
    return [
        r
        for r in fake.requests
        if r["path"].endswith("/admin/oauth/access_token")
        and r["body"].get("grant_type") == "refresh_token"
    ]


@pytest.mark.django_db
def test_the_install_asks_for_an_expiring_token_and_keeps_its_refresh_token_encrypted(
    alpha, fake, caplog
):
    caplog.set_level(logging.DEBUG)
    integration = install(fake, alpha)
    shop = fake.shop(SHOP)
    exchange = [r for r in fake.requests if r["path"].endswith("/admin/oauth/access_token")]
    assert exchange[0]["body"]["expiring"] == 1
    with schema_context("alpha"):
        assert integration.refresh_token == shop.refresh_token
        assert shop.refresh_token not in _raw_refresh(integration.pk)
        assert _raw_refresh(integration.pk).startswith("gAAAA")
        left = integration.token_expires_at - timezone.now()
        assert dt.timedelta(minutes=59) < left <= dt.timedelta(hours=1)
        assert integration.refresh_token_expires_at > timezone.now() + dt.timedelta(days=89)
    assert shop.refresh_token not in caplog.text and shop.token not in caplog.text


@pytest.mark.django_db
def test_a_token_near_its_end_is_renewed_before_the_call(alpha, fake, caplog):
    caplog.set_level(logging.DEBUG)
    integration = install(fake, alpha)
    shop = fake.shop(SHOP)
    old_token, old_refresh = shop.token, shop.refresh_token
    shop.expire_token()
    with schema_context("alpha"):
        ShopifyIntegration.objects.filter(pk=integration.pk).update(
            token_expires_at=timezone.now() + dt.timedelta(minutes=2)
        )
        integration.refresh_from_db()
        data = shopify_admin.graphql(integration, QUERY)
        assert data["shop"]["myshopifyDomain"] == SHOP
        assert (
            len(refreshes(fake)) == 1 and refreshes(fake)[0]["body"]["refresh_token"] == old_refresh
        )
        stored = ShopifyIntegration.objects.get(pk=integration.pk)
        assert stored.access_token == shop.token != old_token
        assert stored.refresh_token == shop.refresh_token != old_refresh  # replaced
        assert stored.token_expires_at > timezone.now() + dt.timedelta(minutes=55)
        # the GraphQL call went out with the new token, never the expired one
        calls = fake.graphql_calls("shop")
        assert calls[-1]["token"] == shop.token
    assert old_refresh not in caplog.text and shop.token not in caplog.text


@pytest.mark.django_db
def test_a_401_on_a_token_thought_good_is_renewed_once_and_tried_again(alpha, fake):
    integration = install(fake, alpha)
    shop = fake.shop(SHOP)
    shop.expire_token()  # Shopify's clock says it is over; ours says it has most of an hour
    with schema_context("alpha"):
        integration.refresh_from_db()
        assert shopify_admin.graphql(integration, QUERY)["shop"]["name"]
        assert len(refreshes(fake)) == 1
        assert [c["token"] for c in fake.graphql_calls("shop")][-2:][-1] == shop.token


@pytest.mark.django_db
def test_a_refused_renewal_is_permanent_and_says_to_install_again(alpha, fake):
    integration = install(fake, alpha)
    shop = fake.shop(SHOP)
    shop.expire_token()
    shop.refresh_token = "shprt_not-the-one-we-hold"  # e.g. it expired after 90 days
    with schema_context("alpha"):
        integration.refresh_from_db()
        with pytest.raises(PermanentError, match="install the app again"):
            shopify_admin.graphql(integration, QUERY)
        assert len(refreshes(fake)) == 1  # asked once, not in a loop


@pytest.mark.django_db
def test_a_non_expiring_token_is_used_as_it_is(alpha, fake):
    integration = install(fake, alpha)
    shop = fake.shop(SHOP)
    with schema_context("alpha"):  # as a shop installed before expiring tokens
        ShopifyIntegration.objects.filter(pk=integration.pk).update(
            refresh_token=None, token_expires_at=None, refresh_token_expires_at=None
        )
        shop.token_expires, shop.refresh_token = None, ""
        integration.refresh_from_db()
        assert shopify_admin.graphql(integration, QUERY)["shop"]["name"]
        assert not refreshes(fake)


@pytest.mark.django_db
def test_uninstalling_with_an_expired_token_renews_it_to_revoke_the_app(alpha, fake):
    integration = install(fake, alpha)
    shop = fake.shop(SHOP)
    shop.expire_token()
    with schema_context("alpha"):
        ShopifyIntegration.objects.filter(pk=integration.pk).update(
            token_expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
        integration.refresh_from_db()
        shopify_app.uninstall(integration=integration)
        assert shop.revoked  # Shopify was told: the app is gone from the shop
        stored = ShopifyIntegration.objects.get(pk=integration.pk)
        assert not stored.is_active and stored.access_token is None
        assert stored.refresh_token is None and stored.token_expires_at is None


def test_two_workers_renew_the_token_once(django_db_setup, django_db_blocker, fake):
    """Committed data, real threads with their own connections (as two workers)."""
    from tenants.services.provisioning import tenant_provision

    shop = fake.shop(SHOP)
    shop.token, shop.refresh_token = "shpat_expired", "shprt_current"
    shop.expire_token()
    with django_db_blocker.unblock():
        tenant = tenant_provision(
            name="Renew Co",
            slug=f"renew-{secrets.token_hex(3)}",
            owner_email="owner@renew.test",
            owner_password=PASSWORD,
            country="GB",
            time_zone="Europe/London",
        ).tenant
        with schema_context(tenant.schema_name):
            integration = ShopifyIntegration.objects.create(
                shop_domain=SHOP,
                mode=ShopifyIntegration.Mode.APP,
                access_token="shpat_expired",
                refresh_token="shprt_current",
                token_expires_at=timezone.now() - dt.timedelta(minutes=1),
            )
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            with django_db_blocker.unblock(), schema_context(tenant.schema_name):
                mine = ShopifyIntegration.objects.get(pk=integration.pk)
                start.wait(timeout=10)
                shopify_admin.graphql(mine, QUERY)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    # one renewal: the second worker waited on the row and found the new token (a second
    # renewal would have spent the refresh token the first one just replaced)
    assert shop.refreshes == 1
    with django_db_blocker.unblock(), schema_context(tenant.schema_name):
        assert ShopifyIntegration.objects.get(pk=integration.pk).access_token == shop.token


@pytest.mark.django_db
def test_the_daily_job_renews_refresh_tokens_before_they_expire(alpha, fake):
    integration = install(fake, alpha)
    other = install(fake, alpha, "bloom-outlet.myshopify.com")
    with schema_context("alpha"):
        ShopifyIntegration.objects.filter(pk=integration.pk).update(
            refresh_token_expires_at=timezone.now() + dt.timedelta(days=20)
        )
        assert shopify_admin.tokens_keep_alive() == 1  # the other has 90 days left
        renewed = ShopifyIntegration.objects.get(pk=integration.pk)
        assert renewed.refresh_token == fake.shop(SHOP).refresh_token
        assert renewed.refresh_token_expires_at > timezone.now() + dt.timedelta(days=89)
        assert ShopifyIntegration.objects.get(pk=other.pk).refresh_token == other.refresh_token
        # a store that no longer renews: shown on the store, not retried in a loop
        ShopifyIntegration.objects.filter(pk=integration.pk).update(
            refresh_token_expires_at=timezone.now() + dt.timedelta(days=1)
        )
        fake.shop(SHOP).revoked = True
        assert shopify_admin.tokens_keep_alive() == 0
        assert (
            "install the app again" in ShopifyIntegration.objects.get(pk=integration.pk).last_error
        )
