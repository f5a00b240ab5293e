"""Reading a WooCommerce order without the database: the delivery day and slot from the
delivery-date plugins' order meta, the store's address, and the order JSON as our input."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dispatch.services.order_input import UnreadDate
from dispatch.services.parsing import date_reader
from stores.services.woocommerce import delivery_meta, order_data, url_normalise
from tests.stores import fake_woocommerce as fw

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
GB = date_reader(locale="en", country="GB")
US = date_reader(locale="en", country="US")


def meta(*pairs, zone=LONDON, reader=GB):
    entries = [{"id": i, "key": k, "value": v} for i, (k, v) in enumerate(pairs)]
    return delivery_meta(entries, zone=zone, reader=reader)


def midnight(day: dt.date, zone) -> int:
    return int(dt.datetime.combine(day, dt.time(0), zone).timestamp())


# The day the plugins name: from the clock, never a fixed date (the readers are pure, but a
# fixed date ages); English names from strftime (the C locale tests run in).
DAY = dt.datetime.now(LONDON).date() + dt.timedelta(days=10)
ISO = DAY.isoformat()
YEAR = DAY.year
WRITTEN = f"{DAY.day} {DAY:%B}, {YEAR}"  # 8 December, 2026
US_WRITTEN = f"{DAY:%B} {DAY.day}, {YEAR}"  # December 8, 2026
LONG = f"{DAY:%A}, {DAY.day} {DAY:%B} {YEAR}"  # Tuesday, 8 December 2026

# --- Order Delivery Date for WooCommerce (Tyche) -------------------------------------------


@pytest.mark.parametrize("zone", [LONDON, NEW_YORK, BERLIN], ids=str)
@pytest.mark.parametrize("stored_in", ["local", "utc"])
@pytest.mark.parametrize("key", ["_orddd_timestamp", "_orddd_lite_timestamp"])
def test_order_delivery_date_timestamps_name_the_day_in_any_zone(zone, stored_in, key):
    """The plugin's unix time is the day's midnight, local or UTC (PHP's zone under
    WordPress): either way the same day, east and west of Greenwich."""
    stamp = midnight(DAY, zone if stored_in == "local" else dt.UTC)
    found = meta((key, str(stamp)), ("Delivery Date", "This is not read"), zone=zone)
    assert found.date == ISO and found.date_as_written == ""


def test_order_delivery_date_display_text_and_time_slot():
    found = meta(("Delivery Date", WRITTEN), ("_orddd_time_slot", "10:00 AM - 12:00 PM"))
    assert found.date == ISO
    assert found.windows == [{"start": "10:00", "end": "12:00"}]


def test_order_delivery_date_time_slot_label():
    found = meta(("Delivery Date", US_WRITTEN), ("Time Slot", "2:00 PM - 4:00 PM"))
    assert (found.date, found.windows) == (ISO, [{"start": "14:00", "end": "16:00"}])


# --- Iconic WooCommerce Delivery Slots ------------------------------------------------------


def test_iconic_ymd_comes_before_its_display_text_and_timestamp():
    found = meta(
        ("jckwds_date", f"{DAY:%m/%d/%Y}"),  # US display; the ymd says which
        ("jckwds_date_ymd", f"{DAY:%Y%m%d}"),
        ("jckwds_timeslot", "09:00 - 12:00"),
        ("jckwds_timestamp", str(midnight(DAY + dt.timedelta(days=30), LONDON))),
    )
    assert found.date == ISO
    assert found.windows == [{"start": "09:00", "end": "12:00"}]


def test_iconic_timeslot_with_am_pm_and_only_a_timestamp():
    nine = int(dt.datetime.combine(DAY, dt.time(9), NEW_YORK).timestamp())
    found = meta(
        ("jckwds_timestamp", str(nine)), ("jckwds_timeslot", "9:00am - 12:00pm"), zone=NEW_YORK
    )
    assert found.date == ISO
    assert found.windows == [{"start": "09:00", "end": "12:00"}]


def test_iconic_display_text_read_in_the_tenants_locale():
    assert meta(("jckwds_date", f"{DAY:%d/%m/%Y}")).date == ISO  # day first in GB
    assert meta(("jckwds_date", f"{DAY:%m/%d/%Y}"), reader=US).date == ISO


def test_a_bad_ymd_falls_back_to_the_display_text():
    found = meta(("jckwds_date_ymd", f"{YEAR}-13-45"), ("jckwds_date", LONG))
    assert found.date == ISO


# --- CodeRockz Delivery & Pickup Date Time ---------------------------------------------------


def test_coderockz_delivery_date_and_time():
    found = meta(
        ("delivery_type", "delivery"),
        ("delivery_date", ISO),
        ("delivery_time", "10:00 AM - 11:30 AM"),
    )
    assert (found.date, found.pickup) == (ISO, False)
    assert found.windows == [{"start": "10:00", "end": "11:30"}]


def test_coderockz_pickup_is_collected_by_the_customer():
    assert meta(("delivery_type", "pickup"), ("pickup_date", ISO)).pickup
    assert meta(("pickup_date", ISO), ("pickup_time", "10:00 - 11:00")).pickup
    assert not meta(("delivery_date", ISO)).pickup


# --- generic checkout fields, and what is never guessed --------------------------------------


@pytest.mark.parametrize(
    "key", ["Delivery Date", "delivery_date", "_delivery_date", "Delivery-Date"]
)
def test_generic_delivery_date_keys(key):
    assert meta((key, f"{DAY:%d.%m.%Y}")).date == ISO


def test_an_unreadable_date_is_kept_as_written_never_guessed():
    found = meta(("Delivery Date", "next Tuesday please"))
    assert (found.date, found.date_as_written) == ("", "next Tuesday please")
    ambiguous = date_reader(locale="sv", country="SE")  # year-first locale: 06/12 says nothing
    found = meta(("delivery_date", f"06/07/{YEAR}"), reader=ambiguous)
    assert (found.date, found.date_as_written) == ("", f"06/07/{YEAR}")


def test_no_meta_no_date_and_odd_values_are_skipped():
    assert meta() == delivery_meta([], zone=LONDON, reader=GB)
    assert meta().date == "" and meta().date_as_written == ""
    odd = [
        {"id": 1, "key": "delivery_date", "value": {"nested": ISO}},
        {"id": 2, "key": "_orddd_timestamp", "value": "not a number"},
        {"id": 3, "key": "jckwds_timestamp", "value": "99"},  # 1970: not a delivery day
        "not an entry",
        {"id": 4, "key": "Delivery Date", "value": True},
    ]
    found = delivery_meta(odd, zone=LONDON, reader=GB)
    assert (found.date, found.date_as_written, found.windows) == ("", "", [])
    assert delivery_meta("junk", zone=LONDON, reader=GB).date == ""


def test_an_unreadable_slot_is_a_remark_and_a_later_readable_one_wins():
    found = meta(("Time Slot", "As soon as possible"))
    assert found.windows == [] and "As soon as possible" in found.remarks[0]
    found = meta(("jckwds_timeslot", "whenever"), ("_orddd_time_slot", "13:00 - 15:00"))
    assert found.windows == [{"start": "13:00", "end": "15:00"}] and found.remarks == []


def test_milliseconds_are_read_as_seconds():
    assert meta(("_orddd_timestamp", str(midnight(DAY, LONDON) * 1000))).date == ISO


# --- the store's address -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("HTTPS://Shop.Example.com/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://shop.example.com:8080/", "http://shop.example.com:8080"),
        ("https://example.com/shop/", "https://example.com/shop"),
        (" https://example.com//wp ", "https://example.com/wp"),
    ],
)
def test_store_addresses_are_normalised(given, kept):
    assert url_normalise(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "",
        "shop.example.com",
        "ftp://shop.example.com",
        "https://user:pw@shop.example.com",
        "https://shop.example.com/?x=1",
        "https://shop.example.com/#top",
        "https://shop.example.com/../admin",
        "https://shop.example.com/%2e%2e",
        "https://shop example.com",
        "https://shop.example.com:99999",
        "javascript:alert(1)",
        "https://" + "a" * 300 + ".com",
    ],
)
def test_odd_addresses_are_refused(given):
    with pytest.raises(ValueError):
        url_normalise(given)


# --- the order JSON ------------------------------------------------------------------------


def test_the_order_json_becomes_our_input():
    payload = fw.order(1001, meta=[("jckwds_date_ymd", f"{DAY:%Y%m%d}")])
    data, _ = order_data(payload, url="https://shop.example.com", zone=LONDON, reader=GB)
    assert data == {
        "external_id": "1001@shop.example.com",
        "customer_name": "Ada King",
        "customer_phone": "+442079460018",  # the billing phone: shipping has none
        "customer_email": "ada@example.com",
        "address_line1": "12 St James's Square",
        "address_line2": "Flat 3",
        "city": "London",
        "postcode": "SW1Y 4JH",
        "region": "",
        "country": "GB",
        "delivery_date": ISO,
        "time_windows": [],
        "items": 3,
        "notes": "Leave it with the neighbour",
    }


def test_without_a_date_the_order_is_for_the_next_day_and_unread_needs_one():
    data, _ = order_data(fw.order(), url="https://s.example", zone=LONDON, reader=GB)
    assert data["delivery_date"] == (dt.datetime.now(LONDON).date() + dt.timedelta(1)).isoformat()
    unread = fw.order(meta=[("Delivery Date", "sometime")])
    data, _ = order_data(unread, url="https://s.example", zone=LONDON, reader=GB)
    assert isinstance(data["delivery_date"], UnreadDate) and data["delivery_date"] == "sometime"


def test_the_shipping_phone_comes_first_and_a_slot_remark_goes_to_the_notes():
    payload = fw.order(meta=[("Time Slot", "lunchtime")])
    payload["shipping"]["phone"] = "07700 900123"
    data, _ = order_data(payload, url="https://s.example", zone=LONDON, reader=GB)
    assert data["customer_phone"] == "+447700900123"
    assert data["notes"].endswith("WooCommerce delivery time 'lunchtime' not understood.")


def test_two_stores_order_1001_are_two_external_ids():
    first, _ = order_data(fw.order(1001), url="https://a.example", zone=LONDON, reader=GB)
    second, _ = order_data(fw.order(1001), url="https://b.example/shop", zone=LONDON, reader=GB)
    assert (first["external_id"], second["external_id"]) == (
        "1001@a.example",
        "1001@b.example/shop",
    )


# --- the store's Retry-After -----------------------------------------------------------------


def test_retry_after_in_seconds_or_as_a_date():
    from email.utils import format_datetime

    from stores.services.sources.woocommerce import _retry_after

    assert _retry_after("7") == 7.0
    assert _retry_after("-3") == 0.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    assert 100 < _retry_after(format_datetime(later, usegmt=True)) <= 120
