"""Planning end to end: from "plan" to stored routes for 100, 500 and 1,000 orders.

In a scratch database (created and dropped here) and a throw-away tenant, one day of
orders per size with a fleet sized for it (a van and driver per 50 orders; item and weight
limits that one van cannot carry alone; a third of the orders with a 3-hour window), all
generated here from a fixed seed. Each repetition creates a new Plan for the same orders
(a draft plan moves no order, which is checked) and is timed from `plan_create` to the
return of `plan_solve`, which is called directly in this process inside the tenant's
schema, as the worker would: the queue's latency is not measured. The split comes from
the Plan row (matrix_s, solve_s, save_s); "other" is the rest. The first repetition of a
size meets a cold travel-matrix cache, the later ones a warm one.

Balance (issue 23): each repetition also plans the day balanced by stops and balanced by
working time (±BENCH_PLANNING_TOLERANCE %, same budget), and a second table sets them
against the shortest plan: km, hours, the spread of stops and of hours per driver.

Usage: make bench-planning   (BENCH_PLANNING_REPEATS=3, BENCH_PLANNING_SIZES=100,500,1000,
                              BENCH_PLANNING_SCALE=1 multiplies the solver budgets,
                              BENCH_PLANNING_TOLERANCE=15, BENCH_PLANNING_BALANCE=1: 0 skips
                              the balanced plans)
Writes the table into docs/benchmarks.md between the planning markers (all sizes only).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import random
import secrets
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_planning")
# The enqueue in plan_create must not solve the plan inline (Q_SYNC=1 in the test settings):
# the bench calls plan_solve itself.
os.environ.pop("Q_SYNC", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Q  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.docs import cpu_model  # noqa: E402
from bench.fleet import ORDERS_PER_VAN, fleet_day  # noqa: E402
from dispatch.models import Depot, Order, OrderStatus  # noqa: E402
from routing import models  # noqa: E402
from routing.services.plans import PLAN_SECONDS_RANGE, plan_create, plan_solve  # noqa: E402
from tenants.services import provisioning as tenant_services  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
SEED = 1
FIRST_DAY = dt.date(2026, 12, 1)
DEPOT = (51.5, -0.12)  # central London
SPREAD = (0.06, 0.10)  # degrees of lat, lng either side of the depot (about 13 x 14 km)

DEFAULT_SIZES = (100, 500, 1000)
SIZES = (
    tuple(int(x) for x in os.environ.get("BENCH_PLANNING_SIZES", "").split(",") if x.strip())
    or DEFAULT_SIZES
)
REPEATS = int(os.environ.get("BENCH_PLANNING_REPEATS", "3"))
SCALE = float(os.environ.get("BENCH_PLANNING_SCALE", "1"))
TOLERANCE = int(os.environ.get("BENCH_PLANNING_TOLERANCE", "15"))
BALANCE = os.environ.get("BENCH_PLANNING_BALANCE", "1") != "0"
OBJECTIVES = ("shortest", "stops", "time") if BALANCE else ("shortest",)


def budget_for(orders: int) -> float:
    """The solver's seconds: 5 up to 100 orders, 10 up to 500, 20 beyond (times SCALE)."""
    base = 5 if orders <= 100 else 10 if orders <= 500 else 20
    low, high = PLAN_SECONDS_RANGE
    return min(high, max(low, base * SCALE))


# --- the day ------------------------------------------------------------------------------


@dataclass
class Day:
    orders: int
    date: dt.date
    depot: Depot
    vans: int


def make_day(orders: int, date: dt.date) -> Day:
    """`orders` open orders scattered around a depot in central London (bench/fleet.py)."""
    rng = random.Random(f"{SEED}:{orders}")

    def place_of(i: int) -> dict:
        return {
            "address_line1": f"{i} High Street",
            "city": "London",
            "lat": round(DEPOT[0] + rng.uniform(-SPREAD[0], SPREAD[0]), 6),
            "lng": round(DEPOT[1] + rng.uniform(-SPREAD[1], SPREAD[1]), 6),
        }

    depot, vans = fleet_day(
        name=str(orders), date=date, depot_at=DEPOT, orders=orders, place_of=place_of, rng=rng
    )
    return Day(orders, date, depot, vans)


# --- one repetition -----------------------------------------------------------------------


