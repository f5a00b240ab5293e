"""Rules of depots, vehicles and drivers, tested on the services directly."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import user_create
from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet
from dispatch.services.geocoding import GeocodeResult
from tests.conftest import PASSWORD


class FakeGeocoder:
    """Finds every address at one point; remembers what it was asked."""

    def __init__(self, lat: float = 51.4, lng: float = -0.2) -> None:
        self.point = (lat, lng)
        self.queries: list[tuple[str, str]] = []

    def geocode(self, *, query: str, country: str) -> GeocodeResult:
        self.queries.append((query, country))
        return GeocodeResult(*self.point)


def unique_street() -> str:
    """Geocoding results are cached per address: each test locates its own street."""
    return f"{secrets.token_hex(4)} Test Street"


def errors_of(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        call(**kwargs)
    return exc.value.message_dict


@pytest.fixture
def in_alpha(alpha):
    with schema_context(alpha.tenant.schema_name):
        yield alpha


@pytest.fixture
def depot(in_alpha) -> Depot:
    return fleet.depot_create(name="North", address_line1="1 Yard Lane", lat=51.55, lng=-0.1)


# --- depots -----------------------------------------------------------------------------


def test_depot_with_coordinates_is_saved_with_the_tenants_country(depot):
    assert (depot.lat, depot.lng, depot.country) == (51.55, -0.1, "GB")
    assert (depot.opens_at, depot.closes_at, depot.is_active) == (dt.time(7), dt.time(20), True)


def test_depot_without_coordinates_is_located_with_the_geocoder(in_alpha):
    geocoder = FakeGeocoder()
    street = unique_street()
    depot = fleet.depot_create(
        name="Located", address_line1=street, city="London", geocoder=geocoder
    )
    assert (depot.lat, depot.lng) == (51.4, -0.2)
    assert geocoder.queries == [(f"{street}, London", "GB")]


def test_depot_that_cannot_be_located_is_refused_with_the_reason(in_alpha):
    errors = errors_of(fleet.depot_create, name="Lost", address_line1=unique_street())
    (message,) = errors["address_line1"]  # GEOCODER=none in the tests
    assert "could not be located" in message and "No geocoder is configured" in message
    assert "lat and lng" in message
    assert not Depot.objects.filter(name="Lost").exists()
    errors = errors_of(fleet.depot_create, name="Nowhere")
    assert errors == {
        "lat": ["Give the depot's coordinates (lat and lng), or an address to locate."]
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"lat": 51.5}, "lng"),
        ({"lat": 91, "lng": 0}, "lat"),
        ({"lat": float("nan"), "lng": 0}, "lat"),
        ({"lat": 1, "lng": float("inf")}, "lng"),
        ({"lat": "north", "lng": 0}, "lat"),
        ({"lat": 1, "lng": 1, "country": "XX"}, "country"),
        ({"lat": 1, "lng": 1, "opens_at": dt.time(20), "closes_at": dt.time(8)}, "closes_at"),
        ({"lat": 1, "lng": 1, "opens_at": dt.time(9), "closes_at": dt.time(9)}, "closes_at"),
        ({"lat": 1, "lng": 1, "opens_at": dt.time(9, tzinfo=dt.UTC)}, "opens_at"),
        ({"lat": 1, "lng": 1, "opens_at": "25:00"}, "opens_at"),
        ({"lat": 1, "lng": 1, "postcode": "x" * 21}, "postcode"),
    ],
)
def test_depot_fields_are_checked(in_alpha, fields, field):
    errors = errors_of(fleet.depot_create, name="Checked", **fields)
    assert set(errors) == {field}, errors


def test_depot_names_are_unique_whatever_their_case(depot):
    assert fleet.depot_create(name="  South ", lat=1, lng=1).name == "South"
    errors = errors_of(fleet.depot_create, name="north", lat=1, lng=1)
    assert errors == {"name": ["There is already a depot called “North”."]}
    errors = errors_of(fleet.depot_update, depot=depot, data={"name": "SOUTH"})
    assert "name" in errors
    assert fleet.depot_update(depot=depot, data={"name": "NORTH"}).name == "NORTH"  # itself


def test_depot_country_is_upper_case(in_alpha):
    depot = fleet.depot_create(name="Paris", country="fr", lat=48.85, lng=2.35)
    assert depot.country == "FR"


def test_depot_address_changed_without_coordinates_is_located_again(depot):
    geocoder = FakeGeocoder(51.6, -0.3)
    street = unique_street()
    moved = fleet.depot_update(depot=depot, data={"address_line1": street}, geocoder=geocoder)
    assert (moved.lat, moved.lng) == (51.6, -0.3)
    # With coordinates sent along (as the dashboard's form does) they are kept as given.
    kept = fleet.depot_update(
        depot=depot,
        data={"address_line1": unique_street(), "lat": 51.7, "lng": -0.4},
        geocoder=geocoder,
    )
    assert (kept.lat, kept.lng) == (51.7, -0.4) and len(geocoder.queries) == 1
    # Renaming does not locate anything; an unlocatable new address changes nothing.
    assert fleet.depot_update(depot=depot, data={"name": "N1"}).lat == 51.7
    errors = errors_of(fleet.depot_update, depot=depot, data={"address_line1": unique_street()})
    assert "address_line1" in errors
    depot.refresh_from_db()
    assert (depot.name, depot.lat) == ("N1", 51.7)


def test_depot_update_refuses_unknown_fields(depot):
    errors = errors_of(fleet.depot_update, depot=depot, data={"colour": "red", "opens_at": None})
    assert errors["colour"] == ["Unknown field."] and "opens_at" in errors


# --- vehicles ---------------------------------------------------------------------------


def test_vehicle_normalises_skills_and_allows_unlimited_capacities(depot):
    van = fleet.vehicle_create(
        name="Van 1",
        start_depot=depot,
        skills=["Fridge", " fridge ", "", "Tail-Lift"],
        capacity_weight_kg=Decimal("800"),
        cost_per_km=0.1,
    )
    van.refresh_from_db()
    assert van.skills == ["fridge", "tail-lift"]
    assert (van.capacity_weight_kg, van.capacity_volume_l, van.capacity_items) == (800, None, None)
    assert (van.end_depot, van.cost_per_km, van.max_stops) == (None, Decimal("0.1"), None)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start_depot": None}, "start_depot"),
        ({"capacity_weight_kg": Decimal(-1)}, "capacity_weight_kg"),
        ({"capacity_volume_l": Decimal("1e12")}, "capacity_volume_l"),
        ({"capacity_items": -3}, "capacity_items"),
        ({"cost_per_km": Decimal("-0.5")}, "cost_per_km"),
        ({"cost_per_hour": Decimal(-1)}, "cost_per_hour"),
        ({"fixed_cost": None}, "fixed_cost"),
        ({"max_stops": 0}, "max_stops"),
        ({"max_stops": 10**12}, "max_stops"),
        ({"max_route_duration_s": 10}, "max_route_duration_s"),
        ({"skills": "fridge"}, "skills"),
        ({"skills": ["x" * 41]}, "skills"),
        ({"skills": [f"s{n}" for n in range(31)]}, "skills"),
        ({"name": ""}, "name"),
    ],
)
def test_vehicle_fields_are_checked(depot, fields, field):
    errors = errors_of(fleet.vehicle_create, **{"name": "V", "start_depot": depot, **fields})
    assert set(errors) == {field}, errors


def test_vehicle_names_are_unique(depot):
    fleet.vehicle_create(name="Van 1", start_depot=depot)
    errors = errors_of(fleet.vehicle_create, name="VAN 1", start_depot=depot)
    assert errors == {"name": ["There is already a vehicle called “Van 1”."]}


def test_vehicles_use_active_depots_and_a_used_depot_stays_active(depot):
    south = fleet.depot_create(name="South", lat=51.4, lng=-0.1)
    van = fleet.vehicle_create(name="Van", start_depot=depot, end_depot=south)
    errors = errors_of(fleet.depot_deactivate, depot=south)
    assert errors["is_active"] == [
        "Active vehicles start or end here: Van. Move or deactivate them first."
    ]
    fleet.vehicle_deactivate(vehicle=van)
    assert fleet.depot_deactivate(depot=south).is_active is False
    assert fleet.depot_deactivate(depot=south).is_active is False  # repeating is harmless
    errors = errors_of(fleet.vehicle_create, name="Van 2", start_depot=south)
    assert errors == {"start_depot": ["South is deactivated; choose an active depot."]}
    errors = errors_of(fleet.vehicle_create, name="Van 2", start_depot=depot, end_depot=south)
    assert set(errors) == {"end_depot"}
    # A deactivated vehicle can be edited, but not re-activated while its depot is inactive.
    assert fleet.vehicle_update(vehicle=van, data={"name": "Old van"}).name == "Old van"
    errors = errors_of(fleet.vehicle_update, vehicle=van, data={"is_active": True})
    assert set(errors) == {"end_depot"}
    van = fleet.vehicle_update(vehicle=van, data={"is_active": True, "end_depot": None})
    assert (van.is_active, van.end_depot) == (True, None)
    assert Depot.objects.filter(pk=south.pk).exists()  # never deleted


# --- drivers ----------------------------------------------------------------------------


@pytest.fixture
def driver_login(in_alpha) -> User:
    return User.objects.get(email=in_alpha.driver_email)


def test_driver_phone_is_stored_in_e164_read_in_the_tenants_country(in_alpha, monkeypatch):
    assert fleet.driver_create(name="Dora", phone="020 7946 0111").phone == "+442079460111"
    assert fleet.driver_create(name="Eve", phone="+33 1 42 68 53 00").phone == "+33142685300"
    assert fleet.driver_create(name="Fay", phone="").phone == ""
    monkeypatch.setattr(fleet, "current_tenant", lambda: SimpleNamespace(country="FR"))
    assert fleet.driver_create(name="Gil", phone="01 42 68 53 00").phone == "+33142685300"
    errors = errors_of(fleet.driver_create, name="Hal", phone="07700 900")
    assert errors == {
        "phone": [
            "'07700 900' is not a valid phone number (too short). "
            "Write it like 06 12 34 56 78 or +33 6 12 34 56 78."
        ]
    }


def test_driver_login_must_be_a_free_active_driver(in_alpha, driver_login):
    dora = fleet.driver_create(name="Dora", user=driver_login, skills=["Van", "van"])
    assert (dora.user, dora.skills) == (driver_login, ["van"])
    dispatcher = User.objects.get(email=in_alpha.dispatcher_email)
    errors = errors_of(fleet.driver_create, name="X", user=dispatcher)
    assert errors == {"user": [f"{dispatcher.email} is a dispatcher, not a driver."]}
    errors = errors_of(fleet.driver_create, name="Y", user=driver_login)
    assert errors == {"user": [f"{driver_login.email} already signs in as another driver."]}
    gone = user_create(email="gone@alpha.test", password=PASSWORD, role="driver")
    gone.is_active = False
    gone.save()
    assert set(errors_of(fleet.driver_create, name="Z", user=gone)) == {"user"}
    # Dora keeps her login when edited; moving it to another driver needs it free first.
    assert fleet.driver_update(driver=dora, data={"name": "Dora B", "user": driver_login})
    sam = fleet.driver_create(name="Sam")
    assert set(errors_of(fleet.driver_update, driver=sam, data={"user": driver_login})) == {"user"}
    fleet.driver_update(driver=dora, data={"user": None})
    assert fleet.driver_update(driver=sam, data={"user": driver_login}).user == driver_login


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"shift_start": dt.time(18), "shift_end": dt.time(8)}, "shift_end"),
        ({"shift_start": dt.time(8), "shift_end": dt.time(8)}, "shift_end"),
        ({"break_start": dt.time(6), "break_duration_s": 1800}, "break_start"),
        ({"break_start": dt.time(17), "break_duration_s": 1800}, "break_start"),
        ({"break_start": dt.time(16, 45), "break_duration_s": 1800}, "break_duration_s"),
        ({"break_start": None, "break_duration_s": 1800}, "break_start"),
        ({"break_start": dt.time(12), "break_duration_s": 0}, "break_duration_s"),
        ({"break_duration_s": -60, "break_start": dt.time(12)}, "break_duration_s"),
        ({"shift_start": dt.time(8, tzinfo=dt.UTC)}, "shift_start"),
        ({"name": "  "}, "name"),
        ({"skills": [1, 2]}, "skills"),
    ],
)
def test_driver_shift_and_break_are_checked(in_alpha, fields, field):
    errors = errors_of(fleet.driver_create, **{"name": "D", **fields})
    assert set(errors) == {field}, errors


def test_driver_break_that_fits_the_shift_is_kept(in_alpha):
    driver = fleet.driver_create(
        name="Dan",
        shift_start=dt.time(7),
        shift_end=dt.time(15),
        break_start=dt.time(14, 30),
        break_duration_s=1800,
    )
    assert (driver.break_start, driver.break_duration_s) == (dt.time(14, 30), 1800)
    errors = errors_of(fleet.driver_update, driver=driver, data={"shift_end": dt.time(14, 45)})
    assert set(errors) == {"break_duration_s"}


def test_driver_usual_vehicle_must_be_active_when_chosen(depot):
    van = fleet.vehicle_create(name="Van", start_depot=depot)
    bike = fleet.vehicle_create(name="Bike", start_depot=depot, is_active=False)
    dora = fleet.driver_create(name="Dora", default_vehicle=van)
    assert errors_of(fleet.driver_create, name="Eve", default_vehicle=bike) == {
        "default_vehicle": ["Bike is deactivated."]
    }
    fleet.vehicle_deactivate(vehicle=van)
    # Still editable, and still pointing at the van until someone changes it.
    dora = fleet.driver_update(driver=dora, data={"name": "Dora B", "default_vehicle": van})
    assert dora.default_vehicle == van
    assert fleet.driver_deactivate(driver=dora).is_active is False
    assert Driver.objects.filter(pk=dora.pk, is_active=False).exists()


def test_dict_entry_points_used_by_the_demo_seeding(in_alpha):
    depot = fleet.depot_save(data={"name": "Demo", "lat": 51.5, "lng": -0.06})
    van = fleet.vehicle_save(data={"name": "Van", "start_depot": depot, "capacity_items": 80})
    driver = fleet.driver_save(
        data={"name": "Sam", "phone": "020 7946 0001", "default_vehicle": van}
    )
    assert fleet.depot_save(depot=depot, data={"closes_at": dt.time(21)}).closes_at.hour == 21
    assert fleet.vehicle_save(vehicle=van, data={"max_stops": 30}).max_stops == 30
    assert fleet.driver_save(driver=driver, data={"skills": ["A"]}).skills == ["a"]
    assert Vehicle.objects.get().capacity_items == 80
