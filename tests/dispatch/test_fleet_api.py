"""The fleet API's contract: shapes, field errors (never a 500), permissions, tenants, pages."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import user_create
from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet, geocoding
from dispatch.services.geocoding import GeocodeResult
from tests.conftest import PASSWORD, api_client, login_client

DEPOT = {"name": "North", "address_line1": "1 Yard Lane", "lat": 51.55, "lng": -0.1}


def in_schema(fixture):
    return schema_context(fixture.tenant.schema_name)


@pytest.fixture
def client(alpha):
    return api_client(alpha.host, alpha.api_key)


@pytest.fixture
def fleet_ids(alpha) -> dict[str, int]:
    """A depot, a vehicle and a driver in alpha."""
    with in_schema(alpha):
        depot = fleet.depot_create(**DEPOT)
        van = fleet.vehicle_create(name="Van 1", start_depot=depot)
        driver = fleet.driver_create(name="Dora", default_vehicle=van)
    return {"depots": depot.pk, "vehicles": van.pk, "drivers": driver.pk}


def test_depot_vehicle_and_driver_round_trip(client):
    depot = client.post("/api/v1/depots", {**DEPOT, "opens_at": "06:30"})
    assert depot.status_code == 201, depot.json()
    assert depot.json() | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "name": "North",
        "address_line1": "1 Yard Lane",
        "address_line2": "",
        "city": "",
        "postcode": "",
        "region": "",
        "country": "GB",
        "lat": 51.55,
        "lng": -0.1,
        "opens_at": "06:30:00",
        "closes_at": "20:00:00",
        "is_active": True,
        "created_at": "",
        "updated_at": "",
    }
    depot_id = depot.json()["id"]
    vehicle = client.post(
        "/api/v1/vehicles",
        {
            "name": "Van 1",
            "start_depot": depot_id,
            "capacity_weight_kg": "800",
            "capacity_items": 80,
            "skills": ["Fridge", "fridge"],
            "cost_per_km": 0.35,
        },
    )
    assert vehicle.status_code == 201, vehicle.json()
    body = vehicle.json()
    assert (body["skills"], body["capacity_weight_kg"], body["capacity_volume_l"]) == (
        ["fridge"],
        "800.00",
        None,
    )
    assert (body["start_depot"], body["end_depot"], body["cost_per_km"]) == (
        depot_id,
        None,
        "0.350",
    )
    driver = client.post(
        "/api/v1/drivers",
        {
            "name": "Dan",
            "phone": "020 7946 0222",
            "default_vehicle": body["id"],
            "shift_start": "07:00",
            "shift_end": "15:00",
            "break_start": "11:00",
            "break_duration_s": 1800,
        },
    )
    assert driver.status_code == 201, driver.json()
    assert driver.json()["phone"] == "+442079460222"
    driver_id = driver.json()["id"]

    assert client.get(f"/api/v1/depots/{depot_id}").json()["name"] == "North"
    patched = client.patch(f"/api/v1/vehicles/{body['id']}", {"max_stops": 30, "skills": []})
    assert (patched.json()["max_stops"], patched.json()["skills"]) == (30, [])
    patched = client.patch(f"/api/v1/drivers/{driver_id}", {"is_active": False})
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert client.patch(f"/api/v1/drivers/{driver_id}", {"is_active": True}).json()["is_active"]
    removed = client.delete(f"/api/v1/drivers/{driver_id}")
    assert removed.status_code == 200 and removed.json()["is_active"] is False
    assert client.delete(f"/api/v1/drivers/{driver_id}").status_code == 200  # repeatable
    assert client.get(f"/api/v1/drivers/{driver_id}").json()["is_active"] is False  # kept
    listed = client.get("/api/v1/drivers?active=false").json()["results"]
    assert [d["name"] for d in listed] == ["Dan"]


def test_depot_without_coordinates_is_located_or_refused_clearly(client, monkeypatch):
    street = f"{secrets.token_hex(4)} Api Street"
    response = client.post("/api/v1/depots", {"name": "Lost", "address_line1": street})
    assert response.status_code == 400  # GEOCODER=none in the tests
    (message,) = response.json()["errors"]["address_line1"]
    assert "could not be located" in message and "lat and lng" in message
    response = client.post("/api/v1/depots", {"name": "Nowhere"})
    assert response.status_code == 400 and "lat" in response.json()["errors"]

    class Found:
        def geocode(self, *, query: str, country: str) -> GeocodeResult:
            return GeocodeResult(51.45, -0.05)

    monkeypatch.setattr(geocoding, "get_geocoder", Found)
    response = client.post("/api/v1/depots", {"name": "Lost", "address_line1": street})
    assert response.status_code == 201, response.json()
    assert (response.json()["lat"], response.json()["lng"]) == (51.45, -0.05)


HUGE = 10**30
BAD_CREATES = [
    ("/api/v1/depots", {}, {"name"}),
    ("/api/v1/depots", {**DEPOT, "name": None}, {"name"}),
    ("/api/v1/depots", {**DEPOT, "name": ["a"]}, {"name"}),
    ("/api/v1/depots", {**DEPOT, "name": "x" * 101}, {"name"}),
    ("/api/v1/depots", {**DEPOT, "lat": 200}, {"lat"}),
    ("/api/v1/depots", {**DEPOT, "lat": "north"}, {"lat"}),
    ("/api/v1/depots", {**DEPOT, "lat": "NaN"}, {"lat"}),
    ("/api/v1/depots", {**DEPOT, "lng": "1e400"}, {"lng"}),
    ("/api/v1/depots", {**DEPOT, "lng": HUGE}, {"lng"}),
    ("/api/v1/depots", {**DEPOT, "lng": None}, {"lng"}),
    ("/api/v1/depots", {**DEPOT, "opens_at": "25:00"}, {"opens_at"}),
    ("/api/v1/depots", {**DEPOT, "opens_at": None}, {"opens_at"}),
    ("/api/v1/depots", {**DEPOT, "opens_at": "10:00+02:00"}, {"opens_at"}),
    ("/api/v1/depots", {**DEPOT, "opens_at": "21:00"}, {"closes_at"}),
    ("/api/v1/depots", {**DEPOT, "country": "ZZ"}, {"country"}),
    ("/api/v1/depots", {**DEPOT, "is_active": "maybe"}, {"is_active"}),
    ("/api/v1/depots", {**DEPOT, "id": 7, "colour": "red"}, {"id", "colour"}),
    ("/api/v1/depots", {**DEPOT, "created_at": "2020-01-01T00:00:00Z"}, {"created_at"}),
    ("/api/v1/vehicles", {"name": "V"}, {"start_depot"}),
    ("/api/v1/vehicles", {"name": "V", "start_depot": 999999}, {"start_depot"}),
    ("/api/v1/vehicles", {"name": "V", "start_depot": HUGE}, {"start_depot"}),
    ("/api/v1/vehicles", {"name": "V", "start_depot": "x"}, {"start_depot"}),
    ("/api/v1/vehicles", {"name": "V", "start_depot": True}, {"start_depot"}),
    ("/api/v1/vehicles", {"name": "V", "start_depot": None}, {"start_depot"}),
    (
        "/api/v1/vehicles",
        {"name": None, "capacity_items": -1},
        {"name", "capacity_items", "start_depot"},
    ),
    ("/api/v1/vehicles", {"name": "V", "max_stops": HUGE}, {"max_stops", "start_depot"}),
    (
        "/api/v1/vehicles",
        {"name": "V", "capacity_weight_kg": "1e12"},
        {"capacity_weight_kg", "start_depot"},
    ),
    (
        "/api/v1/vehicles",
        {"name": "V", "capacity_volume_l": "NaN"},
        {"capacity_volume_l", "start_depot"},
    ),
    ("/api/v1/vehicles", {"name": "V", "cost_per_km": None}, {"cost_per_km", "start_depot"}),
    ("/api/v1/vehicles", {"name": "V", "skills": [{"a": 1}]}, {"skills", "start_depot"}),
    ("/api/v1/vehicles", {"name": "V", "updated_at": "x"}, {"updated_at", "start_depot"}),
    ("/api/v1/drivers", {"name": "D", "phone": "nope"}, {"phone"}),
    ("/api/v1/drivers", {"name": "D", "phone": 12}, {"phone"}),
    ("/api/v1/drivers", {"name": "D", "user": 999999}, {"user"}),
    ("/api/v1/drivers", {"name": "D", "user": "me"}, {"user"}),
    ("/api/v1/drivers", {"name": "D", "default_vehicle": HUGE}, {"default_vehicle"}),
    ("/api/v1/drivers", {"name": "D", "skills": "fridge"}, {"skills"}),
    ("/api/v1/drivers", {"name": "D", "skills": None}, {"skills"}),
    ("/api/v1/drivers", {"name": "D", "shift_start": "18:00"}, {"shift_end"}),
    (
        "/api/v1/drivers",
        {"name": "D", "break_start": "07:00", "break_duration_s": 60},
        {"break_start"},
    ),
    (
        "/api/v1/drivers",
        {"name": "D", "break_start": "16:50", "break_duration_s": 1800},
        {"break_duration_s"},
    ),
    ("/api/v1/drivers", {"name": "D", "break_duration_s": HUGE}, {"break_duration_s"}),
    ("/api/v1/drivers", {"name": "D", "break_duration_s": 1.5}, {"break_duration_s"}),
    ("/api/v1/drivers", {"name": "D", "created_at": "2020-01-01"}, {"created_at"}),
]


@pytest.mark.parametrize(("path", "body", "fields"), BAD_CREATES)
def test_bad_input_is_a_400_with_field_errors(client, path, body, fields):
    response = client.post(path, body)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid"
    assert set(response.json()["errors"]) == fields, response.json()


@pytest.mark.parametrize(
    ("kind", "body", "fields"),
    [
        ("depots", {"id": 5}, {"id"}),
        ("depots", {"name": None, "lat": "x"}, {"name", "lat"}),
        ("depots", {"lat": None}, {"lat"}),  # both or neither
        ("depots", {"closes_at": "01:00"}, {"closes_at"}),
        ("depots", {"is_active": False}, {"is_active"}),  # Van 1 starts there
        ("vehicles", {"start_depot": None, "foo": 1}, {"start_depot", "foo"}),
        ("vehicles", {"max_route_duration_s": 10**9}, {"max_route_duration_s"}),
        ("drivers", {"shift_end": "05:00"}, {"shift_end"}),
        ("drivers", {"updated_at": "2020-01-01T00:00:00Z"}, {"updated_at"}),
    ],
)
def test_bad_changes_are_a_400_and_change_nothing(alpha, client, fleet_ids, kind, body, fields):
    response = client.patch(f"/api/v1/{kind}/{fleet_ids[kind]}", body)
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == fields, response.json()
    unchanged = client.get(f"/api/v1/{kind}/{fleet_ids[kind]}").json()
    assert unchanged["is_active"] is True and unchanged["name"] in ("North", "Van 1", "Dora")


@pytest.mark.parametrize("kind", ["depots", "vehicles", "drivers"])
def test_bodies_that_are_not_json_objects_are_a_400(client, fleet_ids, kind):
    for body in ("[1]", '"text"', "null", "{"):
        response = client.post(f"/api/v1/{kind}", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        response = client.patch(
            f"/api/v1/{kind}/{fleet_ids[kind]}", body, content_type="application/json"
        )
        assert response.status_code == 400, (body, response.content)


@pytest.mark.parametrize("kind", ["depots", "vehicles", "drivers"])
def test_unknown_ids_are_a_404(client, kind):
    for pk in (999999, HUGE):
        assert client.get(f"/api/v1/{kind}/{pk}").status_code == 404
        assert client.patch(f"/api/v1/{kind}/{pk}", {"name": "x"}).status_code == 404
        assert client.delete(f"/api/v1/{kind}/{pk}").status_code == 404


def _same_rows_in(fixture, label: str, *, extra_depots: int = 0) -> dict[str, list[int]]:
    """A depot, vehicle and driver named after `label`, plus `extra_depots`."""
    with in_schema(fixture):
        depot = fleet.depot_create(**{**DEPOT, "name": f"{label} yard"})
        van = fleet.vehicle_create(name=f"{label} van", start_depot=depot)
        driver = fleet.driver_create(name=f"{label} driver", default_vehicle=van)
        extra = [
            fleet.depot_create(name=f"{label} extra {n}", lat=51, lng=0).pk
            for n in range(extra_depots)
        ]
    return {"depots": [depot.pk, *extra], "vehicles": [van.pk], "drivers": [driver.pk]}


def test_alpha_never_sees_or_changes_betas_fleet(alpha, beta, client):
    alpha_ids = _same_rows_in(alpha, "Alpha")
    beta_ids = _same_rows_in(beta, "Beta", extra_depots=2)
    for kind in ("depots", "vehicles", "drivers"):
        listed = client.get(f"/api/v1/{kind}").json()["results"]
        assert listed and all(item["name"].startswith("Alpha") for item in listed)
        for pk in beta_ids[kind]:
            response = client.get(f"/api/v1/{kind}/{pk}")
            if pk in alpha_ids[kind]:  # ids repeat across schemas: alpha reads its own row
                assert response.json()["name"].startswith("Alpha")
                assert client.patch(f"/api/v1/{kind}/{pk}", {"name": "Alpha 2"}).status_code == 200
            else:
                assert response.status_code == 404
                assert client.patch(f"/api/v1/{kind}/{pk}", {"name": "Alpha 2"}).status_code == 404
                assert client.delete(f"/api/v1/{kind}/{pk}").status_code == 404
    only_beta = set(beta_ids["depots"]) - set(alpha_ids["depots"])
    assert only_beta  # beta has more depots than alpha
    # A vehicle of alpha cannot start at a depot id that only beta has.
    response = client.post("/api/v1/vehicles", {"name": "V", "start_depot": min(only_beta)})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"start_depot"}
    with in_schema(beta):
        assert sorted(Depot.objects.values_list("name", flat=True)) == [
            "Beta extra 0",
            "Beta extra 1",
            "Beta yard",
        ]
        assert Vehicle.objects.get().name == "Beta van" and Driver.objects.get().is_active


def test_a_driver_login_of_another_tenant_cannot_be_linked(alpha, beta, client):
    with in_schema(beta):
        for n in range(3):
            user_create(email=f"only-beta-{n}@beta.test", password=PASSWORD, role="driver")
        beta_driver_ids = set(User.objects.filter(role="driver").values_list("pk", flat=True))
    with in_schema(alpha):
        alpha_user_ids = set(User.objects.values_list("pk", flat=True))
    user_id = min(beta_driver_ids - alpha_user_ids)
    response = client.post("/api/v1/drivers", {"name": "D", "user": user_id})
    assert response.status_code == 400 and set(response.json()["errors"]) == {"user"}
    own = alpha.user_ids[alpha.driver_email]
    assert client.post("/api/v1/drivers", {"name": "D", "user": own}).json()["user"] == own


def test_who_may_read_and_write(alpha, beta, fleet_ids):
    reader = api_client(alpha.host, alpha.read_key)
    for kind, pk in fleet_ids.items():
        assert reader.get(f"/api/v1/{kind}").status_code == 200
        assert reader.get(f"/api/v1/{kind}/{pk}").status_code == 200
        assert reader.post(f"/api/v1/{kind}", {"name": "X"}).status_code == 403
        assert reader.patch(f"/api/v1/{kind}/{pk}", {"name": "X"}).status_code == 403
        assert reader.delete(f"/api/v1/{kind}/{pk}").status_code == 403
        for key in (beta.api_key, beta.read_key):
            assert api_client(alpha.host, key).get(f"/api/v1/{kind}").status_code == 401
        assert api_client(alpha.host).get(f"/api/v1/{kind}").status_code in (401, 403)
        driver = login_client(alpha.host, alpha.driver_email)
        assert driver.get(f"/api/v1/{kind}").status_code == 403
        assert driver.delete(f"/api/v1/{kind}/{pk}").status_code == 403
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get("/api/v1/depots").status_code == 200
    with in_schema(alpha):
        assert Driver.objects.get().is_active and Vehicle.objects.get().name == "Van 1"


def test_lists_are_filtered(alpha, client):
    with in_schema(alpha):
        north = fleet.depot_create(**DEPOT)
        fleet.depot_create(name="South yard", lat=51.4, lng=-0.1)
        old = fleet.depot_create(name="Old yard", lat=51.4, lng=-0.1, is_active=False)
        Depot.objects.filter(pk=north.pk).update(updated_at=timezone.now() - dt.timedelta(days=2))

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1/depots?{query}")
        assert response.status_code == 200, response.json()
        return sorted(d["name"] for d in response.json()["results"])

    assert names("") == ["North", "Old yard", "South yard"]
    assert names("active=true") == names("active=1") == ["North", "South yard"]
    assert names("active=false") == ["Old yard"]
    assert names("search=YARD") == ["Old yard", "South yard"]
    assert names("search=yard&active=false") == ["Old yard"]
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    assert names(f"updated_since={since.replace('+', '%2B')}") == ["Old yard", "South yard"]
    for bad in ("active=maybe", "updated_since=yesterday", f"search={'x' * 101}"):
        response = client.get(f"/api/v1/depots?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["errors"]
    assert client.get(f"/api/v1/depots/{old.pk}").json()["is_active"] is False


def test_pages_are_capped_at_500(alpha, client):
    with in_schema(alpha):
        Depot.objects.bulk_create(
            Depot(name=f"Depot {n:03}", lat=51.5, lng=-0.1) for n in range(501)
        )
    first = client.get("/api/v1/depots?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert not {d["id"] for d in first["results"]} & {d["id"] for d in second["results"]}
    response = client.get("/api/v1/depots?page_size=10000")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 500 and response.json()["next"]
    for odd in ("abc", "-1", "0"):
        assert client.get(f"/api/v1/depots?page_size={odd}").status_code == 200
    assert client.get("/api/v1/depots?cursor=garbage").status_code == 404


def test_the_schema_documents_the_fleet_endpoints(alpha):
    client = login_client(alpha.host, alpha.owner_email)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    listing = schema["paths"]["/api/v1/depots"]["get"]
    params = {p["name"]: p["schema"]["type"] for p in listing["parameters"]}
    assert params == {
        "active": "boolean",
        "search": "string",
        "updated_since": "string",
        "cursor": "string",
        "page_size": "integer",
    }
    assert set(schema["paths"]["/api/v1/drivers/{id}"]) >= {"get", "patch", "delete"}
    properties = schema["components"]["schemas"]["VehicleInputRequest"]["properties"]
    assert "id" not in properties and "start_depot" in properties
