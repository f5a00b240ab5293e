"""Orders placed from the business's own road region (GEOCODER=local), on the real extract
of central Helsinki: placed when sure, flagged "needs a location" with the reason when not,
corrected by a dispatcher and remembered; the type-ahead endpoints of the dashboard and the
API; each business only ever sees its own region and its own corrections."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from audit.models import AuditEvent
from dispatch.models import LocationCorrection, Order
from dispatch.services import csv_io
from dispatch.services.geocoding import geocode_orders
from dispatch.services.locations import location_remember, order_locate
from geo.engine import haversine_m
from geo.models import Address
from tests.conftest import api_client, host_client, login_client, tenant_today

STOCKMANN = "Aleksanterinkatu 52"


@pytest.fixture
def local(settings, roads_for, alpha):
    """Alpha searches Helsinki's addresses (its region); the geocoder is the local one."""
    settings.GEOCODER = "local"
    settings.GEOCODER_MIN_CONFIDENCE = 0.8
    roads_for(alpha)
    return roads_for


def _order(schema: str, line1: str, **fields) -> Order:
    with schema_context(schema):
        return Order.objects.create(
            customer_name=fields.pop("customer_name", "Customer"),
            delivery_date=tenant_today(1),
            address_line1=line1,
            city=fields.pop("city", "Helsinki"),
            country=fields.pop("country", "FI"),
            **fields,
        )


def _geocoded(schema: str, *orders: Order) -> list[Order]:
    with schema_context(schema):
        geocode_orders([o.pk for o in orders])
        return [Order.objects.get(pk=o.pk) for o in orders]


def _at(street: str, number: str) -> tuple[float, float]:
    row = Address.objects.filter(region="helsinki", street=street, housenumber=number).first()
    return row.lat, row.lng


# --- the geocoder -----------------------------------------------------------------------------


def test_an_order_whose_address_matches_is_placed_on_it(local):
    exact, typo, bare = (
        _order("alpha", STOCKMANN, postcode="00100"),
        _order("alpha", "Aleksanterinktu 52"),
        _order("alpha", "Lonnrotinkatu 5", city=""),
    )
    exact, typo, bare = _geocoded("alpha", exact, typo, bare)
    for order in (exact, typo):
        assert order.geocode_status == "ok" and order.geocode_error == ""
        assert haversine_m((order.lat, order.lng), _at("Aleksanterinkatu", "52")) < 30
    assert bare.geocode_status == "ok"
    assert haversine_m((bare.lat, bare.lng), _at("Lönnrotinkatu", "5")) < 30


def test_an_address_below_the_threshold_needs_a_location_with_its_reason(local):
    missing_number, street_only, nowhere, elsewhere = _geocoded(
        "alpha",
        _order("alpha", "Aleksanterinkatu 999"),
        _order("alpha", "Aleksanterinkatu"),
        _order("alpha", "221b Baker Street", city="London", country="GB"),
        _order("alpha", "Aleksanterinkatu 52", city="Vantaa"),  # the same street, another town
    )
    assert elsewhere.geocode_error == (
        "Needs a location: the best match, Aleksanterinkatu 52, 00100 Helsinki, is in "
        "Helsinki, not Vantaa."
    )
    for order in (missing_number, street_only, nowhere, elsewhere):
        assert order.geocode_status == "failed" and order.lat is None and order.lng is None
        assert order.get_geocode_status_display() == "Needs a location"
    assert missing_number.geocode_error.startswith("Needs a location: the best match, ")
    assert "Aleksanterinkatu (no number 999; nearest 52)" in missing_number.geocode_error
    assert "is 0.50 sure (below 0.80)" in missing_number.geocode_error
    assert (
        "no house number" in street_only.geocode_error and "0.55 sure" in street_only.geocode_error
    )
    assert nowhere.geocode_error == "Needs a location: no address like it in helsinki."


def test_the_threshold_is_a_setting(local, settings):
    settings.GEOCODER_MIN_CONFIDENCE = 0.45
    (order,) = _geocoded("alpha", _order("alpha", "Aleksanterinkatu 999"))
    assert order.geocode_status == "ok"  # placed on the street, because the operator said so


def test_a_business_without_a_region_is_told_why(local, beta):
    (order,) = _geocoded("beta", _order("beta", STOCKMANN))
    assert order.geocode_status == "failed"
    assert order.geocode_error.startswith("No road region is chosen for this business")


def test_a_region_whose_addresses_are_not_imported_is_told_why(local, beta):
    local(beta, "tampere")
    (order,) = _geocoded("beta", _order("beta", "Hämeenkatu 1", city="Tampere"))
    assert "The addresses of the road region 'tampere' are not imported" in order.geocode_error


# --- corrections --------------------------------------------------------------------------------