@dataclass
class Run:
    total_s: float
    matrix_s: float
    solve_s: float
    save_s: float
    routed: int
    left_out: int
    reasons: Counter
    routes_used: int
    distance_km: float
    engine: str
    objective: str = "shortest"
    hours: float = 0.0
    stops_per_route: tuple[int, ...] = ()
    hours_per_route: tuple[float, ...] = ()
    shortest_km: float | None = None  # the shortest plan found in the same solve
    shortest_hours: float | None = None
    note: str = ""

    @property
    def other_s(self) -> float:
        return self.total_s - self.matrix_s - self.solve_s - self.save_s


def plan_once(day: Day, seconds: float, objective: str = "shortest") -> Run:
    started = time.perf_counter()
    plan = plan_create(
        date=day.date,
        depot=day.depot,
        seconds=seconds,
        objective=objective,
        balance_tolerance_pct=TOLERANCE,
    )
    status = plan_solve(plan.pk)
    total_s = time.perf_counter() - started

    plan.refresh_from_db()
    if status != models.Plan.Status.DONE or plan.status != models.Plan.Status.DONE:
        raise RuntimeError(f"plan {plan.pk} ended {plan.status}: {plan.error}")
    stops = models.PlanStop.objects.filter(route__plan=plan, order__isnull=False)
    routed = stops.count()
    reasons = Counter(plan.unassigned.values_list("reason", flat=True))
    left_out = sum(reasons.values())
    if routed + left_out != day.orders:
        raise RuntimeError(f"plan {plan.pk}: {routed} routed + {left_out} left out != orders")
    moved = Order.objects.filter(delivery_date=day.date).exclude(status=OrderStatus.UNASSIGNED)
    if moved.exists():  # a draft plan must not change any order: every repetition sees them all
        raise RuntimeError(f"plan {plan.pk} moved {moved.count()} orders out of 'unassigned'")
    return Run(
        total_s=total_s,
        matrix_s=plan.matrix_s,
        solve_s=plan.solve_s,
        save_s=plan.save_s,
        routed=routed,
        left_out=left_out,
        reasons=reasons,
        routes_used=stops.values("route").distinct().count(),
        distance_km=plan.distance_m / 1000,
        engine=plan.engine,
        objective=objective,
        hours=plan.duration_s / 3600,
        stops_per_route=tuple(
            models.PlanRoute.objects.filter(plan=plan)
            .annotate(n=Count("stops", filter=Q(stops__order__isnull=False)))
            .values_list("n", flat=True)
        ),
        hours_per_route=tuple(
            d / 3600
            for d in models.PlanRoute.objects.filter(plan=plan).values_list("duration_s", flat=True)
        ),
        shortest_km=None if plan.shortest_distance_m is None else plan.shortest_distance_m / 1000,
        shortest_hours=None
        if plan.shortest_duration_s is None
        else plan.shortest_duration_s / 3600,
        note=plan.balance_note,
    )


# --- report ---------------------------------------------------------------------------------


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def shortest(runs: list[Run]) -> list[Run]:
    """The plain (shortest total) plans: the end-to-end tables are about them."""
    return [r for r in runs if r.objective == "shortest"]


def summary_line(day: Day, seconds: float, runs: list[Run]) -> str:
    warm = median([r.matrix_s for r in runs[1:]])
    left = median([r.left_out for r in runs])
    return (
        f"| {day.orders:,} | {day.vans} | {seconds:g} | {len(runs)} "
        f"| **{fmt(median([r.total_s for r in runs]))}** | {fmt(runs[0].matrix_s, 3)} "
        f"| {fmt(warm, 3)} | {fmt(median([r.solve_s for r in runs]))} "
        f"| {fmt(median([r.save_s for r in runs]), 3)} "
        f"| {fmt(median([r.other_s for r in runs]), 3)} "
        f"| {median([r.routed for r in runs]):,g} | {left:,g} "
        f"| {median([r.routes_used for r in runs]):g} of {day.vans} "
        f"| {fmt(median([r.distance_km for r in runs]), 1)} |"
    )


LABELS = {
    "shortest": "shortest total",
    "stops": f"balanced by stops ±{TOLERANCE}%",
    "time": f"balanced by time ±{TOLERANCE}%",
}


def _pct(value: float, base: float) -> str:
    return f"{value - base:+,.1f} ({100 * (value - base) / base:+.1f} %)" if base else "—"


def _spread(values: list[float], digits: int = 0) -> str:
    """Median over the repetitions of the lowest and the highest value per driver."""
    return f"{fmt(values[0], digits)}-{fmt(values[1], digits)}"


