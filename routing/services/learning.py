"""Learning from the business's own drivers: the observations a day leaves (stored here,
read by `tracking.services.observations`, which owns the GPS), the fit that turns them
into learned travel factors and door times (`routing.services.corrections` applies them),
and the nightly refresh that measures itself on days it did not learn from.

The travel fit (per tenant): y = log(observed / road model), winsorised to
[log 0.25, log 4], is backfitted as y = h[hour of the week] + a[area], each shrunk
(ridge): an hour towards the log of the tenant's configured rush factor at its start
(K_H legs' worth), an area towards 0, i.e. a factor of 1 (K_A legs' worth); the areas are
kept centred (their legs' average is 0), so the overall level belongs to the hours. Door times:
per address, customer and order size, the median of (observed - configured) seconds.
Only groups with enough data (`corrections.MIN_LEGS`, `MIN_VISITS`) are stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from dispatch.selectors.recurring import tenant_today
from routing.models import (
    LearningDay,
    LearningRun,
    LegObservation,
    Plan,
    ServiceObservation,
    ServiceTime,
    TravelFactor,
)
from tenants.selectors import current_tenant

from . import corrections
from .corrections import MIN_LEGS, MIN_VISITS, Corrections, configured_factor
from .replay import eta_replay

logger = logging.getLogger(__name__)

#: A leg's observed / estimated ratio is kept inside these (the readers drop legs outside).
RATIO_LOW, RATIO_HIGH = 0.25, 4.0
LOG_LOW, LOG_HIGH = math.log(RATIO_LOW), math.log(RATIO_HIGH)
#: Ridge shrinkage: how many legs' worth of weight the prior of an hour (the configured
#: rush factor) and of an area (a factor of 1) has.
K_H = 5.0
K_A = 5.0
#: Backfitting stops after this many rounds, or when no value moves more than TOLERANCE.
ITERATIONS = 20
TOLERANCE = 1e-6
HOURS_OF_WEEK = 168
#: The refresh: learn from this many days before today, measure on the last HELD_OUT.
DAYS = 90
HELD_OUT = 7
#: A run still "running" after this long was stopped from outside (its worker killed):
#: the next refresh marks it failed.
STALE_RUN = dt.timedelta(hours=6)


# --- observations (what a day of driving left) ---------------------------------------------


@dataclass(frozen=True)
class LegSeen:
    """A leg as read from a day: to `order_id`'s stop (from the depot or the stop before)."""

    order_id: int | None
    driver_id: int | None
    hour_of_week: int
    cell: str
    estimate_s: int
    observed_s: int
    distance_m: int = 0


@dataclass(frozen=True)
class VisitSeen:
    """A stop's time at the door as read from a day (arrived to delivered or failed)."""

    order_id: int | None
    driver_id: int | None
    address_key: str
    customer_key: str
    size: int
    configured_s: int
    observed_s: int


