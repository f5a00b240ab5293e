"""The Learned times page (`/settings/learning/`): what the business's own drivers taught
the planner (`routing.services.corrections`), how much it helped on days the learner did
not see, and the owner's switch for using it. Owners and dispatchers read it and may ask
for a learning run now; only the owner turns the learned times on or off."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dates import WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import dispatcher_required, owner_required
from routing import selectors
from routing.models import LearningRun
from routing.services.corrections import (
    AREA_CELL_M,
    METRES_PER_DEGREE,
    MIN_LEGS,
    MIN_VISITS,
    SIZE_CLASSES,
    configured_factor,
)
from tenants.services.formats import Formats
from tenants.services.learning import tenant_learning_set
from tracking.services import observations

#: Areas listed beside the map (the map shows every one).
AREAS_LISTED = 30

SIZE_LABELS = (
    gettext_lazy("1 item"),
    gettext_lazy("2–3 items"),  # noqa: RUF001 - the en dash of a range
    gettext_lazy("4–9 items"),  # noqa: RUF001 - the en dash of a range
    gettext_lazy("10 items or more"),
)
assert len(SIZE_LABELS) == len(SIZE_CLASSES)

#: Factor bands of the week grid and the map (the CSS classes `f-…` and the legend).
BANDS = (
    (0.9, "fast2", gettext_lazy("%(percent)s%% faster or more"), {"percent": 10}),
    (0.97, "fast1", gettext_lazy("a little faster"), {}),
    (1.03, "even", gettext_lazy("as the road times"), {}),
    (1.15, "slow1", gettext_lazy("up to %(percent)s%% slower"), {"percent": 15}),
    (1.3, "slow2", gettext_lazy("%(low)s–%(high)s%% slower"), {"low": 15, "high": 30}),  # noqa: RUF001 - the en dash of a range
    (1.5, "slow3", gettext_lazy("%(low)s–%(high)s%% slower"), {"low": 30, "high": 50}),  # noqa: RUF001 - the en dash of a range
    (math.inf, "slow4", gettext_lazy("%(percent)s%% slower or more"), {"percent": 50}),
)


def band(factor: float) -> str:
    """The colour band of a travel factor."""
    return next(name for top, name, _label, _values in BANDS if factor < top)


# --- the model as people read it ----------------------------------------------------------


@dataclass(frozen=True)
class HourCell:
    """One local hour of the week: its travel factor over the road model and the driven
    legs behind it; not `learned`: the configured rush hours' factor is used (a learned
    factor, if any, has fewer than MIN_LEGS legs)."""

    weekday: int  # 0 Monday
    hour: int
    factor: float
    legs: int
    learned: bool


def _hour_configured(rush_hours: Sequence[Mapping], weekday: int, hour: int) -> float:
    """The configured rush factor through one hour (a rush hour may start at :30): its
    average, minute by minute."""
    if not rush_hours:
        return 1.0
    start = hour * 3600
    return sum(configured_factor(rush_hours, weekday, start + m * 60) for m in range(60)) / 60


def learned_week(rush_hours: Sequence[Mapping]) -> list[list[HourCell]]:
    """The 7 x 24 hours of the week (Monday first, local hours) as `corrections` uses
    them: learned where MIN_LEGS driven legs or more back an hour, else the configured
    rush hours' factor."""
    learned = selectors.learned_hour_factors()
    week = []
    for weekday in range(7):
        row = []
        for hour in range(24):
            factor, legs = learned.get(weekday * 24 + hour, (None, 0))
            if factor is not None and legs >= MIN_LEGS:
                row.append(HourCell(weekday, hour, factor, legs, True))
            else:
                configured = _hour_configured(rush_hours, weekday, hour)
                row.append(HourCell(weekday, hour, configured, legs, False))
        week.append(row)
    return week


def cell_bounds(cell: str) -> tuple[float, float, float, float]:
    """(south, west, north, east) of an area grid cell "row:col": the inverse of
    `corrections.cell_of` (rows AREA_CELL_M of latitude, columns AREA_CELL_M of longitude
    at the row's middle latitude)."""
    row, col = (int(part) for part in cell.split(":"))
    height = AREA_CELL_M / METRES_PER_DEGREE
    middle = (row + 0.5) * height
    width = AREA_CELL_M / (METRES_PER_DEGREE * max(math.cos(math.radians(middle)), 0.01))
    return row * height, col * width, (row + 1) * height, (col + 1) * width


