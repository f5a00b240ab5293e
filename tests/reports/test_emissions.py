"""Fuel and CO2 in the reports against a day computed by hand: a diesel van with its own
consumption and an electric van with the typical one, known distances, known
arrival-order distances; a GPS track beats the plan; beta's routes never show in alpha's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, OrderEvent, Vehicle
from reports.selectors import emissions
from reports.services import TYPICAL_PER_100KM, consumption_of, vehicle_footprint
from routing.models import Plan, PlanRoute, RouteVersion
from tests.conftest import api_client, login_client, tenant_today
from tracking.models import LocationPing

pytestmark = pytest.mark.django_db
DAY = tenant_today(-2)
ONE_HUNDREDTH_DEGREE_M = 6_371_008.8 * math.radians(0.01)


def _route(plan, driver, van, *, planned_m, distance_m, arrival_m, orders=()) -> PlanRoute:
    at = timezone.make_aware(dt.datetime.combine(plan.date, dt.time(8)))
    route = PlanRoute.objects.create(
        plan=plan,
        driver=driver,
        vehicle=van,
        starts_at=at,
        ends_at=at + dt.timedelta(hours=8),
        distance_m=distance_m,
        duration_s=3600,
        version=1,
        planned_distance_m=planned_m,
        planned_duration_s=3600,
        arrival_order_distance_m=arrival_m,
    )
    RouteVersion.objects.create(
        route=route,
        number=1,
        reason="test",
        stops=[
            {"order": o.pk, "sequence": k, "starts_at": at.isoformat()}
            for k, o in enumerate(orders, start=1)
        ],
    )
    return route


def crafted_day(prefix: str = "Em") -> tuple[PlanRoute, PlanRoute]:
    """Diesel van at 10 l/100 km: planned 120 km, optimised 118 km, arrival order 150 km.
    Electric van, consumption not set (typical 22 kWh): 50 km, arrival order 60 km."""
    depot = Depot.objects.create(name=f"{prefix} depot", lat=51.5, lng=-0.1)
    diesel = Vehicle.objects.create(
        name=f"{prefix} diesel van",
        start_depot=depot,
        energy="diesel",
        consumption_per_100km=Decimal("10.00"),
    )
    electric = Vehicle.objects.create(name=f"{prefix} e-van", start_depot=depot, energy="electric")
    ann = Driver.objects.create(name=f"{prefix} Ann")
    bob = Driver.objects.create(name=f"{prefix} Bob")
    plan = Plan.objects.create(date=DAY, status="done", published_at=timezone.now())
    orders = [
        Order.objects.create(customer_name=f"{prefix} {k}", delivery_date=DAY, lat=51.5, lng=-0.1)
        for k in range(2)
    ]
    route_d = _route(
        plan, ann, diesel, planned_m=120_000, distance_m=118_000, arrival_m=150_000, orders=orders
    )
    route_e = _route(plan, bob, electric, planned_m=50_000, distance_m=50_000, arrival_m=60_000)
    return route_d, route_e


def test_a_crafted_day_burns_what_was_computed_by_hand(alpha):
    with schema_context(alpha.tenant.schema_name):
        route_d, route_e = crafted_day()
        found = emissions(DAY, DAY)
    diesel, electric = found.per_route
    assert (diesel.key, electric.key) == (f"route-{route_d.pk}", f"route-{route_e.pk}")
    # 120 km x 10 l / 100 = 12 l; x 2.51 kg per litre = 30.12 kg
    assert diesel.footprint.distance_m == 120_000 and not diesel.driven
    assert (diesel.footprint.litres, diesel.footprint.kwh) == (Decimal("12"), 0)
    assert diesel.footprint.co2_kg == Decimal("30.12")
    assert (diesel.per_100km, diesel.typical) == (Decimal("10"), False)
    # 50 km x 22 kWh / 100 = 11 kWh; x 0.207 kg per kWh = 2.277 kg
    assert (electric.footprint.litres, electric.footprint.kwh) == (0, Decimal("11"))
    assert electric.footprint.co2_kg == Decimal("2.277")
    assert (electric.per_100km, electric.typical) == (Decimal("22"), True)
    (day,) = found.per_day
    assert day.key == DAY.isoformat() and day.routes == 2
    assert day.footprint.distance_m == 170_000
    assert (day.footprint.litres, day.footprint.kwh) == (Decimal("12"), Decimal("11"))
    assert day.footprint.co2_kg == Decimal("32.397")
    assert [(r.key, r.routes, r.footprint.co2_kg) for r in found.per_energy] == [
        ("diesel", 1, Decimal("30.12")),
        ("electric", 1, Decimal("2.277")),
    ]
    assert found.total.footprint.co2_kg == Decimal("32.397")


def test_the_saving_is_the_arrival_order_less_the_optimised_order(alpha):
    with schema_context(alpha.tenant.schema_name):
        crafted_day()
        found = emissions(DAY, DAY)
    diesel, electric = found.per_route
    # diesel: 150 - 118 = 32 km = 3.2 l = 8.032 kg
    assert diesel.saved.distance_m == 32_000
    assert (diesel.saved.litres, diesel.saved.co2_kg) == (Decimal("3.2"), Decimal("8.032"))
    # electric: 60 - 50 = 10 km = 2.2 kWh = 0.4554 kg
    assert (electric.saved.kwh, electric.saved.co2_kg) == (Decimal("2.2"), Decimal("0.4554"))
    (day,) = found.per_day
    assert day.compared == 2
    assert (day.optimised.distance_m, day.arrival.distance_m) == (168_000, 210_000)
    assert day.saved_km_share == Decimal("0.2")  # 42 of 210 km
    # CO2: 8.4874 saved of 37.65 + 2.7324 = 40.3824 kg in arrival order
    assert day.saved.co2_kg == Decimal("8.4874")
    assert day.saved_co2_share == Decimal("8.4874") / Decimal("40.3824")


def test_a_route_not_measured_is_left_out_of_the_saving_only(alpha):
    with schema_context(alpha.tenant.schema_name):
        _, route_e = crafted_day()
        PlanRoute.objects.filter(pk=route_e.pk).update(arrival_order_distance_m=None)
        found = emissions(DAY, DAY)
    (day,) = found.per_day
    assert day.routes == 2 and day.footprint.distance_m == 170_000
    assert (day.compared, day.optimised.distance_m, day.arrival.distance_m) == (
        1,
        118_000,
        150_000,
    )


def test_an_empty_consumption_is_the_typical_one_of_its_energy(alpha, settings):
    with schema_context(alpha.tenant.schema_name):
        depot = Depot.objects.create(name="Typical depot", lat=51.5, lng=-0.1)
        for energy, per_100km in TYPICAL_PER_100KM.items():
            van = Vehicle(name=f"typical {energy}", start_depot=depot, energy=energy)
            expected_typical = energy != "human"
            assert consumption_of(van) == (per_100km, expected_typical)
        petrol = Vehicle(name="p", start_depot=depot, energy="petrol")
        hybrid = Vehicle(name="h", start_depot=depot, energy="hybrid")
        bike = Vehicle(name="b", start_depot=depot, energy="human")
        # 200 km: petrol 9.5 l/100 km = 19 l x 2.34 = 44.46 kg; hybrid 13 l = 30.42 kg
        assert vehicle_footprint(petrol, 200_000).co2_kg == Decimal("44.46")
        assert vehicle_footprint(hybrid, 200_000).litres == Decimal("13")
        assert vehicle_footprint(hybrid, 200_000).co2_kg == Decimal("30.42")
        assert vehicle_footprint(bike, 200_000).co2_kg == 0
        settings.EMISSIONS_GRID_KG_PER_KWH = 0.5  # a dirtier grid
        electric = Vehicle(name="e", start_depot=depot, energy="electric")
        assert vehicle_footprint(electric, 100_000).co2_kg == Decimal("11")  # 22 kWh x 0.5


def test_a_gps_track_counts_instead_of_the_plan(alpha):
    with schema_context(alpha.tenant.schema_name):
        route_d, _ = crafted_day()
        order = Order.objects.filter(customer_name="Em 0").get()
        start = timezone.make_aware(dt.datetime.combine(DAY, dt.time(9)))
        for k, to in enumerate(["en_route", "delivered"]):
            event = OrderEvent.objects.create(order=order, from_status="dispatched", to_status=to)
            OrderEvent.objects.filter(pk=event.pk).update(created_at=start + dt.timedelta(hours=k))
        Order.objects.filter(pk=order.pk).update(status="delivered")
        for k, lat in enumerate([51.50, 51.51, 51.52]):
            at = start + dt.timedelta(minutes=30 * k)
            LocationPing.objects.create(
                driver=route_d.driver, recorded_at=at, received_at=at, lat=lat, lng=-0.1, seq=k
            )
        found = emissions(DAY, DAY)
    diesel = found.per_route[0]
    driven = round(2 * ONE_HUNDREDTH_DEGREE_M)  # 2,224 m
    assert diesel.driven and diesel.footprint.distance_m == driven
    assert diesel.footprint.litres == Decimal(driven) * 10 / 100_000
    assert diesel.footprint.co2_kg == Decimal(driven) * 10 / 100_000 * Decimal("2.51")
    # the saving still compares the two orders on the plan's own model
    assert diesel.saved.distance_m == 32_000


def test_the_page_and_csv_show_alphas_fuel_and_co2_and_never_betas(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        crafted_day("Alpha")
    with schema_context(beta.tenant.schema_name):
        crafted_day("Beta")
        PlanRoute.objects.update(distance_m=1_000, planned_distance_m=999_000)
    with schema_context(alpha.tenant.schema_name):
        found = emissions(DAY, DAY)
    assert found.total.footprint.distance_m == 170_000  # beta's 999 km are not alpha's
    assert all("Beta" not in r.label for r in found.per_route)
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    query = f"?date_from={DAY}&date_to={DAY}&group=day"
    page = dispatcher.get(f"/reports/{query}").content.decode()
    assert 'id="report-emissions"' in page
    assert "170.0 km" in page and "12.00 l" in page and "11.00 kWh" in page
    assert "32.40 kg" in page
    assert "42.0 km (20.0%)" in page  # saved by the optimised order
    assert "Alpha diesel van" in page and "Beta" not in page
    assert "10 l" in page and "22 kWh (typical)" in page
    day = dispatcher.get(f"/reports/emissions-day.csv{query}")
    assert day["Content-Disposition"].startswith('attachment; filename="emissions-day-')
    lines = list(csv.reader(io.StringIO(b"".join(day.streaming_content).decode())))
    assert lines[0] == [
        "day",
        "km",
        "Litres",
        "kWh",
        "CO2 kg",
        "Routes compared",
        "Optimised km",
        "Arrival-order km",
        "km saved",
        "km saved %",
        "Litres saved",
        "kWh saved",
        "CO2 kg saved",
        "CO2 saved %",
    ]
    assert lines[1][1:] == [
        "170.0",
        "12.00",
        "11.00",
        "32.40",
        "2",
        "168.0",
        "210.0",
        "42.0",
        "20.0",
        "3.20",
        "2.20",
        "8.49",
        "21.0",
    ]
    assert lines[-1][0] == "Total"
    routes = dispatcher.get(f"/reports/emissions-route.csv{query}")
    body = b"".join(routes.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:5] == ["route", "Energy", "Per 100 km", "Distance from", "km"]
    assert [r[1:5] for r in rows[1:3]] == [
        ["diesel", "10", "planned", "120.0"],
        ["electric", "22", "planned", "50.0"],
    ]
    assert "Beta" not in body
    energy = dispatcher.get(f"/reports/emissions-energy.csv{query}")
    body = b"".join(energy.streaming_content).decode()
    assert "diesel,1,120.0,12.00,0.00,30.12" in body
    # beta sees its own, not alpha's
    theirs = login_client(beta.host, beta.dispatcher_email).get(f"/reports/{query}")
    assert b"Alpha" not in theirs.content and b"Beta diesel van" in theirs.content
    theirs_csv = login_client(beta.host, beta.dispatcher_email).get(
        f"/reports/emissions-route.csv{query}"
    )
    assert b"Alpha" not in b"".join(theirs_csv.streaming_content)
    assert login_client(alpha.host, alpha.driver_email).get(
        f"/reports/emissions-day.csv{query}"
    ).status_code in (302, 403)


# --- a vehicle's energy and consumption (the Vehicles page and the API) ------------------


def test_the_api_sets_energy_and_consumption_and_refuses_a_negative_one(alpha, beta):
    client = api_client(alpha.host, alpha.api_key)
    with schema_context(alpha.tenant.schema_name):
        depot = Depot.objects.create(name="Api depot", lat=51.5, lng=-0.1)
    made = client.post(
        "/api/v1/vehicles",
        {"name": "E van", "start_depot": depot.pk, "energy": "electric"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["energy"], body["consumption_per_100km"]) == ("electric", None)
    negative = client.patch(
        f"/api/v1/vehicles/{body['id']}", {"consumption_per_100km": "-1"}, format="json"
    )
    assert negative.status_code == 400
    assert set(negative.json()["errors"]) == {"consumption_per_100km"}, negative.json()
    unknown = client.patch(f"/api/v1/vehicles/{body['id']}", {"energy": "coal"}, format="json")
    assert unknown.status_code == 400 and "energy" in unknown.json()["errors"]
    set_ = client.patch(
        f"/api/v1/vehicles/{body['id']}", {"consumption_per_100km": 19.5}, format="json"
    )
    assert set_.status_code == 200 and set_.json()["consumption_per_100km"] == "19.50"
    with schema_context(alpha.tenant.schema_name):
        van = Vehicle.objects.get(pk=body["id"])
        assert (van.energy, van.consumption_per_100km) == ("electric", Decimal("19.50"))
    # beta's key does not reach alpha's vehicle
    theirs = api_client(beta.host, beta.api_key).patch(
        f"/api/v1/vehicles/{body['id']}", {"consumption_per_100km": 1}, format="json"
    )
    assert theirs.status_code == 404


def test_the_vehicle_form_shows_energy_and_unit_and_refuses_a_negative_consumption(alpha):
    with schema_context(alpha.tenant.schema_name):
        depot = Depot.objects.create(name="Form depot", lat=51.5, lng=-0.1)
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    form = dispatcher.get("/fleet/vehicles/new/").content.decode()
    assert 'name="energy"' in form and '<option value="electric">Electric</option>' in form
    assert "Consumption per 100 km (litres; kWh if electric)" in form
    bad = dispatcher.post(
        "/fleet/vehicles/new/",
        {
            "name": "Neg van",
            "start_depot": depot.pk,
            "energy": "diesel",
            "consumption_per_100km": "-2",
        },
    )
    assert bad.status_code == 200
    assert "greater than or equal to 0" in bad.content.decode()
    made = dispatcher.post(
        "/fleet/vehicles/new/",
        {
            "name": "Hy van",
            "start_depot": depot.pk,
            "energy": "hybrid",
            "consumption_per_100km": "6.2",
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    with schema_context(alpha.tenant.schema_name):
        van = Vehicle.objects.get(name="Hy van")
    assert (van.energy, van.consumption_per_100km) == ("hybrid", Decimal("6.20"))
    listing = dispatcher.get("/fleet/vehicles/").content.decode()
    assert "Hybrid (petrol) · 6.20 l/100 km" in listing.replace("\u00a0", " ")
    edit = dispatcher.get(f"/fleet/vehicles/{van.pk}/").content.decode()
    assert '<option value="hybrid" selected>' in edit and 'value="6.20"' in edit