def _advisory_lock(name: str) -> None:
    """A transaction-long lock on `name` in this schema (two readers of one day, or two
    refreshes, take turns instead of colliding on the unique constraints)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{connection.schema_name}:{name}"]
        )


@transaction.atomic
def observations_store(
    *,
    date: dt.date,
    legs: Sequence[LegSeen],
    visits: Sequence[VisitSeen],
    skipped: Mapping[str, int],
) -> LearningDay:
    """Store one day's observations in the current schema, replacing any earlier reading
    of that day (a day read twice is stored once)."""
    _advisory_lock(f"learning-day:{date.isoformat()}")
    LegObservation.objects.filter(date=date).delete()
    ServiceObservation.objects.filter(date=date).delete()
    LearningDay.objects.filter(date=date).delete()
    LegObservation.objects.bulk_create(
        [
            LegObservation(
                date=date,
                order_id=leg.order_id,
                driver_id=leg.driver_id,
                hour_of_week=leg.hour_of_week,
                cell=leg.cell,
                estimate_s=leg.estimate_s,
                observed_s=leg.observed_s,
                distance_m=leg.distance_m,
            )
            for leg in legs
        ],
        batch_size=1000,
    )
    ServiceObservation.objects.bulk_create(
        [
            ServiceObservation(
                date=date,
                order_id=visit.order_id,
                driver_id=visit.driver_id,
                address_key=visit.address_key,
                customer_key=visit.customer_key,
                size=visit.size,
                configured_s=visit.configured_s,
                observed_s=visit.observed_s,
            )
            for visit in visits
        ],
        batch_size=1000,
    )
    return LearningDay.objects.create(
        date=date,
        legs=len(legs),
        stops=len(visits),
        skipped={k: v for k, v in sorted(skipped.items()) if v},
    )


# --- the fit --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    factor: float
    legs: int
    spread: float  # standard deviation of the log residuals of its legs


@dataclass(frozen=True)
class Door:
    delta_s: int  # median of observed - configured
    median_s: int  # median observed
    visits: int


@dataclass(frozen=True)
class Fitted:
    """What a fit learned (only groups with enough data), and from how much."""

    hours: Mapping[int, Factor] = field(default_factory=dict)
    areas: Mapping[str, Factor] = field(default_factory=dict)
    addresses: Mapping[str, Door] = field(default_factory=dict)
    customers: Mapping[str, Door] = field(default_factory=dict)
    sizes: Mapping[int, Door] = field(default_factory=dict)
    legs: int = 0
    visits: int = 0
    first_date: dt.date | None = None
    last_date: dt.date | None = None

    def corrections(self, rush_hours: Sequence[Mapping] = (), version: int = 0) -> Corrections:
        """The corrections this fit would give, without touching the tables (the held-out
        measurement uses it)."""
        return Corrections(
            rush_hours=tuple(rush_hours),
            hours={k: (f.factor, f.legs) for k, f in self.hours.items()},
            areas={k: (f.factor, f.legs) for k, f in self.areas.items()},
            addresses={k: (d.delta_s, d.visits) for k, d in self.addresses.items()},
            customers={k: (d.delta_s, d.visits) for k, d in self.customers.items()},
            sizes={k: (d.delta_s, d.visits) for k, d in self.sizes.items()},
            version=version,
        )


def hour_priors(rush_hours: Sequence[Mapping]) -> np.ndarray:
    """log of the configured rush factor at the start of each hour of the week."""
    return np.array(
        [
            math.log(max(configured_factor(rush_hours, h // 24, (h % 24) * 3600), 1e-6))
            for h in range(HOURS_OF_WEEK)
        ]
    )


def travel_fit(
    rows: Iterable[tuple[int, str, int, int]], rush_hours: Sequence[Mapping] = ()
) -> tuple[dict[int, Factor], dict[str, Factor], int]:
    """Hour-of-week and area factors from `(hour_of_week, cell, estimate_s, observed_s)`
    legs (see the module doc); groups with fewer than `MIN_LEGS` legs are left out.
    Returns (hours, areas, legs used)."""
    data = [(h, c, e, o) for h, c, e, o in rows if e > 0 and o > 0 and 0 <= h < HOURS_OF_WEEK]
    if not data:
        return {}, {}, 0
    g = np.fromiter((h for h, _, _, _ in data), dtype=np.int64, count=len(data))
    cells, c = np.unique(np.array([cell for _, cell, _, _ in data]), return_inverse=True)
    c = c.ravel()
    est = np.fromiter((e for _, _, e, _ in data), dtype=np.float64, count=len(data))
    obs = np.fromiter((o for _, _, _, o in data), dtype=np.float64, count=len(data))
    y = np.clip(np.log(obs / est), LOG_LOW, LOG_HIGH)
    prior = hour_priors(rush_hours)
    n_g = np.bincount(g, minlength=HOURS_OF_WEEK).astype(np.float64)
    n_c = np.bincount(c, minlength=len(cells)).astype(np.float64)
    h, a = prior.copy(), np.zeros(len(cells))
    for _ in range(ITERATIONS):
        h_new = (np.bincount(g, y - a[c], HOURS_OF_WEEK) + K_H * prior) / (n_g + K_H)
        a_new = np.bincount(c, y - h_new[g], len(cells)) / (n_c + K_A)
        # an area is slower or faster than the tenant's average area: the level is the
        # hours' (else a rush slowdown leaks into every area and the hours come out low)
        a_new -= float(n_c @ a_new) / float(n_c.sum())
        moved = max(np.abs(h_new - h).max(), np.abs(a_new - a).max())
        h, a = h_new, a_new
        if moved < TOLERANCE:
            break
    residual = y - h[g] - a[c]

    def spreads(groups: np.ndarray, counts: np.ndarray, size: int) -> np.ndarray:
        safe = np.maximum(counts, 1)
        mean = np.bincount(groups, residual, size) / safe
        square = np.bincount(groups, residual * residual, size) / safe
        return np.sqrt(np.maximum(square - mean * mean, 0.0))

    spread_g, spread_c = spreads(g, n_g, HOURS_OF_WEEK), spreads(c, n_c, len(cells))
    hours = {
        k: Factor(round(math.exp(h[k]), 4), int(n_g[k]), round(float(spread_g[k]), 4))
        for k in range(HOURS_OF_WEEK)
        if n_g[k] >= MIN_LEGS
    }
    areas = {
        str(cells[k]): Factor(round(math.exp(a[k]), 4), int(n_c[k]), round(float(spread_c[k]), 4))
        for k in range(len(cells))
        if n_c[k] >= MIN_LEGS
    }
    return hours, areas, len(data)


def door_fit(
    rows: Iterable[tuple[str, str, int, int, int]],
) -> tuple[dict[str, Door], dict[str, Door], dict[int, Door], int]:
    """Door times from `(address_key, customer_key, size, configured_s, observed_s)`
    visits: per address, customer and size the median of observed - configured and the
    median observed; groups with fewer than `MIN_VISITS` visits are left out. Returns
    (addresses, customers, sizes, visits used)."""
    grouped: list[dict] = [defaultdict(list), defaultdict(list), defaultdict(list)]
    count = 0
    for address, customer, size, configured, observed in rows:
        count += 1
        pair = (observed - configured, observed)
        if address:
            grouped[0][address].append(pair)
        if customer:
            grouped[1][customer].append(pair)
        grouped[2][int(size)].append(pair)

    def doors(groups: dict) -> dict:
        return {
            key: Door(
                round(statistics.median(d for d, _ in pairs)),
                round(statistics.median(o for _, o in pairs)),
                len(pairs),
            )
            for key, pairs in groups.items()
            if len(pairs) >= MIN_VISITS
        }

    return doors(grouped[0]), doors(grouped[1]), doors(grouped[2]), count


def fit(first_date: dt.date, last_date: dt.date, *, rush_hours: Sequence | None = None) -> Fitted:
    """Fit the corrections on the observations of `first_date`..`last_date` (inclusive) in
    the current schema; writes nothing. `rush_hours`: the hours' prior (default: the
    tenant's configured rush hours)."""
    if rush_hours is None:
        rush_hours = tuple(current_tenant().rush_hours or ())
    legs = LegObservation.objects.filter(date__range=(first_date, last_date))
    visits = ServiceObservation.objects.filter(date__range=(first_date, last_date))
    hours, areas, leg_count = travel_fit(
        legs.values_list("hour_of_week", "cell", "estimate_s", "observed_s").iterator(
            chunk_size=5000
        ),
        rush_hours,
    )
    addresses, customers, sizes, visit_count = door_fit(
        visits.values_list(
            "address_key", "customer_key", "size", "configured_s", "observed_s"
        ).iterator(chunk_size=5000)
    )
    spans = [
        legs.aggregate(first=Min("date"), last=Max("date")),
        visits.aggregate(first=Min("date"), last=Max("date")),
    ]
    firsts = [s["first"] for s in spans if s["first"]]
    lasts = [s["last"] for s in spans if s["last"]]
    return Fitted(
        hours=hours,
        areas=areas,
        addresses=addresses,
        customers=customers,
        sizes=sizes,
        legs=leg_count,
        visits=visit_count,
        first_date=min(firsts, default=None),
        last_date=max(lasts, default=None),
    )


