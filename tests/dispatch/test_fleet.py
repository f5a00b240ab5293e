"""Depots, vehicles and drivers: rules, API contract, cross-tenant access, pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from accounts.models import User
from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet
from dispatch.services.geocoding import GeocodeResult
from tests.conftest import api_client, login_client

DEPOT = {"name": "North", "address_line1": "1 Yard Lane", "lat": 51.55, "lng": -0.1}


def _depot(schema: str, name: str = "North") -> Depot:
    with schema_context(schema):
        return fleet.depot_save(data={**DEPOT, "name": name})


# --- services ---------------------------------------------------------------------------


def test_depot_without_coordinates_is_geocoded_or_refused(alpha, monkeypatch):
    with schema_context("alpha"):
        with pytest.raises(ValidationError) as exc:  # GEOCODER=none in tests
            fleet.depot_save(data={"name": "A", "address_line1": "1 Road"})
        assert "could not be located" in exc.value.message_dict["lat"][0]
        monkeypatch.setattr(fleet, "geocode_address", lambda **kwargs: GeocodeResult(51.4, -0.2))
        depot = fleet.depot_save(data={"name": "A", "address_line1": "1 Road"})
        assert (depot.lat, depot.lng, depot.country) == (51.4, -0.2, "GB")


def test_depot_hours_and_names_are_checked(alpha):
    with schema_context("alpha"):
        fleet.depot_save(data=DEPOT)
        with pytest.raises(ValidationError) as exc:
            fleet.depot_save(data=DEPOT)
        assert "name" in exc.value.message_dict
        with pytest.raises(ValidationError) as exc:
            fleet.depot_save(
                data={**DEPOT, "name": "Late", "opens_at": dt.time(20), "closes_at": dt.time(8)}
            )
        assert exc.value.message_dict["non_field_errors"] == [
            "The depot must open before it closes."
        ]


def test_driver_rules(alpha):
    with schema_context("alpha"):
        driver_user = User.objects.get(email=alpha.driver_email)
        dispatcher = User.objects.get(email=alpha.dispatcher_email)
        driver = fleet.driver_save(
            data={
                "name": "Dora",
                "phone": "020 7946 0111",
                "user": driver_user,
                "skills": ["Fridge", " fridge "],
            }
        )
        assert (driver.phone, driver.skills) == ("+442079460111", ["fridge"])
        cases = [
            ({"name": "X", "user": dispatcher}, "user"),
            ({"name": "Y", "user": driver_user}, "user"),  # already linked to Dora
            ({"name": "Z", "phone": "123"}, "phone"),
            ({"name": "B", "break_start": dt.time(6)}, "break_start"),
            (
                {"name": "C", "break_start": dt.time(16, 45), "break_duration_s": 1800},
                "break_duration_s",
            ),
            ({"name": "D", "break_duration_s": 1800}, "break_start"),
            (
                {"name": "E", "shift_start": dt.time(18), "shift_end": dt.time(8)},
                "non_field_errors",
            ),
        ]
        for data, field in cases:
            with pytest.raises(ValidationError) as exc:
                fleet.driver_save(data=data)
            assert field in exc.value.message_dict, (data, exc.value.message_dict)


def test_vehicle_needs_an_active_depot_and_depot_in_use_stays_active(alpha):
    depot = _depot("alpha")
    with schema_context("alpha"):
        van = fleet.vehicle_save(
            data={"name": "Van", "start_depot": depot, "skills": ["Fridge", "fridge", ""]}
        )
        assert van.skills == ["fridge"]
        with pytest.raises(ValidationError) as exc:
            fleet.fleet_set_active(item=depot, is_active=False)
        assert "Van" in exc.value.message_dict["is_active"][0]
        fleet.fleet_set_active(item=van, is_active=False)
        fleet.fleet_set_active(item=depot, is_active=False)
        with pytest.raises(ValidationError) as exc:
            fleet.vehicle_save(data={"name": "Van 2", "start_depot": depot})
        assert "start_depot" in exc.value.message_dict


# --- API --------------------------------------------------------------------------------


def test_depot_vehicle_driver_through_the_api(alpha):
    client = api_client(alpha.host, alpha.api_key)
    depot = client.post("/api/v1/depots", DEPOT, format="json")
    assert depot.status_code == 201, depot.json()
    vehicle = client.post(
        "/api/v1/vehicles",
        {"name": "Van 1", "start_depot": depot.json()["id"], "capacity_weight_kg": "800",
         "capacity_items": 80, "skills": ["fridge"]},
        format="json",
    )  # fmt: skip
    assert vehicle.status_code == 201, vehicle.json()
    driver = client.post(
        "/api/v1/drivers",
        {"name": "Dan", "phone": "020 7946 0222", "default_vehicle": vehicle.json()["id"],
         "shift_start": "07:00", "shift_end": "15:00", "break_start": "11:00",
         "break_duration_s": 1800},
        format="json",
    )  # fmt: skip
    assert driver.status_code == 201, driver.json()
    assert driver.json()["phone"] == "+442079460222"
    patched = client.patch(
        f"/api/v1/vehicles/{vehicle.json()['id']}", {"max_stops": 30}, format="json"
    )
    assert patched.json()["max_stops"] == 30
    removed = client.delete(f"/api/v1/drivers/{driver.json()['id']}")
    assert removed.status_code == 200 and removed.json()["is_active"] is False
    listed = client.get("/api/v1/drivers?active=false").json()["results"]
    assert [d["name"] for d in listed] == ["Dan"]


@pytest.mark.parametrize(
    ("path", "body", "fields"),
    [
        ("/api/v1/depots", {}, {"name"}),
        ("/api/v1/depots", {**DEPOT, "lat": 200}, {"lat"}),
        ("/api/v1/depots", {**DEPOT, "lat": "north"}, {"lat"}),
        ("/api/v1/depots", {**DEPOT, "opens_at": "25:00"}, {"opens_at"}),
        ("/api/v1/depots", {**DEPOT, "id": 7, "colour": "red"}, {"id", "colour"}),
        ("/api/v1/vehicles", {"name": "V", "start_depot": 999999}, {"start_depot"}),
        ("/api/v1/vehicles", {"name": "V", "start_depot": "x"}, {"start_depot"}),
        (
            "/api/v1/vehicles",
            {"name": "V", "capacity_items": -1},
            {"capacity_items", "start_depot"},
        ),
        ("/api/v1/vehicles", {"name": None}, {"name", "start_depot"}),
        ("/api/v1/vehicles", {"name": "V", "max_stops": 10**12}, {"max_stops", "start_depot"}),
        ("/api/v1/drivers", {"name": "D", "phone": "nope"}, {"phone"}),
        ("/api/v1/drivers", {"name": "D", "user": 999999}, {"user"}),
        ("/api/v1/drivers", {"name": "D", "skills": "fridge"}, {"skills"}),
        ("/api/v1/drivers", {"name": "D", "created_at": "2020-01-01"}, {"created_at"}),
    ],
)
def test_bad_input_is_400_with_field_errors(alpha, path, body, fields):
    response = api_client(alpha.host, alpha.api_key).post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == fields


def test_json_that_is_not_an_object_is_400(alpha):
    client = api_client(alpha.host, alpha.api_key)
    response = client.post("/api/v1/depots", "[1]", content_type="application/json")
    assert response.status_code == 400


def test_fleet_of_another_tenant_is_invisible(alpha, beta):
    alpha_depot = _depot("alpha", "Alpha yard")
    beta_depot = _depot("beta", "Beta yard")
    client = api_client(alpha.host, alpha.api_key)
    names = [d["name"] for d in client.get("/api/v1/depots").json()["results"]]
    assert names == ["Alpha yard"]
    if beta_depot.pk != alpha_depot.pk:
        assert client.get(f"/api/v1/depots/{beta_depot.pk}").status_code == 404
    else:  # same id in both schemas: alpha reads its own row
        assert client.get(f"/api/v1/depots/{beta_depot.pk}").json()["name"] == "Alpha yard"
    assert client.get("/api/v1/depots/999999").status_code == 404
    assert api_client(alpha.host, beta.api_key).get("/api/v1/depots").status_code == 401
    # A vehicle of alpha cannot start at a depot id that only beta has.
    with schema_context("beta"):
        only_beta = fleet.depot_save(data={**DEPOT, "name": "Only beta"})
    response = client.post(
        "/api/v1/vehicles", {"name": "V", "start_depot": only_beta.pk}, format="json"
    )
    with schema_context("alpha"):
        exists_in_alpha = Depot.objects.filter(pk=only_beta.pk).exists()
    assert response.status_code == (201 if exists_in_alpha else 400)


def test_permissions(alpha):
    assert (
        api_client(alpha.host, alpha.read_key)
        .post("/api/v1/depots", DEPOT, format="json")
        .status_code
        == 403
    )
    assert api_client(alpha.host, alpha.read_key).get("/api/v1/depots").status_code == 200
    assert login_client(alpha.host, alpha.driver_email).get("/api/v1/depots").status_code == 403


def test_page_size_is_capped(alpha):
    with schema_context("alpha"):
        for n in range(3):
            fleet.depot_save(data={**DEPOT, "name": f"D{n}"})
    client = api_client(alpha.host, alpha.api_key)
    assert len(client.get("/api/v1/depots?page_size=2").json()["results"]) == 2
    assert len(client.get("/api/v1/depots?page_size=100000").json()["results"]) == 3


# --- pages ------------------------------------------------------------------------------


def test_pages_create_edit_and_deactivate(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    created = client.post(
        "/fleet/depots/new/",
        {"name": "Page yard", "address_line1": "2 Lane", "lat": "51.5", "lng": "-0.1",
         "opens_at": "07:00", "closes_at": "19:00"},
    )  # fmt: skip
    assert created.status_code == 302
    with schema_context("alpha"):
        depot = Depot.objects.get(name="Page yard")
    bad = client.post(
        f"/fleet/depots/{depot.pk}/",
        {
            "name": "Page yard",
            "lat": "51.5",
            "lng": "-0.1",
            "opens_at": "19:00",
            "closes_at": "07:00",
        },
    )
    assert bad.status_code == 200 and b"must open before it closes" in bad.content
    van = client.post(
        "/fleet/vehicles/new/",
        {"name": "Page van", "start_depot": depot.pk, "skills": "fridge, ramp",
         "cost_per_km": "0.3", "cost_per_hour": "20", "fixed_cost": "0"},
    )  # fmt: skip
    assert van.status_code == 302, van.content.decode()[:2000]
    with schema_context("alpha"):
        assert Vehicle.objects.get(name="Page van").skills == ["fridge", "ramp"]
    listing = client.get("/fleet/vehicles/").content.decode()
    assert "Page van" in listing and "fridge, ramp" in listing
    refused = client.post(f"/fleet/depots/{depot.pk}/active/", {"is_active": "0"}, follow=True)
    assert b"Vehicles start or end here" in refused.content
    driver = client.post(
        "/fleet/drivers/new/",
        {"name": "Page driver", "phone": "020 7946 0333", "shift_start": "08:00",
         "shift_end": "16:00", "break_duration_s": "0"},
    )  # fmt: skip
    assert driver.status_code == 302
    with schema_context("alpha"):
        assert Driver.objects.get(name="Page driver").phone == "+442079460333"


def test_drivers_cannot_manage_the_fleet(alpha):
    client = login_client(alpha.host, alpha.driver_email)
    assert client.get("/fleet/depots/").status_code == 403
