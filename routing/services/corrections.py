"""What the business's own drivers taught: corrections to the travel and door times that
plans and live ETAs use, read from the learned tables (`routing.services.learning` fills
them nightly).

The model, per tenant:

- a leg's travel time is the road model's (`routing.services.matrix`, uncorrected)
  x the factor of the local hour of the week it sets off in x the factor of the area
  (grid cell, `AREA_CELL_M` wide) of the leg's middle. An hour with too few driven legs
  behind it (fewer than `MIN_LEGS`) falls back to the tenant's configured rush hours; an
  area without enough, to 1.
- a stop's time at the door is its configured `service_s` plus what visits to that
  address took beyond their configured time (median, `MIN_VISITS` or more), else to that
  customer, else to orders of that size; else the configured time alone.

`corrections()` is the current tenant's, kept in this process and checked against the
newest learning run at most every `RECHECK_S` (a run in this process forgets it at once).
A tenant that turned learning off (`Tenant.use_learned_times`), or never learned, gets
`Corrections.none(...)`: exactly the times without learning.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import connection
from django.utils.crypto import salted_hmac

from routing.models import LearningRun, ServiceTime, TravelFactor
from routing.optimiser.matrix import Matrix
from routing.optimiser.problem import Rush
from routing.optimiser.schedule import UNREACHABLE_S
from tenants.selectors import current_tenant
from tenants.services.roads import rush_factor_on

#: The side of an area's grid cell, metres.
AREA_CELL_M = 2000
#: Fewer driven legs than this in an hour of the week or an area: not learned from.
MIN_LEGS = 5
#: Fewer visits than this to an address, a customer or an order size: not learned from.
MIN_VISITS = 3
#: Items from which an order is in each size class (1, 2-3, 4-9, 10 and more).
SIZE_CLASSES = (1, 2, 4, 10)
#: A learned door time is never below this.
MIN_SERVICE_S = 30
#: A learned hour's factor this close to 1 is taken as 1.
SNAP = 0.03
#: How often a process looks for a newer learning run, seconds.
RECHECK_S = 60.0
METRES_PER_DEGREE = 111_320.0


def cell_of(lat: float, lng: float) -> str:
    """The area grid cell ("row:col") a point lies in: rows `AREA_CELL_M` of latitude,
    columns `AREA_CELL_M` of longitude at the row's middle latitude."""
    row = math.floor(lat * METRES_PER_DEGREE / AREA_CELL_M)
    middle = (row + 0.5) * AREA_CELL_M / METRES_PER_DEGREE
    width = AREA_CELL_M / (METRES_PER_DEGREE * max(math.cos(math.radians(middle)), 0.01))
    return f"{row}:{math.floor(lng / width)}"


