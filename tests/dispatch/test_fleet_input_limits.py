"""Depots, vehicles and drivers: the limits the API publishes are the model columns' that
the fleet services check, and the API, the services and the dashboard forms refuse the
same over-long value on the same field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator

from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet
from tests.conftest import api_client, login_client

DEPOT = {"address_line1": "1 Yard Lane", "lat": 51.55, "lng": -0.1}


@pytest.fixture(scope="module")
def described() -> dict:
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)
    return schema["components"]["schemas"]


@pytest.mark.parametrize(
    ("component", "model"),
    [
        ("DepotInputRequest", Depot),
        ("VehicleInputRequest", Vehicle),
        ("DriverInputRequest", Driver),
    ],
)
def test_published_lengths_are_the_model_columns(described, component, model):
    columns = {f.name: f for f in model._meta.get_fields() if hasattr(f, "max_length")}
    lengths = {
        name: spec["maxLength"]
        for name, spec in described[component]["properties"].items()
        if "maxLength" in spec and name in columns and name != "phone"  # phone: as typed
    }
    assert "name" in lengths
    assert lengths == {name: columns[name].max_length for name in lengths}


def test_a_depot_name_too_long_is_refused_alike_everywhere(alpha, described):
    most = described["DepotInputRequest"]["properties"]["name"]["maxLength"]
    client = api_client(alpha.host, alpha.api_key)
    api = client.post("/api/v1/depots", {**DEPOT, "name": "D" * (most + 1)}, format="json")
    assert api.status_code == 400 and set(api.json()["errors"]) == {"name"}
    with schema_context("alpha"), pytest.raises(ValidationError) as refused:
        fleet.depot_create(name="D" * (most + 1), **DEPOT)
    assert set(refused.value.message_dict) == {"name"}
    page = login_client(alpha.host, alpha.dispatcher_email).post(
        "/fleet/depots/new/",
        {**DEPOT, "name": "D" * (most + 1), "opens_at": "07:00", "closes_at": "20:00"},
    )
    assert page.status_code == 200 and set(page.context["form"].errors) == {"name"}
    ok = client.post("/api/v1/depots", {**DEPOT, "name": "D" * most}, format="json")
    assert ok.status_code == 201, ok.json()
