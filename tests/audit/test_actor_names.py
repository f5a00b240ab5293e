"""Histories name who acted ("Maria Lind (dispatcher)"), never an actor string such as
"user:maria@…" or "driver:3", resolved for a whole page at once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import User
from audit.selectors import actor_name, actor_names
from dispatch.models import Driver
from tenants.services.provisioning import api_key_create

pytestmark = pytest.mark.django_db


def test_every_kind_of_actor_is_named(alpha, beta):
    shop_key, _ = api_key_create(tenant=alpha.tenant, name="Shop")
    other_key, _ = api_key_create(tenant=beta.tenant, name="Beta's key")
    with schema_context(alpha.tenant.schema_name):
        User.objects.filter(email=alpha.dispatcher_email).update(name="Maria Lind")
        anna = Driver.objects.create(name="Anna Virtanen")
        names = actor_names(
            [
                f"user:{alpha.dispatcher_email}",
                f"user:{alpha.owner_email}",
                f"driver:{anna.pk}",
                f"api_key:{shop_key.prefix}",
                f"api_key:{other_key.prefix}",
                "system:re-optimise",
                "system",
                "anonymous",
                "shopify:flowers.myshopify.com",
                "user:gone@alpha.test",
                "driver:999999",
                "",
            ]
        )
    assert names == {
        f"user:{alpha.dispatcher_email}": "Maria Lind (dispatcher)",
        f"user:{alpha.owner_email}": f"{alpha.owner_email} (owner)",
        f"driver:{anna.pk}": "Anna Virtanen (driver)",
        f"api_key:{shop_key.prefix}": "API key 'Shop'",
        f"api_key:{other_key.prefix}": f"API key {other_key.prefix}",  # another tenant's: not named
        "system:re-optimise": "System: re-optimise",
        "system": "System",
        "anonymous": "Someone not signed in",
        "shopify:flowers.myshopify.com": "Shopify: flowers.myshopify.com",
        "user:gone@alpha.test": "gone@alpha.test",
        "driver:999999": "Driver #999999",
        "": "—",
    }


def _rows(count: int, driver: Driver, email: str) -> list[SimpleNamespace]:
    actors = [f"user:{email}", f"driver:{driver.pk}", "api_key:nosuch", "system:demo"]
    return [SimpleNamespace(actor=actors[i % len(actors)]) for i in range(count)]


def test_a_page_of_rows_costs_one_query_per_kind_of_actor(alpha):
    page = Template(
        "{% load actor_names %}{% for e in events|with_actor_names %}{{ e.actor_name }};"
        "{% endfor %}"
    )
    with schema_context(alpha.tenant.schema_name):
        driver = Driver.objects.create(name="Anna Virtanen")
        counts = []
        for count in (4, 40):
            rows = _rows(count, driver, alpha.dispatcher_email)
            with CaptureQueriesContext(connection) as queries:
                text = page.render(Context({"events": rows}))
            counts.append(len(queries))
        assert text.split(";")[:4] == [
            f"{alpha.dispatcher_email} (dispatcher)",
            "Anna Virtanen (driver)",
            "API key nosuch",
            "System: demo",
        ]
        assert counts[0] == counts[1] <= 4  # users, drivers, keys (and the tenant's row)
        assert actor_name("system:re-optimise") == "System: re-optimise"