def balance_lines(day: Day, seconds: float, runs: list[Run]) -> list[str]:
    """One row per objective: medians over its repetitions, set against the shortest."""
    by = {o: [r for r in runs if r.objective == o] for o in OBJECTIVES}
    base = by["shortest"]
    km0 = median([r.distance_km for r in base])
    h0 = median([r.hours for r in base])
    lines = []
    for objective, mine in by.items():
        if not mine:
            continue
        km, hours = median([r.distance_km for r in mine]), median([r.hours for r in mine])
        stops = [
            median([min(r.stops_per_route) for r in mine]),
            median([max(r.stops_per_route) for r in mine]),
        ]
        per_h = [
            median([min(r.hours_per_route) for r in mine]),
            median([max(r.hours_per_route) for r in mine]),
        ]
        same = median([r.shortest_km for r in mine if r.shortest_km is not None])
        vs = "—" if objective == "shortest" else f"{_pct(km, km0)} / {_pct(hours, h0)}"
        notes = "; ".join(sorted({r.note for r in mine if r.note}))
        engines = ", ".join(sorted({r.engine for r in mine}))
        lines.append(
            f"| {day.orders:,} | {day.vans} | {seconds:g} | {LABELS[objective]} | {len(mine)} "
            f"| {fmt(km, 1)} | {fmt(hours, 1)} | {vs} | {fmt(same, 1)} "
            f"| {_spread(stops)} | {_spread(per_h, 1)} "
            f"| {median([r.left_out for r in mine]):,g} | {engines} "
            f"| {notes} |"
        )
    return lines


def run_line(day: Day, rep: int, run: Run) -> str:
    cache = "cold" if rep == 1 else "warm"
    if settings.ROUTING_MATRIX_CACHE_TTL_S <= 0:
        cache = "no cache"
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(run.reasons.items())) or "0"
    return (
        f"| {day.orders:,} | {rep} ({cache}) | {run.total_s:.2f} | {run.matrix_s:.3f} "
        f"| {run.solve_s:.2f} | {run.save_s:.3f} | {run.other_s:.3f} | {run.routed:,} "
        f"| {reasons} | {run.routes_used} | {run.distance_km:,.1f} | {run.engine} |"
    )


def command() -> str:
    env = " ".join(
        f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_PLANNING_")
    )
    return f"{env} make bench-planning".strip()


def notes() -> list[str]:
    provider = settings.ROUTING_MATRIX_PROVIDER
    if provider == "straight":
        provider += f"-line, detour factor {settings.ROUTING_DETOUR_FACTOR:g}"
    ttl = settings.ROUTING_MATRIX_CACHE_TTL_S
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    cache = f"{backend}, TTL {ttl:,} s" if ttl > 0 else "off (ROUTING_MATRIX_CACHE_TTL_S=0)"
    broker = "Redis" if "redis" in settings.Q_CLUSTER else "ORM"
    return [
        f"- Matrix provider: {provider} (`ROUTING_MATRIX_PROVIDER`). Matrix cache: {cache}; "
        "repetition 1 of a size is cold, the later ones warm.",
        "- How: `plan_create(date, depot, seconds)` in autocommit (its on_commit enqueue "
        f"runs at once and writes the task to the {broker} broker, where no worker takes "
        "it), then `plan_solve(plan.pk)` called directly in this process inside the "
        "tenant's schema (`schema_context`, as the worker does): queue latency is not "
        "included. total = wall clock from calling `plan_create` to `plan_solve` "
        "returning, with the routes stored.",
        "- matrix, solve, save: the Plan row's `matrix_s` (loading the day's orders and "
        "crews, the travel matrix, building the problem), `solve_s` (the optimiser, "
        "budget in the table), `save_s` (storing routes, stops and left-outs); other = "
        "total - the three (`plan_create`, the enqueue, taking the plan, the final "
        "update). Each column is its own median over the repetitions, so they need not "
        "add up; matrix warm is the median of repetitions 2 and later.",
        f"- The day: orders seeded (seed {SEED}) within about 13 x 14 km of a depot in "
        f"central London, 1-3 items and 1-8 kg each, 3-7 minutes at the door, a third "
        f"with a 3-hour window; one van and driver per {ORDERS_PER_VAN} orders, 07:00 to "
        "19:00, no break, 120 items and 300 kg each (about 50 orders' worth, so no van can carry "
        "two vans' share). Each repetition is a new draft Plan of the same open orders.",
    ]