def test_a_moved_pin_places_the_order_and_the_next_order_to_that_address(local, alpha):
    first = _order("alpha", "Aleksanterinkatu 999")
    (first,) = _geocoded("alpha", first)
    assert first.geocode_status == "failed"
    door = (60.16861, 24.94211)
    with schema_context("alpha"):
        moved = order_locate(order=first, lat=door[0], lng=door[1], actor="user:d@alpha.test")
        assert (moved.lat, moved.lng, moved.geocode_status) == (*door, "provided")
        correction = LocationCorrection.objects.get()
        assert correction.address == "Aleksanterinkatu 999, Helsinki"
        assert correction.order_id == first.pk and correction.source == "pin"
        event = AuditEvent.objects.get(action="order.location_corrected")
        assert event.actor == "user:d@alpha.test" and event.target.startswith(f"order #{first.pk}")
        assert event.detail["lat"] == door[0]
    # the same address written another way: the correction, not the search
    second = _order("alpha", "ALEKSANTERINKATU  999", city="helsinki")
    (second,) = _geocoded("alpha", second)
    assert (second.lat, second.lng, second.geocode_status) == (*door, "ok")


def test_a_correction_comes_first_whatever_the_geocoder(local, settings):
    with schema_context("alpha"):
        location_remember(line1=STOCKMANN, city="Helsinki", country="FI", lat=60.1, lng=24.9)
    settings.GEOCODER = "none"
    (order,) = _geocoded("alpha", _order("alpha", STOCKMANN))
    assert (order.lat, order.lng) == (60.1, 24.9)


def test_a_finished_order_keeps_its_place(local):
    order = _order("alpha", STOCKMANN, lat=60.2, lng=24.9, geocode_status="provided")
    with schema_context("alpha"):
        Order.objects.filter(pk=order.pk).update(status="delivered")
        order.refresh_from_db()
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            order_locate(order=order, lat=60.17, lng=24.94)
        assert not LocationCorrection.objects.exists()


def test_beta_never_sees_alphas_corrections_nor_alphas_region(local, alpha, beta):
    with schema_context("alpha"):
        location_remember(line1=STOCKMANN, city="Helsinki", country="FI", lat=60.1, lng=24.9)
    # beta has no region: nothing to search, and alpha's correction is not beta's
    (order,) = _geocoded("beta", _order("beta", STOCKMANN))
    assert order.geocode_status == "failed" and order.lat is None
    client = login_client(beta.host, beta.dispatcher_email)
    answer = client.get("/addresses/search/", {"q": "Aleksanterinkatu 5"}).json()
    assert answer["results"] == [] and answer["region"] == ""
    assert "No road region is chosen" in answer["message"]
    api = api_client(beta.host, beta.api_key).get("/api/v1/addresses", {"q": STOCKMANN}).json()
    assert api["results"] == [] and api["region"] == ""
    # beta on the same region: its search, not alpha's correction
    local(beta)
    (order,) = _geocoded("beta", _order("beta", STOCKMANN))
    assert order.geocode_status == "ok" and (order.lat, order.lng) != (60.1, 24.9)
    answer = client.get("/addresses/search/", {"q": "Aleksanterinkatu 5"}).json()
    assert answer["region"] == "helsinki"
    assert all(c["kind"] != "correction" for c in answer["results"])
    alphas = login_client(alpha.host, alpha.dispatcher_email)
    mine = alphas.get("/addresses/search/", {"q": "Aleksanterinkatu 5"}).json()["results"]
    assert mine[0]["kind"] == "correction" and mine[0]["lat"] == 60.1
    with schema_context("beta"):
        assert not LocationCorrection.objects.exists()


# --- the dashboard endpoints ------------------------------------------------------------------


