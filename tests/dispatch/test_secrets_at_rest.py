"""Store secrets are encrypted at rest: what the database holds is a Fernet token, never
the secret; secrets saved before encryption are encrypted by migration 0013."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django_tenants.utils import schema_context

from dispatch.models import ShopifyIntegration
from dispatch.services import shopify

pytestmark = pytest.mark.django_db

SECRET = "shpss_0123456789abcdef0123456789abcdef"
TOKEN = "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"


def _raw(pk: int) -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret, access_token FROM dispatch_shopifyintegration WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()


def test_secrets_and_tokens_are_stored_encrypted_and_read_back(alpha):
    with schema_context(alpha.tenant.schema_name):
        integration = shopify.integration_save(
            shop_domain="rest.myshopify.com", client_secret=SECRET
        )
        integration.access_token = TOKEN
        integration.save()
        secret, token = _raw(integration.pk)
        assert SECRET not in secret and TOKEN not in token
        assert secret.startswith("gAAAA") and token.startswith("gAAAA")  # Fernet tokens
        again = ShopifyIntegration.objects.get(pk=integration.pk)
        assert (again.client_secret, again.access_token) == (SECRET, TOKEN)


def test_the_migration_encrypts_secrets_saved_in_plain_text(alpha):
    migration = importlib.import_module("dispatch.migrations.0013_encrypt_shopify_secrets")
    with schema_context(alpha.tenant.schema_name):
        integration = shopify.integration_save(
            shop_domain="old.myshopify.com", client_secret=SECRET
        )
        with connection.cursor() as cursor:  # as 0012 left a secret saved before it
            cursor.execute(
                "UPDATE dispatch_shopifyintegration SET client_secret = %s WHERE id = %s",
                [SECRET, integration.pk],
            )
        assert _raw(integration.pk)[0] == SECRET
        migration.encrypt(apps, None)
        secret, _ = _raw(integration.pk)
        assert secret.startswith("gAAAA") and SECRET not in secret
        assert ShopifyIntegration.objects.get(pk=integration.pk).client_secret == SECRET
        migration.encrypt(apps, None)  # run twice: still the same secret, encrypted once
        assert ShopifyIntegration.objects.get(pk=integration.pk).client_secret == SECRET