def _areas() -> list[dict]:
    """The learned areas, slowest first, with their bounds (a key that is not a grid cell
    is neither drawn nor used)."""
    areas = []
    for cell, factor, legs in selectors.learned_area_factors(min_legs=MIN_LEGS):
        try:
            south, west, north, east = cell_bounds(cell)
        except ValueError:
            continue
        label = _("×%(factor).2f from %(legs)d legs")  # noqa: RUF001 - times
        areas.append(
            {
                "lat": (south + north) / 2,
                "lng": (west + east) / 2,
                "factor": factor,
                "legs": legs,
                "band": band(factor),
                "bounds": [[south, west], [north, east]],
                "label": label % {"factor": factor, "legs": legs},
            }
        )
    return areas


# --- the views ------------------------------------------------------------------------------


@require_GET
@dispatcher_required
def learning_view(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    formats = Formats.of(tenant)
    runs = selectors.learning_runs(limit=10)
    week = learned_week(tenant.rush_hours or ())
    areas = _areas()
    twelve_hour = not formats.time(dt.time(13, 0)).startswith("13")
    days_read, legs_read, stops_read = selectors.learning_days_read()
    sizes = selectors.learned_sizes(min_visits=MIN_VISITS)
    context = {
        "can_change": request.user.role == "owner",
        "use_learned": tenant.use_learned_times,
        "runs": [_run(run, formats) for run in runs],
        "newest": runs[0] if runs else None,
        "measured": _measured(selectors.learning_measured_run(), formats),
        "busy": observations.learn_under_way(),
        "week": [
            {
                "name": str(WEEKDAYS[weekday]),
                "abbr": str(WEEKDAYS_ABBR[weekday]),
                "cells": [_hour_cell(cell, formats) for cell in row],
            }
            for weekday, row in enumerate(week)
        ],
        "hours": [_hour_label(hour, twelve_hour) for hour in range(24)],
        "hours_learned": sum(cell.learned for row in week for cell in row),
        "bands": [(name, label % values) for _top, name, label, values in BANDS],
        "areas": areas[:AREAS_LISTED],
        "areas_more": max(0, len(areas) - AREAS_LISTED),
        "area_count": len(areas),
        "area_points": [{k: a[k] for k in ("bounds", "band", "label")} for a in areas],
        "map_settings": {"RESET_VIEW": False},
        "doors": [
            _door(door) for door in selectors.learned_slow_doors(min_visits=MIN_VISITS, limit=20)
        ],
        "addresses_learned": selectors.learned_addresses_count(min_visits=MIN_VISITS),
        "customers": selectors.learned_customers(min_visits=MIN_VISITS),
        "sizes": [
            {"label": label, "door": _door(sizes[size]) if size in sizes else None}
            for size, label in enumerate(SIZE_LABELS)
        ],
        "read": {
            "days": days_read,
            "legs": formats.number(legs_read),
            "stops": formats.number(stops_read),
        },
        "min_legs": MIN_LEGS,
        "min_visits": MIN_VISITS,
        "cell_km": AREA_CELL_M / 1000,
    }
    return render(request, "tracking/learning.html", context)


@require_POST
@owner_required
def learning_switch_view(request: HttpRequest) -> HttpResponse:
    """The owner turns the learned times on or off (`use_learned_times`: "on" or "off")."""
    use = request.POST.get("use_learned_times") == "on"
    tenant_learning_set(tenant=request.tenant, use_learned_times=use)
    if use:
        messages.success(request, _("New plans and ETAs use the learned times."))
    else:
        messages.success(
            request,
            _(
                "New plans and ETAs use the road times with your own rush hours and door "
                "times, without learning."
            ),
        )
    return redirect("dashboard:learning")


@require_POST
@dispatcher_required
def learning_run_view(request: HttpRequest) -> HttpResponse:
    """ "Learn now": a learning run queued at once (once, however often it is clicked)."""
    if observations.learn():
        messages.success(
            request, _("Learning from your drivers' days now. This page shows the run when done.")
        )
    else:
        messages.info(request, _("Learning is already under way; it was not asked for twice."))
    return redirect("dashboard:learning")


# --- words and numbers ---------------------------------------------------------------------


def seconds_text(seconds: float) -> str:
    """A door's time to the second, as people read it: "45 s", "3 min 05 s"."""
    minutes, rest = divmod(round(abs(seconds)), 60)
    if not minutes:
        return _("%(seconds)d s") % {"seconds": rest}
    return _("%(minutes)d min %(seconds)02d s") % {"minutes": minutes, "seconds": rest}


def _door(door: selectors.DoorTime) -> dict:
    return {
        "door": door,
        "typical": seconds_text(door.median_s),
        "extra": f"{_sign(door.delta_s)}{seconds_text(door.delta_s)}",
    }


def _run(run: LearningRun, formats: Formats) -> dict:
    return {
        "run": run,
        "took": _took(run.duration_s, formats),
        "days_read": formats.number(run.days_read),
        "legs": formats.number(run.legs),
        "visits": formats.number(run.visits),
    }


def _took(seconds: float | None, formats: Formats) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return _("%(seconds)d s") % {"seconds": max(1, round(seconds))}
    return formats.duration(seconds)


def _hour_label(hour: int, twelve_hour: bool) -> str:
    if not twelve_hour:
        return f"{hour:02d}"
    return f"{hour % 12 or 12}{'a' if hour < 12 else 'p'}"


def _hour_cell(cell: HourCell, formats: Formats) -> dict:
    percent = round((cell.factor - 1) * 100)
    if percent == 0:
        effect = _("as the road times")
    elif percent > 0:
        effect = _("%(percent)d%% slower than the road times") % {"percent": percent}
    else:
        effect = _("%(percent)d%% faster than the road times") % {"percent": -percent}
    if cell.learned:
        why = _("learned from %(legs)d legs") % {"legs": cell.legs}
    elif cell.legs:
        why = _("your rush hours: only %(legs)d of %(needed)d legs needed") % {
            "legs": cell.legs,
            "needed": MIN_LEGS,
        }
    else:
        why = _("your rush hours: no legs driven yet")
    title = _("%(day)s %(start)s–%(end)s: ×%(factor).2f, %(effect)s (%(why)s)")  # noqa: RUF001
    return {
        "factor": cell.factor,
        "legs": cell.legs,
        "learned": cell.learned,
        "band": band(cell.factor),
        "why": why,
        "title": title
        % {
            "day": WEEKDAYS[cell.weekday],
            "start": formats.time(dt.time(cell.hour, 0)),
            "end": formats.time(dt.time((cell.hour + 1) % 24, 0)),
            "factor": cell.factor,
            "effect": effect,
            "why": why,
        },
    }


def _measured(run: LearningRun | None, formats: Formats) -> dict | None:
    """The held-out measurement as people read it, or None without one."""
    if run is None:
        return None
    before, after = run.mae_before_s, run.mae_after_s
    inside = run.inside_before is not None and run.inside_after is not None
    inside_before = round(run.inside_before * 100) if inside else None
    inside_after = round(run.inside_after * 100) if inside else None
    change = round((after - before) / before * 100) if before else None
    return {
        "run": run,
        "days": run.eval_days,
        "stops": formats.number(run.eval_stops),
        "before_s": before,
        "after_s": after,
        "better": after < before,
        "change": None if change is None else f"{_sign(change)}{abs(change)}%",
        "inside": inside,
        "inside_before": inside_before,
        "inside_after": inside_after,
        "inside_better": inside and inside_after >= inside_before,
        "inside_change": (
            _("%(sign)s%(points)d pts")
            % {
                "sign": _sign(inside_after - inside_before),
                "points": abs(inside_after - inside_before),
            }
            if inside
            else None
        ),
    }


def _sign(number: float) -> str:
    return "+" if number > 0 else "\u2212" if number < 0 else "±"  # a minus sign