def _tables_replace(fitted: Fitted) -> None:
    TravelFactor.objects.all().delete()
    ServiceTime.objects.all().delete()
    TravelFactor.objects.bulk_create(
        [
            TravelFactor(
                kind=TravelFactor.Kind.HOUR,
                key=str(k),
                factor=f.factor,
                legs=f.legs,
                spread=f.spread,
            )
            for k, f in sorted(fitted.hours.items())
        ]
        + [
            TravelFactor(
                kind=TravelFactor.Kind.AREA, key=k, factor=f.factor, legs=f.legs, spread=f.spread
            )
            for k, f in sorted(fitted.areas.items())
        ]
    )
    rows = []
    for level, groups in (
        (ServiceTime.Level.ADDRESS, fitted.addresses),
        (ServiceTime.Level.CUSTOMER, fitted.customers),
        (ServiceTime.Level.SIZE, fitted.sizes),
    ):
        rows += [
            ServiceTime(
                level=level,
                key=str(key),
                delta_s=door.delta_s,
                median_s=max(door.median_s, 0),
                visits=door.visits,
            )
            for key, door in sorted(groups.items())
        ]
    ServiceTime.objects.bulk_create(rows, batch_size=1000)


def published_dates(first_date: dt.date, last_date: dt.date) -> list[dt.date]:
    """Dates in `first_date`..`last_date` with a published plan, in order."""
    return sorted(
        set(
            Plan.objects.filter(
                date__range=(first_date, last_date), published_at__isnull=False
            ).values_list("date", flat=True)
        )
    )


