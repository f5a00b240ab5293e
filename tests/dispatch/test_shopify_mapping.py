"""Shopify's order JSON → our order input: a pure function, tested on its own."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from dispatch.services.order_input import UnreadDate
from dispatch.services.shopify import shopify_order_to_order_data
from tests.dispatch import shopify_payloads as sp

TZ = "Europe/London"


def mapped(**changes) -> dict:
    return shopify_order_to_order_data(sp.order(**changes), tenant_tz=TZ)


def with_attributes(*pairs: tuple[str, str]) -> dict:
    return mapped(note_attributes=[{"name": n, "value": v} for n, v in pairs], tags="")


def test_the_documented_order_maps_field_by_field():
    assert mapped() == {
        "external_id": "820982911946154508",
        "customer_name": "Jon Snow",
        "customer_phone": "+442079460770",
        "customer_email": "jon@example.com",
        "address_line1": "221B Baker Street",
        "address_line2": "Flat 2",
        "city": "London",
        "postcode": "NW1 6XE",
        "region": "England",
        "country": "GB",
        "lat": 51.5237715,
        "lng": -0.1585557,
        "delivery_date": "2026-12-02",
        "time_windows": [{"start": "09:00", "end": "12:00"}],
        "weight_kg": Decimal("2.45"),  # 2 x 950 g + 550 g; the digital item weighs nothing
        "items": 3,
        "notes": "Please ring the bell twice",
    }


@pytest.mark.parametrize("name", ["Delivery Date", "delivery_date", "Delivery-Date", "delivery"])
@pytest.mark.parametrize("value", ["2026-11-25", "25/11/2026", "November 25, 2026"])
def test_delivery_date_attributes_are_read_by_any_usual_name_and_format(name, value):
    assert with_attributes((name, value))["delivery_date"] == "2026-11-25"


@pytest.mark.parametrize(
    "name", ["Delivery Time", "Delivery Window", "time_window", "Delivery-Time"]
)
@pytest.mark.parametrize("value", ["09:00-12:00", "9:00 AM - 12:00 PM", "9am to 12pm"])
def test_time_window_attributes_are_read_by_any_usual_name_and_format(name, value):
    assert with_attributes((name, value))["time_windows"] == [{"start": "09:00", "end": "12:00"}]


def test_tags_carry_a_date_and_window_too():
    data = mapped(note_attributes=[], tags="flowers, delivery:03/12/2026, window:14:00-16:00")
    assert (data["delivery_date"], data["time_windows"]) == (
        "2026-12-03",
        [{"start": "14:00", "end": "16:00"}],
    )


@pytest.mark.parametrize("tz", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Europe/London"])
def test_without_a_date_it_is_the_next_day_in_the_tenants_time_zone(tz):
    data = shopify_order_to_order_data(sp.order(note_attributes=[], tags=""), tenant_tz=tz)
    tomorrow = dt.datetime.now(zoneinfo.ZoneInfo(tz)).date() + dt.timedelta(days=1)
    assert (data["delivery_date"], data["time_windows"]) == (tomorrow.isoformat(), [])


def test_a_date_not_understood_is_no_guessed_day_and_a_window_says_so_in_the_notes():
    data = with_attributes(("Delivery Date", "next tuesday"), ("Delivery Time", "12:00-09:00"))
    assert data["delivery_date"] == UnreadDate("next tuesday")  # the order needs a date
    assert isinstance(data["delivery_date"], UnreadDate)
    assert data["time_windows"] == []
    assert data["notes"].splitlines() == [
        "Please ring the bell twice",
        "Shopify delivery time '12:00-09:00' not understood.",
    ]


def test_phones_fall_back_from_shipping_to_order_customer_and_billing():
    address = {**sp.ORDER["shipping_address"], "phone": None}
    billing = {**sp.ORDER["billing_address"], "phone": "+44 20 7946 0772"}
    assert mapped(shipping_address=address)["customer_phone"] == "+442079460771"  # customer's
    assert mapped(shipping_address=address, phone="020 7946 0773")["customer_phone"] == (
        "+442079460773"
    )  # the order's own phone comes before the customer's
    no_customer_phone = {**sp.ORDER["customer"], "phone": None}
    assert (
        mapped(shipping_address=address, customer=no_customer_phone, billing_address=billing)[
            "customer_phone"
        ]
        == "+442079460772"
    )
    assert (
        mapped(shipping_address=address, customer=no_customer_phone, billing_address={})[
            "customer_phone"
        ]
        == ""
    )


def test_names_and_emails_fall_back_to_what_the_order_has():
    address = {**sp.ORDER["shipping_address"], "name": None, "first_name": "Arya"}
    assert mapped(shipping_address=address)["customer_name"] == "Arya Snow"
    bare = {"address1": "1 Road", "city": "London", "country_code": "GB"}
    data = mapped(shipping_address=bare, customer=None, billing_address=None, email=None)
    assert (data["customer_name"], data["customer_email"]) == ("jon@example.com", "jon@example.com")
    nameless = mapped(
        shipping_address=bare, customer=None, billing_address=None, email=None, contact_email=None
    )
    assert nameless["customer_name"] == "Shopify order #9999"


def test_odd_line_items_and_coordinates_do_not_break_the_mapping():
    data = mapped(
        line_items=[{"quantity": "2", "grams": "500"}, {"quantity": None}, "junk"],
        shipping_address={**sp.ORDER["shipping_address"], "latitude": None},
    )
    assert (data["items"], data["weight_kg"]) == (2, Decimal("1.00"))
    assert "lat" not in data and "lng" not in data  # geocoded from the address instead
    empty = mapped(line_items=[], note=None, note_attributes=None, tags=None)
    assert (empty["items"], empty["weight_kg"], empty["notes"]) == (1, Decimal("0.00"), "")