def leg_cell(a: tuple[float, float], b: tuple[float, float]) -> str:
    """The cell of the middle of the leg from `a` to `b` (lat, lng)."""
    return cell_of((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def hour_of_week(local: dt.datetime) -> int:
    """0 for Monday 00:00-00:59 local time, ..., 167 for Sunday 23:00-23:59."""
    return local.weekday() * 24 + local.hour


def address_key(lat: float, lng: float) -> str:
    """An address as the learner knows it: its coordinates to 4 decimals (about 10 m)."""
    return f"{lat:.4f}:{lng:.4f}"


def customer_key(phone: str, email: str) -> str:
    """A customer as the learner knows it: a keyed hash (HMAC with SECRET_KEY) of the phone,
    else the email; "" for neither. The learned tables hold no phone numbers or addresses
    of mail (rotating SECRET_KEY forgets the learned customers, nothing else)."""
    if phone:
        raw = f"p:{phone}"
    elif email:
        raw = f"e:{email.strip().lower()}"
    else:
        return ""
    # keyed with the deployment's secret: a plain hash of a phone number is undone by
    # hashing every number
    return salted_hmac("routing.corrections.customer_key", raw, algorithm="sha256").hexdigest()[:32]


def size_of(items: int) -> int:
    """The order's size class: 0 for 1 item, 1 for 2-3, 2 for 4-9, 3 for 10 and more."""
    return max(k for k, low in enumerate(SIZE_CLASSES) if items >= low) if items >= 1 else 0


def configured_factor(rush_hours: Sequence[Mapping], weekday: int, second: int) -> float:
    """The configured rush-hour factor at `second` after local midnight on `weekday`."""
    return rush_factor_on(rush_hours, weekday, f"{second // 3600:02d}:{second % 3600 // 60:02d}")


def snap(factor: float) -> float:
    """A learned hour's factor as plans use it: to 2 places, and 1 within `SNAP` of 1 (a
    day of hours each a hair off the road model would be a day of rush periods, which
    slow the optimiser for nothing)."""
    return 1.0 if abs(factor - 1.0) < SNAP else round(factor, 2)


def _seconds(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")[:2]
    return int(hours) * 3600 + int(minutes) * 60


@dataclass(frozen=True)
class ServiceNote:
    """Why a stop's door time is what it is: the level learned from, its visits, the
    seconds used and the configured ones (the plan page shows it)."""

    level: str
    visits: int
    seconds: int
    configured: int

    def as_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "visits": self.visits,
            "seconds": self.seconds,
            "configured": self.configured,
        }


@dataclass(frozen=True)
class Corrections:
    """One tenant's learned corrections (see the module doc). Values are (factor, legs)
    for hours and areas, (delta seconds, visits) for addresses, customers and sizes; only
    groups with enough data are held."""

    rush_hours: tuple[Mapping, ...] = ()
    hours: Mapping[int, tuple[float, int]] = field(default_factory=dict)
    areas: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    addresses: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    customers: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    sizes: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    version: int = 0

    @classmethod
    def none(cls, rush_hours: Sequence[Mapping] = ()) -> Corrections:
        """No learning: the road model, the configured rush hours and door times."""
        return cls(rush_hours=tuple(rush_hours))

    @property
    def is_empty(self) -> bool:
        return not (self.hours or self.areas or self.addresses or self.customers or self.sizes)

    # --- travel ---------------------------------------------------------------------

    def hour_factor(self, local: dt.datetime) -> tuple[float, int]:
        """(factor, legs) at local time `local`: learned for its hour of the week, else the
        configured rush hours' (0 legs)."""
        learned = self.hours.get(hour_of_week(local))
        if learned is not None:
            return snap(learned[0]), learned[1]
        second = local.hour * 3600 + local.minute * 60 + local.second
        return configured_factor(self.rush_hours, local.weekday(), second), 0

    def area_factor(self, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, int]:
        """(factor, legs) of the leg from `a` to `b`: its middle's area, else (1.0, 0)."""
        return self.areas.get(leg_cell(a, b), (1.0, 0))

    def rush_for(self, date: dt.date) -> tuple[Rush, ...]:
        """The travel factor through `date` (seconds from local midnight) as the optimiser's
        rush periods: each hour learned where it is, the configured rush hours elsewhere."""
        weekday = date.weekday()
        cuts = {0, 86400, *range(3600, 86400, 3600)}
        for row in self.rush_hours:
            if weekday in row["days"]:
                cuts |= {_seconds(row["start"]), min(_seconds(row["end"]), 86400)}
        cuts_sorted = sorted(c for c in cuts if 0 <= c <= 86400)
        periods: list[list] = []
        for start, end in itertools.pairwise(cuts_sorted):
            learned = self.hours.get(weekday * 24 + start // 3600)
            factor = (
                snap(learned[0]) if learned else configured_factor(self.rush_hours, weekday, start)
            )
            if periods and periods[-1][1] == start and periods[-1][2] == factor:
                periods[-1][1] = end
            else:
                periods.append([start, end, factor])
        return tuple(Rush(s, e, f) for s, e, f in periods if f != 1.0)

    def scale(self, matrix: Matrix, points: Sequence[tuple[float, float]]) -> Matrix:
        """`matrix` between `points` with each leg's time x its area's factor (distances
        as they are; a leg no road joins stays unreachable)."""
        if not self.areas or len(points) < 2:
            return matrix
        coords = np.asarray(points, dtype=np.float64)
        factors = area_factors(self.areas, coords)
        durations = matrix.durations_s
        scaled = np.where(
            durations >= UNREACHABLE_S,
            durations,
            np.minimum(np.rint(durations * factors), UNREACHABLE_S - 1),
        ).astype(np.int64)
        np.fill_diagonal(scaled, 0)
        return Matrix(scaled, matrix.distances_m)

    # --- door -----------------------------------------------------------------------

    def service(self, order: Any) -> tuple[int, ServiceNote | None]:
        """The order's time at the door, seconds, and why when learned (None: configured)."""
        configured = int(order.service_s)
        found = None
        if order.lat is not None and order.lng is not None:
            key = address_key(order.lat, order.lng)
            if key in self.addresses:
                found = ("address", self.addresses[key])
        if found is None and self.customers:
            key = customer_key(order.customer_phone or "", order.customer_email or "")
            if key and key in self.customers:
                found = ("customer", self.customers[key])
        if found is None and self.sizes:
            size = size_of(order.items)
            if size in self.sizes:
                found = ("size", self.sizes[size])
        if found is None:
            return configured, None
        level, (delta, visits) = found
        seconds = max(MIN_SERVICE_S, configured + delta)
        return seconds, ServiceNote(level, visits, seconds, configured)

    def service_s(self, order: Any) -> int:
        return self.service(order)[0]


def area_factors(areas: Mapping[str, tuple[float, int]], coords: np.ndarray) -> np.ndarray:
    """An n x n array of the area factor of each leg's middle between `coords` (n x 2,
    lat and lng); 1.0 where the area is not learned."""
    lat = (coords[:, 0][:, None] + coords[:, 0][None, :]) / 2
    lng = (coords[:, 1][:, None] + coords[:, 1][None, :]) / 2
    rows = np.floor(lat * METRES_PER_DEGREE / AREA_CELL_M)
    middle = (rows + 0.5) * AREA_CELL_M / METRES_PER_DEGREE
    width = AREA_CELL_M / (METRES_PER_DEGREE * np.maximum(np.cos(np.radians(middle)), 0.01))
    cols = np.floor(lng / width)
    keys = np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.int64)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    values = np.array(
        [areas.get(f"{r}:{c}", (1.0, 0))[0] for r, c in unique.tolist()], dtype=np.float64
    )
    return values[inverse.ravel()].reshape(lat.shape)


# --- the current tenant's, kept per process ------------------------------------------------

_lock = threading.Lock()
#: schema → (newest run's pk, when it was last checked (monotonic), the learned tables)
_kept: dict[str, tuple[int, float, Corrections]] = {}


def newest_run_pk() -> int:
    """The pk of the current schema's newest finished learning run (0: none)."""
    return (
        LearningRun.objects.filter(status=LearningRun.Status.DONE)
        .order_by("-finished_at", "-pk")
        .values_list("pk", flat=True)
        .first()
        or 0
    )


def load(version: int, rush_hours: Sequence[Mapping] = ()) -> Corrections:
    """The learned tables of the current schema, as they are now."""
    hours: dict[int, tuple[float, int]] = {}
    areas: dict[str, tuple[float, int]] = {}
    for kind, key, factor, legs in TravelFactor.objects.values_list(
        "kind", "key", "factor", "legs"
    ):
        if legs < MIN_LEGS:
            continue
        if kind == TravelFactor.Kind.HOUR:
            hours[int(key)] = (factor, legs)
        else:
            areas[key] = (factor, legs)
    levels: dict[str, dict] = {level: {} for level in ServiceTime.Level.values}
    for level, key, delta, visits in ServiceTime.objects.values_list(
        "level", "key", "delta_s", "visits"
    ):
        if visits >= MIN_VISITS:
            levels[level][int(key) if level == ServiceTime.Level.SIZE else key] = (delta, visits)
    return Corrections(
        rush_hours=tuple(rush_hours),
        hours=hours,
        areas=areas,
        addresses=levels[ServiceTime.Level.ADDRESS],
        customers=levels[ServiceTime.Level.CUSTOMER],
        sizes=levels[ServiceTime.Level.SIZE],
        version=version,
    )


def corrections() -> Corrections:
    """The current tenant's corrections (see the module doc); call it inside its schema."""
    tenant = current_tenant()
    rush_hours = tuple(tenant.rush_hours or ())
    if not tenant.use_learned_times:
        return Corrections.none(rush_hours)
    schema = connection.schema_name
    now = time.monotonic()
    with _lock:
        kept = _kept.get(schema)
    if kept is not None and now - kept[1] < RECHECK_S and kept[2].rush_hours == rush_hours:
        return kept[2]
    version = newest_run_pk()
    if kept is not None and kept[0] == version and kept[2].rush_hours == rush_hours:
        found = kept[2]
    else:
        found = load(version, rush_hours) if version else Corrections.none(rush_hours)
    with _lock:
        _kept[schema] = (version, now, found)
    return found


def forget(schema: str | None = None) -> None:
    """Drop what this process kept (one schema's, or every one's): the next call reads
    the tables again. A learning run calls it; tests call it between tests."""
    with _lock:
        if schema is None:
            _kept.clear()
        else:
            _kept.pop(schema, None)
