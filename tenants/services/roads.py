"""A business's roads: the region and profile its travel times come from, and its rush hours.

The region is one built on this machine (`geo`, `manage.py roads_import`); a region that
is chosen but not (or no longer) built makes plans fall back to straight lines, and every
plan and ETA says so. Rush hours slow travel down by a factor at some local hours of some
days; plans and live ETAs apply the same factors (`rush_factor`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from audit.services import record
from geo.engine import RoadsError
from geo.selectors import Region, region_of
from tenants.models import RoadProfile, Tenant

#: Slower than 4 times is a closed road; faster than half is a different vehicle.
FACTOR_MIN, FACTOR_MAX = 0.5, 4.0
MAX_RUSH_HOURS = 12
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def clean_rush_hours(rows: Any) -> list[dict]:
    """The rush hours as stored: [{"days": [0..6], "start": "HH:MM", "end": "HH:MM",
    "factor": f}], sorted; raises ValidationError naming the row and what is wrong."""
    if not isinstance(rows, list):
        raise ValidationError({"rush_hours": [gettext("A list of rush hours.")]})
    if len(rows) > MAX_RUSH_HOURS:
        most = gettext("At most %(most)s rush hours.") % {"most": MAX_RUSH_HOURS}
        raise ValidationError({"rush_hours": [most]})
    cleaned, errors = [], []
    for n, row in enumerate(rows, start=1):
        try:
            cleaned.append(_clean_row(row))
        except ValueError as exc:
            errors.append(gettext("Rush hour %(n)s: %(problem)s") % {"n": n, "problem": exc})
    for a, b in _overlaps(cleaned):
        errors.append(
            gettext("Rush hours %(first)s and %(second)s overlap: one factor per hour of a day.")
            % {"first": _describe(a), "second": _describe(b)}
        )
    if errors:
        raise ValidationError({"rush_hours": errors})
    return sorted(cleaned, key=lambda r: (r["days"], r["start"]))


def _clean_row(row: Any) -> dict:
    if not isinstance(row, dict):
        raise ValueError(gettext("an object with days, start, end and factor."))
    days = row.get("days")
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)
    ):
        raise ValueError(gettext("days are a list of 0 (Monday) to 6 (Sunday), at least one."))
    start, end = _time(row.get("start")), _time(row.get("end"))
    if end <= start:
        raise ValueError(gettext("it must end after it starts (split one that crosses midnight)."))
    factor = row.get("factor")
    if isinstance(factor, bool) or not isinstance(factor, int | float):
        # the percentage as an argument: a bare "30% s" reads to xgettext as a format
        raise ValueError(
            gettext("the factor is a number, e.g. 1.3 for %(percent)s slower.") % {"percent": "30%"}
        )
    if not FACTOR_MIN <= factor <= FACTOR_MAX:
        raise ValueError(
            gettext("the factor is between %(low)s and %(high)s.")
            % {"low": f"{FACTOR_MIN:g}", "high": f"{FACTOR_MAX:g}"}
        )
    return {
        "days": sorted(set(days)),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "factor": round(float(factor), 2),
    }


def _time(value: Any) -> dt.time:
    """ "7:00", "07:00" or "07:00:00" as a time; ValueError saying what is expected."""
    for shape in ("%H:%M", "%H:%M:%S"):
        try:
            return dt.datetime.strptime(str(value), shape).time()
        except ValueError:
            continue
    raise ValueError(gettext("start and end are local times, HH:MM."))


def _overlaps(rows: Sequence[dict]) -> list[tuple[dict, dict]]:
    found = []
    for i, a in enumerate(rows):
        for b in rows[i + 1 :]:
            if set(a["days"]) & set(b["days"]) and a["start"] < b["end"] and b["start"] < a["end"]:
                found.append((a, b))
    return found


def _describe(row: dict) -> str:
    days = ", ".join(DAY_NAMES[d] for d in row["days"])
    return f"({days} {row['start']}-{row['end']})"


def rush_factor(rush_hours: Sequence[dict], at: dt.datetime) -> float:
    """The travel-time factor at local time `at` (1.0 outside every rush hour)."""
    return rush_factor_on(rush_hours, at.weekday(), at.strftime("%H:%M"))


def rush_factor_on(rush_hours: Sequence[dict], weekday: int, hhmm: str) -> float:
    """The travel-time factor on `weekday` (0: Monday) at local "HH:MM" (1.0 outside
    every rush hour)."""
    for row in rush_hours:
        if weekday in row["days"] and row["start"] <= hhmm < row["end"]:
            return float(row["factor"])
    return 1.0


def tenant_roads_update(*, tenant: Tenant, region: str, profile: str, rush_hours: Any) -> Tenant:
    """Choose the region and profile of `tenant`'s travel times and set its rush hours.
    The region must be built here (an empty one: straight lines); nothing is saved if
    anything is wrong."""
    errors: dict[str, list[str]] = {}
    region = (region or "").strip()
    if profile not in RoadProfile.values:
        errors["road_profile"] = [f"One of {', '.join(RoadProfile.values)}."]
    elif region and region_of_or_none(region, profile) is None:
        errors["road_region"] = [
            f"No region {region!r} is built here for {profile}: "
            "an operator builds it with manage.py roads_import."
        ]
    try:
        rush_hours = clean_rush_hours(rush_hours)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    tenant.road_region, tenant.road_profile, tenant.rush_hours = region, profile, rush_hours
    tenant.save(update_fields=["road_region", "road_profile", "rush_hours"])
    with schema_context(tenant.schema_name):
        record(
            "settings.roads_changed",
            target="roads",
            region=region or "straight lines",
            profile=profile,
            rush_hours=len(rush_hours),
        )
    return tenant


def region_of_or_none(region: str, profile: str) -> Region | None:
    """The built region, or None (also for a name no region could have)."""
    try:
        return region_of(region, profile)
    except RoadsError:  # a malformed name: not built, as far as anyone here is concerned
        return None
