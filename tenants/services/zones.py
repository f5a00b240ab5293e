"""Time zones people choose from: the tz database's canonical Area/City zones.

`zoneinfo.available_timezones()` also holds ~180 names kept for compatibility ("US/Eastern",
"Etc/GMT+5", "Asia/Calcutta"), which make a list of ~600 nobody can read. The zones people
pick are those of the database's `zone.tab` (each country's zones, Area/City), grouped by
area and labelled by city. The same file says which zones a country has (a country typed
hints the zone), and `tzdata.zi` says which canonical zone an old name stands for
(browsers still report "Asia/Calcutta").
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

UTC = "UTC"
#: The tz database's areas; anything else in available_timezones() is a compatibility name.
AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
AREA_CITY = re.compile(rf"^(?:{'|'.join(AREAS)})/[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)?$")


def _tz_data_file(name: str) -> str:
    """A file of the tz database that zoneinfo reads (the system's, else the tzdata
    package's); empty when there is none."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return ""


def _data_lines(text: str) -> Iterator[list[str]]:
    for line in text.splitlines():
        if line and not line.startswith("#"):
            yield line.split()


@cache
def _country_zones() -> tuple[tuple[str, str], ...]:
    """(country code, zone) pairs of zone.tab, in its order (a country's main zone first)."""
    available = zoneinfo.available_timezones()
    pairs = ((parts[0], parts[2]) for parts in _data_lines(_tz_data_file("zone.tab")))
    return tuple((country, zone) for country, zone in pairs if zone in available)


@cache
def selectable_zones() -> frozenset[str]:
    """The zones offered: UTC and the canonical Area/City zones (zone.tab's; without that
    file, every Area/City name)."""
    zones = {zone for _, zone in _country_zones()}
    if not zones:
        zones = {zone for zone in zoneinfo.available_timezones() if AREA_CITY.match(zone)}
    return frozenset({*zones, UTC})


@cache
def zones_by_country() -> dict[str, list[str]]:
    """{"FR": ["Europe/Paris"], "US": ["America/New_York", ...], ...}."""
    countries: dict[str, list[str]] = {}
    for country, zone in _country_zones():
        countries.setdefault(country, []).append(zone)
    return countries


@cache
def zone_aliases() -> dict[str, str]:
    """Old or alternative names → the zone offered for them ({"Asia/Calcutta":
    "Asia/Kolkata", "Etc/UTC": "UTC"}), from the database's links."""
    offered = selectable_zones()
    targets = {"Etc/UTC": UTC}
    aliases: dict[str, str] = {"Etc/UTC": UTC}
    for parts in _data_lines(_tz_data_file("tzdata.zi")):
        if len(parts) == 3 and parts[0] == "L":
            target, alias = parts[1], parts[2]
            target = targets.get(target, target)
            if target in offered and alias not in offered:
                aliases[alias] = target
    return aliases


def zone_label(zone: str) -> str:
    """The zone as read in a list grouped by area: "America/Argentina/Buenos_Aires" →
    "Argentina / Buenos Aires"."""
    area, _, place = zone.partition("/")
    return (place or area).replace("_", " ").replace("/", " / ")


def zone_choices(*, keep: str = "") -> list:
    """Choices for a select: UTC first, then one group per area, sorted by city. `keep` is
    a value to offer even if it is not a canonical zone (a setting saved before)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in selectable_zones() | ({keep} if keep else set()):
        if zone != UTC:
            area = zone.partition("/")[0] if "/" in zone else "Other"
            groups.setdefault(area, []).append((zone, zone_label(zone) if "/" in zone else zone))
    choices: list = [(UTC, "UTC (Coordinated Universal Time)")]
    for area in sorted(groups):
        choices.append((area, sorted(groups[area], key=lambda choice: choice[1])))
    return choices


def zone_of_country(country: str) -> str:
    """The zone of a country that has exactly one ("FR" → "Europe/Paris"), else ""."""
    zones = zones_by_country().get((country or "").strip().upper(), [])
    return zones[0] if len(zones) == 1 else ""


def country_from_accept_language(header: str) -> str:
    """The first country named by the browser's preferred languages ("fr-FR,fr;q=0.9" →
    "FR"), or ""; a first guess for a sign-up form, which the owner can change."""
    from django.utils.translation.trans_real import parse_accept_lang_header

    for language, _quality in parse_accept_lang_header((header or "")[:255]):
        region = language.replace("_", "-").split("-")[1:2]
        if region and region[0].upper() in zones_by_country():
            return region[0].upper()
    return ""