def _measure(
    run: LearningRun, train: Fitted, dates: list[dt.date], rush_hours, window_s: int | None
) -> None:
    """ETA error on `dates` (which `train` never saw) without and with what it learned."""
    if not dates:
        return
    options = {} if window_s is None else {"window_s": window_s}
    before = eta_replay(dates, Corrections.none(rush_hours), **options)
    after = eta_replay(dates, train.corrections(rush_hours), **options)
    run.eval_days, run.eval_stops = after.days, after.stops
    run.mae_before_s, run.mae_after_s = before.mae_s, after.mae_s
    run.inside_before, run.inside_after = before.inside_share, after.inside_share


def refresh(
    *,
    today: dt.date | None = None,
    days: int = DAYS,
    held_out: int = HELD_OUT,
    window_s: int | None = None,
) -> LearningRun:
    """Refit the current tenant's learned corrections on the observations of the `days`
    days before `today` (the tenant's today by default) and put them in place: first
    fitted without the last `held_out` days and measured on them (ETA error without and
    with the corrections; `window_s`: the promised window's width, the replay's default
    when None), then fitted on all and the tables replaced in one transaction. The run is
    visible while it works; a failure marks it failed (and is raised again)."""
    tenant = current_tenant()
    rush_hours = tuple(tenant.rush_hours or ())
    today = today or tenant_today()
    first, last = today - dt.timedelta(days=days), today - dt.timedelta(days=1)
    now = timezone.now()
    LearningRun.objects.filter(
        status=LearningRun.Status.RUNNING, started_at__lt=now - STALE_RUN
    ).update(
        status=LearningRun.Status.FAILED,
        error="Stopped without finishing (its worker ended).",
        finished_at=now,
    )
    run = LearningRun.objects.create(status=LearningRun.Status.RUNNING)
    started = time.monotonic()
    schema = connection.schema_name
    try:
        with transaction.atomic():
            if held_out > 0:
                cut = last - dt.timedelta(days=held_out)
                train = fit(first, cut, rush_hours=rush_hours)
                held = published_dates(cut + dt.timedelta(days=1), last)
                _measure(run, train, held, rush_hours, window_s)
            fitted = fit(first, last, rush_hours=rush_hours)
            _advisory_lock("learning-refresh")
            _tables_replace(fitted)
            run.status = LearningRun.Status.DONE
            run.days_read = LearningDay.objects.filter(date__range=(first, last)).count()
            run.legs, run.visits = fitted.legs, fitted.visits
            run.first_date, run.last_date = fitted.first_date, fitted.last_date
            run.finished_at = timezone.now()
            run.duration_s = round(time.monotonic() - started, 3)
            run.save()
    except Exception as exc:
        logger.exception("learning run %s failed", run.pk)
        run.status = LearningRun.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.duration_s = round(time.monotonic() - started, 3)
        run.save(update_fields=["status", "error", "finished_at", "duration_s"])
        raise
    transaction.on_commit(lambda: corrections.forget(schema))
    return run
