"""Who did it: an order's history names the request's actor (audit.services.current_actor),
a user by email or an API key by prefix, whichever channel made the change; "system"
outside a request."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context

from audit.services import current_actor
from dispatch.models import Order, OrderEvent
from dispatch.services import csv_io
from dispatch.services.orders import order_create
from tests.conftest import api_client, login_client, tenant_today

ORDER = {"customer_name": "Ada", "address_line1": "1 High Street", "lat": 51.5, "lng": -0.1}


def _actors(schema: str, external_id: str) -> list[str]:
    with schema_context(schema):
        return list(
            OrderEvent.objects.filter(order__external_id=external_id)
            .order_by("id")
            .values_list("actor", flat=True)
        )


def test_outside_a_request_the_actor_is_the_system(alpha):
    assert current_actor() == "system"
    with schema_context("alpha"):
        order = order_create(
            {**ORDER, "external_id": "SYS-1", "delivery_date": str(tenant_today(1))},
            source=Order.Source.API,
        )
        assert order.events.get().actor == "system"


@pytest.mark.parametrize("caller", ["api_key", "owner"])
def test_api_changes_name_the_key_or_the_user(alpha, caller):
    if caller == "api_key":
        client, actor = api_client(alpha.host, alpha.api_key), f"api_key:{alpha.api_key[4:16]}"
    else:
        client, actor = login_client(alpha.host, alpha.owner_email), f"user:{alpha.owner_email}"
    body = {**ORDER, "external_id": f"API-{caller}", "delivery_date": str(tenant_today(1))}
    created = client.post("/api/v1/orders", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    client.post(f"/api/v1/orders/{created.json()['id']}/cancel", {"reason": "test"})
    assert _actors("alpha", f"API-{caller}") == [actor, actor]


def test_a_csv_import_names_whoever_commits_it(alpha):
    text = f"Reference,Customer,Address,Date\nCSV-1,Ada,1 High Street,{tenant_today(1)}\n"
    client = api_client(alpha.host, alpha.api_key)
    upload = client.post("/api/v1/imports?filename=o.csv", text, content_type="text/csv").json()
    assert client.get(f"/api/v1/imports/{upload['id']}/preview").status_code == 200
    assert client.post(f"/api/v1/imports/{upload['id']}/commit").status_code == 200
    assert _actors("alpha", "CSV-1") == [f"api_key:{alpha.api_key[4:16]}"]

    page = login_client(alpha.host, alpha.dispatcher_email)
    text = text.replace("CSV-1", "CSV-2")
    with schema_context("alpha"):
        csv_import = csv_io.csv_import_start(filename="o.csv", content=text)
        csv_io.csv_import_preview(csv_import=csv_import)
    assert page.post(f"/imports/{csv_import.pk}/import/").status_code == 302
    assert _actors("alpha", "CSV-2") == [f"user:{alpha.dispatcher_email}"]