def test_the_type_ahead_answers_the_regions_addresses_with_attribution(local, alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.get("/addresses/search/", {"q": "Aleksanterinkatu 52, Helsinki"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["region"] == "helsinki" and answer["message"] == ""
    assert answer["attribution"] == "© OpenStreetMap contributors"
    best = answer["results"][0]
    assert best["label"] == "Aleksanterinkatu 52, 00100 Helsinki" and best["confidence"] == 1.0
    assert {"lat", "lon", "street", "housenumber", "postcode", "city", "note"} <= set(best)
    assert (
        len(client.get("/addresses/search/", {"q": "Bulevardi", "limit": 2}).json()["results"]) <= 2
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "Aleksanterinkatu\x0052"}, "q"),
        ({"q": STOCKMANN, "limit": "0"}, "limit"),
        ({"q": STOCKMANN, "limit": "many"}, "limit"),
    ],
)
def test_bad_type_ahead_input_is_a_400_with_field_errors(local, alpha, params, field):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.get("/addresses/search/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_only_dispatchers_use_the_type_ahead_and_move_pins(local, alpha):
    order = _order("alpha", STOCKMANN)
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.get("/addresses/search/", {"q": STOCKMANN}).status_code == 403
    assert driver.post(f"/orders/{order.pk}/location/", {"lat": 60, "lng": 24}).status_code == 403
    anonymous = host_client(alpha.host)
    assert anonymous.get("/addresses/search/", {"q": STOCKMANN}).status_code == 302
    assert anonymous.post("/addresses/locations/", {}).status_code == 302


def test_the_order_page_shows_a_draggable_pin_and_dropping_it_saves(local, alpha):
    order = _order("alpha", "Aleksanterinkatu 999")
    (order,) = _geocoded("alpha", order)
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="order-pin-config"' in page and 'data-suggested="1"' in page
    assert 'data-movable="1"' in page and "© OpenStreetMap contributors" in page
    assert f'data-url="/orders/{order.pk}/location/"' in page
    response = client.post(f"/orders/{order.pk}/location/", {"lat": "60.16862", "lng": "24.9421"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["order"]["lat"] == 60.16862 and answer["remembered"] is True
    assert answer["before"]["lat"] is None and answer["order"]["geocode_status"] == "provided"
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-suggested="0"' in page and 'data-lat="60.1686200"' in page
    for bad in ({"lat": "91", "lng": "24"}, {"lat": "x", "lng": "24"}, {"lng": "24"}):
        response = client.post(f"/orders/{order.pk}/location/", bad)
        assert response.status_code == 400 and "lat" in response.json()["errors"]


def test_a_pin_of_an_order_out_for_delivery_stays(local, alpha):
    order = _order("alpha", STOCKMANN, lat=60.17, lng=24.94, geocode_status="provided")
    with schema_context("alpha"):
        Order.objects.filter(pk=order.pk).update(status="en_route")
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert 'data-movable="0"' in client.get(f"/orders/{order.pk}/").content.decode()
    response = client.post(f"/orders/{order.pk}/location/", {"lat": "60.1", "lng": "24.9"})
    assert response.status_code == 400 and "status" in response.json()["errors"]


def test_the_order_form_offers_the_type_ahead(local, alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get("/orders/new/").content.decode()
    assert 'data-address-search="/addresses/search/"' in page and 'data-pick="fill"' in page
    assert "js/address_search.js" in page and "OpenStreetMap contributors" in page


def test_a_location_picked_in_the_csv_review_places_the_imported_order(local, alpha):
    day = tenant_today(2).isoformat()
    content = (
        "Order ID,Customer,Address,City,Delivery Date\n"
        f"G-1,Ada,Aleksanterinkatu 52,Helsinki,{day}\n"
        f"G-2,Ben,Aleksanterinkatu 999,Helsinki,{day}\n"
    )
    client = login_client(alpha.host, alpha.dispatcher_email)
    detail = client.post("/imports/", {"file": SimpleUploadedFile("h.csv", content.encode())})[
        "Location"
    ]
    client.post(detail, csv_io.suggest_mapping(content.splitlines()[0].split(",")))
    page = client.get(detail).content.decode()
    assert "Address data © OpenStreetMap contributors" in page
    assert 'data-located="found"' in page and "✓ Aleksanterinkatu 52, 00100 Helsinki" in page
    assert 'data-located="needs"' in page and 'data-line1="Aleksanterinkatu 999"' in page
    picked = client.post(
        "/addresses/locations/",
        {
            "address_line1": "Aleksanterinkatu 999",
            "city": "Helsinki",
            "country": "",
            "lat": "60.1685",
            "lng": "24.9425",
            "label": "Aleksanterinkatu 52, 00100 Helsinki",
        },
    )
    assert (
        picked.status_code == 200 and picked.json()["address"] == "Aleksanterinkatu 999, Helsinki"
    )
    assert 'data-located="corrected"' in client.get(detail).content.decode()
    client.post(f"{detail}import/")
    with schema_context("alpha"):  # the geocoding job the import queued, run here
        geocode_orders(list(Order.objects.filter(source="csv").values_list("pk", flat=True)))
        orders = {o.external_id: o for o in Order.objects.filter(source="csv")}
        assert orders["G-1"].geocode_status == "ok"
        assert (orders["G-2"].lat, orders["G-2"].lng, orders["G-2"].geocode_status) == (
            60.1685,
            24.9425,
            "ok",
        )
        assert LocationCorrection.objects.get().source == "search"
    bad = client.post("/addresses/locations/", {"address_line1": "", "lat": "x"})
    assert bad.status_code == 400 and {"address_line1", "lat", "lng"} <= set(bad.json()["errors"])


# --- the API --------------------------------------------------------------------------------------


def test_the_api_searches_the_keys_business_region(local, alpha):
    for key in (alpha.api_key, alpha.read_key):
        response = api_client(alpha.host, key).get("/api/v1/addresses", {"q": "5 Mannerheimintie"})
        assert response.status_code == 200
        answer = response.json()
        assert answer["region"] == "helsinki"
        assert answer["results"][0]["label"] == "Mannerheimintie 5, 00100 Helsinki"
        assert answer["attribution"] == "© OpenStreetMap contributors"
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get("/api/v1/addresses", {"q": STOCKMANN}).status_code == 200
    assert api_client(alpha.host).get("/api/v1/addresses", {"q": STOCKMANN}).status_code in (
        401,
        403,
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 10_000}, "q"),
        ({"q": "Aleksanterinkatu\x0052"}, "q"),
        ({"q": STOCKMANN, "limit": "21"}, "limit"),
        ({"q": STOCKMANN, "limit": "-1"}, "limit"),
    ],
)
def test_bad_api_input_is_a_400_with_field_errors(local, alpha, params, field):
    response = api_client(alpha.host, alpha.api_key).get("/api/v1/addresses", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"]