def write_docs(lines: list[str]) -> None:
    from bench.docs import write_section

    write_section(
        "planning",
        lines,
        intro=(
            "## Planning end to end\n\n"
            "`make bench-planning` (`bench/planning.py`): from asking for a plan to its "
            "routes stored, for one day of 100, 500 and 1,000 orders, split into travel "
            "matrix, optimiser and saving.\n\n"
        ),
    )


def main() -> None:
    logging.getLogger("django-q").setLevel(logging.WARNING)  # "Enqueued ..." per plan
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    tenant = None
    results: list[tuple[Day, float, list[Run]]] = []
    try:
        version = connection.pg_version  # e.g. 160004
        machine = (
            f"{cpu_model()}, {os.cpu_count()} cores, PostgreSQL {version // 10000}.{version % 100}"
        )
        tenant_services.public_tenant_ensure()
        tenant_services.template_schema_ensure()
        # A fresh schema name per run: the matrix cache is keyed by schema, and a shared
        # cache (Redis) could still hold an earlier run's matrices.
        tenant = tenant_services.tenant_provision(
            name="Bench planning",
            slug=f"bench-planning-{secrets.token_hex(3)}",
            owner_email="owner@bench.test",
            owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
            country="GB",
            time_zone="Europe/London",
            create_api_key=False,
        ).tenant
        with schema_context(tenant.schema_name):
            days = [make_day(n, FIRST_DAY + dt.timedelta(days=k)) for k, n in enumerate(SIZES)]
            for day in days:
                seconds = budget_for(day.orders)
                runs = []
                for rep, objective in itertools.product(range(1, REPEATS + 1), OBJECTIVES):
                    run = plan_once(day, seconds, objective)
                    runs.append(run)
                    print(
                        f"{day.orders} orders, {objective}, rep {rep}: total {run.total_s:.2f} s "
                        f"(matrix {run.matrix_s:.3f}, solve {run.solve_s:.2f}, "
                        f"save {run.save_s:.3f}, other {run.other_s:.3f}); "
                        f"{run.routed} routed, {run.left_out} left out, "
                        f"{run.routes_used} routes, {run.distance_km:.1f} km, {run.hours:.1f} h, "
                        f"stops {min(run.stops_per_route)}-{max(run.stops_per_route)}, "
                        f"{run.engine} {run.note}",
                        flush=True,
                    )
                results.append((day, seconds, runs))
    finally:
        connection.set_schema_to_public()
        if tenant is not None:
            tenant.delete(force_drop=True)  # drops its schema
        teardown_databases(db_cfg, verbosity=0)

    lines = [
        f"Command: `{command()}` — run on {time.strftime('%Y-%m-%d')}, {machine}.",
        "",
        "| orders | vans | budget s | reps | **total s** | matrix s (cold) | matrix s (warm) "
        "| solve s | save s | other s | routed | left out | routes used | distance km |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(summary_line(day, seconds, shortest(runs)) for day, seconds, runs in results),
        "",
        *notes(),
        "",
        "Every repetition:",
        "",
        "| orders | rep | total s | matrix s | solve s | save s | other s | routed "
        "| left out | routes | distance km | engine |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
        *(
            run_line(day, rep, run)
            for day, _, runs in results
            for rep, run in enumerate(shortest(runs), start=1)
        ),
    ]
    if BALANCE:
        lines += [
            "",
            f"Balanced plans against the shortest (issue 23): each repetition also plans the "
            f"day balanced by stops and by working time, ±{TOLERANCE} %, with the same budget "
            "(a balanced solve spends a third of it on the shortest plan, whose km are in "
            "'shortest km, same solve'). Medians over the repetitions; stops and hours per "
            "driver are the medians of each plan's lowest and highest route (idle drivers "
            "count as 0); +km and +hours against the shortest plan's medians above.",
            "",
            "| orders | vans | budget s | plan | reps | km | hours | +km / +hours vs shortest "
            "| shortest km, same solve | stops per driver | hours per driver | left out "
            "| engine | note |",
            "|---:|---:|---:|---|---:|---:|---:|---|---:|---|---|---:|---|---|",
            *(line for day, seconds, runs in results for line in balance_lines(day, seconds, runs)),
        ]
    print("\nPlanning end to end, from plan_create to stored routes\n")
    print("\n".join(lines))
    if set(SIZES) == set(DEFAULT_SIZES):
        write_docs(lines)
    else:
        print(f"\n{DOCS.relative_to(ROOT)} not written: a subset of sizes")


if __name__ == "__main__":
    main()
