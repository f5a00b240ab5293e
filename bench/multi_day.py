"""Multi-day planning against planning day by day, the same orders and the same budget.

In a scratch database (created and dropped here) and a throw-away tenant, each case is a
depot with its vans and drivers (bench/fleet.py's: 07:00 to 19:00, no break, 120 items and
300 kg) and, per seed, a range of days of orders generated here: 1-3 items, 1-8 kg, 3-7
minutes at the door, within about 13 x 14 km of a depot in central London. A share of them
is flexible: booked for a day and acceptable until a later one (`latest_date`, a range of
2-5 days that ends inside the case's days); the others must go on their day.

- (a) 5 days, 3 vans, 200 orders, 60 % flexible, a third with a 3-hour window; 20 s.
- (b) 7 days, 4 vans, 350 orders, 60 % flexible, every one with a 3-hour window; 30 s.

For each case and seed the orders are planned twice, each time in a week of its own (the
same orders, days 7 apart so that the weekdays agree; weeks do not overlap):

- multi-day: `multi_day_create(first_date, days, seconds=budget, depot)` then
  `multi_day_solve`, called directly in the tenant's schema as the worker would: one
  search over the week, then one draft Plan per day.
- day by day (the peer): for each day in turn `plan_create(date, depot, seconds=budget /
  days)` then `plan_solve`; the flexible orders that the day leaves out are carried to the
  next day of their range (`order_reschedule`, silent), the others are left out.

Reported per case, medians over the seeds: orders served (a stop on a day's plan), left
out, km and hours (the day plans' sums), van-days driven and wall time (from the first
call to the last plan stored, queue latency excluded).

Usage: make bench-multi-day   (BENCH_MULTI_DAY_SEEDS=1,2,3, BENCH_MULTI_DAY_SCALE=1
                               multiplies the budgets, BENCH_MULTI_DAY_CASES=a,b)
Writes the table into docs/benchmarks.md between the multi-day markers (full runs only).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_multi_day")
os.environ.pop("Q_SYNC", None)  # jobs go on the queue (no worker takes them), not inline

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.docs import cpu_model, git_head  # noqa: E402
from dispatch.models import Depot, Driver, Order, Vehicle  # noqa: E402
from dispatch.services.orders import order_reschedule  # noqa: E402
from routing.models import MultiDayPlan, Plan, PlanRoute, PlanStop, PlanUnassigned  # noqa: E402
from routing.services.multi_day import multi_day_create, multi_day_solve  # noqa: E402
from routing.services.plans import PLAN_SECONDS_RANGE, plan_create, plan_solve  # noqa: E402
from tenants.selectors import travel_source  # noqa: E402
from tenants.services import provisioning as tenant_services  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- multi-day:start -->", "<!-- multi-day:end -->"
HEADING = "## Multi-day planning"
DEPOT = (51.5, -0.12)  # central London
SPREAD = (0.06, 0.10)  # degrees of lat, lng either side of the depot (about 13 x 14 km)
ACTOR = "bench:multi-day"


@dataclass(frozen=True)
class Case:
    name: str
    days: int
    vans: int
    orders: int
    budget_s: float
    flexible: float  # share of orders with a range of days
    windowed: float  # share of orders with a 3-hour window

    @property
    def label(self) -> str:
        windows = "all windowed" if self.windowed >= 1 else f"{self.windowed:.0%} windowed"
        return (
            f"({self.name}) {self.days} days, {self.vans} vans, {self.orders} orders, "
            f"{self.flexible:.0%} flexible, {windows}"
        )


ALL_CASES = (
    Case("a", days=5, vans=3, orders=200, budget_s=20, flexible=0.6, windowed=1 / 3),
    Case("b", days=7, vans=4, orders=350, budget_s=30, flexible=0.6, windowed=1.0),
)
DEFAULT_SEEDS = (1, 2, 3)
SEEDS = (
    tuple(int(x) for x in os.environ.get("BENCH_MULTI_DAY_SEEDS", "").split(",") if x.strip())
    or DEFAULT_SEEDS
)
SCALE = float(os.environ.get("BENCH_MULTI_DAY_SCALE", "1"))
CASE_NAMES = tuple(
    x.strip() for x in os.environ.get("BENCH_MULTI_DAY_CASES", "a,b").split(",") if x.strip()
)
CASES = tuple(c for c in ALL_CASES if c.name in CASE_NAMES)
MODES = ("multi-day", "day by day")


def budget_of(case: Case) -> float:
    low, high = PLAN_SECONDS_RANGE
    return min(high, max(low, case.budget_s * SCALE))


def per_day_budget(case: Case) -> float:
    low, _ = PLAN_SECONDS_RANGE
    return max(low, round(budget_of(case) / case.days, 2))


# --- the fleet and the orders ---------------------------------------------------------------


def make_fleet(case: Case) -> Depot:
    """A depot and `case.vans` vans, each with its driver (bench/fleet.py's vans)."""
    depot = Depot.objects.create(
        name=f"Bench multi-day {case.name}",
        lat=DEPOT[0],
        lng=DEPOT[1],
        opens_at=dt.time(6),
        closes_at=dt.time(22),
    )
    for k in range(1, case.vans + 1):
        van = Vehicle.objects.create(
            name=f"Bench md {case.name} van {k}",
            start_depot=depot,
            capacity_weight_kg=Decimal("300"),
            capacity_items=120,
            cost_per_km=Decimal("0.5"),
            cost_per_hour=Decimal("20"),
        )
        Driver.objects.create(
            name=f"Bench md {case.name} driver {k}",
            default_vehicle=van,
            shift_start=dt.time(7),
            shift_end=dt.time(19),
        )
    return depot


def make_orders(case: Case, seed: int, first: dt.date, tag: str) -> dict[int, tuple]:
    """The seed's orders in the week from `first` (the same for every week: only the dates
    move). Returns order pk → (first day, last day) it may go on."""
    rng = random.Random(f"multi-day:{case.name}:{seed}")
    made = []
    for i in range(1, case.orders + 1):
        if rng.random() < case.flexible:
            span = rng.randint(2, min(5, case.days))
            offset = rng.randint(0, case.days - span)
            latest = first + dt.timedelta(days=offset + span - 1)
        else:
            offset = rng.randint(0, case.days - 1)
            latest = None
        windows = []
        if rng.random() < case.windowed:
            start = rng.randint(8, 15)
            windows = [{"start": f"{start:02d}:00", "end": f"{start + 3:02d}:00"}]
        made.append(
            Order(
                external_id=f"md-{tag}-{i}",
                customer_name=f"Customer {i}",
                geocode_status=Order.GeocodeStatus.PROVIDED,
                address_line1=f"{i} High Street",
                city="London",
                lat=round(DEPOT[0] + rng.uniform(-SPREAD[0], SPREAD[0]), 6),
                lng=round(DEPOT[1] + rng.uniform(-SPREAD[1], SPREAD[1]), 6),
                delivery_date=first + dt.timedelta(days=offset),
                latest_date=latest,
                weight_kg=Decimal(rng.randint(10, 80)) / 10,
                items=rng.randint(1, 3),
                service_s=rng.randint(180, 420),
                time_windows=windows,
            )
        )
    made = Order.objects.bulk_create(made, batch_size=1000)
    return {o.pk: (o.delivery_date, o.latest_date or o.delivery_date) for o in made}


# --- one run -----------------------------------------------------------------------------------


@dataclass
class Run:
    case: str
    seed: int
    mode: str
    served: int = 0
    left_out: int = 0
    carried: int = 0  # day by day: orders moved to a later day after a day left them out
    km: float = 0.0
    hours: float = 0.0
    van_days: int = 0
    wall_s: float = 0.0
    engines: set[str] = field(default_factory=set)
    flexible_not_first: int = 0  # flexible orders served after the first day of their range


def _tally(run: Run, plans: list[Plan], ranges: dict[int, tuple]) -> None:
    """km, hours, van-days and the orders' days from the stored day plans; every served
    order must be on a day of its range."""
    for plan in plans:
        if plan.status != Plan.Status.DONE:
            raise RuntimeError(f"plan {plan.pk} ended {plan.status}: {plan.error}")
        run.km += plan.distance_m / 1000
        run.hours += plan.duration_s / 3600
        run.engines.add(plan.engine)
    ids = [p.pk for p in plans]
    run.van_days = (
        PlanRoute.objects.filter(plan_id__in=ids, stops__order__isnull=False).distinct().count()
    )
    served = PlanStop.objects.filter(route__plan_id__in=ids, order__isnull=False).values_list(
        "order_id", "route__plan__date"
    )
    seen = set()
    for order_id, day in served:
        first, last = ranges[order_id]
        if not first <= day <= last or order_id in seen:
            raise RuntimeError(f"order {order_id} served on {day}, range {first}..{last}")
        seen.add(order_id)
        run.flexible_not_first += first < last and day > first
    if run.served != len(seen):
        raise RuntimeError(f"{run.mode}: {run.served} counted, {len(seen)} stops stored")


def run_multi_day(case: Case, seed: int, depot: Depot, first: dt.date, ranges) -> Run:
    run = Run(case.name, seed, "multi-day")
    began = time.perf_counter()
    multi = multi_day_create(first_date=first, days=case.days, seconds=budget_of(case), depot=depot)
    status = multi_day_solve(multi.pk)
    run.wall_s = time.perf_counter() - began
    multi.refresh_from_db()
    if status != MultiDayPlan.Status.DONE or multi.status != MultiDayPlan.Status.DONE:
        raise RuntimeError(f"multi-day plan {multi.pk} ended {multi.status}: {multi.error}")
    plans = list(multi.plans.order_by("date"))
    if len(plans) != case.days:
        raise RuntimeError(f"multi-day plan {multi.pk}: {len(plans)} day plans")
    ids = [p.pk for p in plans]
    run.served = PlanStop.objects.filter(route__plan_id__in=ids, order__isnull=False).count()
    run.left_out = PlanUnassigned.objects.filter(plan_id__in=ids).count()
    _tally(run, plans, ranges)
    return run


def run_day_by_day(case: Case, seed: int, depot: Depot, first: dt.date, ranges) -> Run:
    run = Run(case.name, seed, "day by day")
    seconds = per_day_budget(case)
    plans = []
    began = time.perf_counter()
    for k in range(case.days):
        day = first + dt.timedelta(days=k)
        plan = plan_create(date=day, depot=depot, seconds=seconds)
        if plan_solve(plan.pk) != Plan.Status.DONE:
            plan.refresh_from_db()
            raise RuntimeError(f"plan {plan.pk} ended {plan.status}: {plan.error}")
        plans.append(plan)
        run.served += PlanStop.objects.filter(route__plan=plan, order__isnull=False).count()
        for left in PlanUnassigned.objects.filter(plan=plan).select_related("order"):
            order = left.order
            if order.latest_date and order.latest_date > day:
                order_reschedule(
                    order=order,
                    delivery_date=(day + dt.timedelta(days=1)).isoformat(),
                    actor=ACTOR,
                    reason="left out by its day's plan",
                    notify_customer=False,
                )
                run.carried += 1
            else:
                run.left_out += 1
    run.wall_s = time.perf_counter() - began
    plans = [Plan.objects.get(pk=p.pk) for p in plans]
    _tally(run, plans, ranges)
    return run


# --- report ----------------------------------------------------------------------------------


def median(values) -> float:
    return statistics.median(list(values))


def _delta(value: float, base: float, digits: int) -> str:
    if not base:
        return f"{value - base:+,.{digits}f}"
    return f"{value - base:+,.{digits}f} ({100 * (value - base) / base:+.1f} %)"


def summary_lines(case: Case, runs: list[Run]) -> list[str]:
    lines = []
    by = {m: [r for r in runs if r.case == case.name and r.mode == m] for m in MODES}
    base = by["day by day"]
    for mode in MODES:
        mine = by[mode]
        if not mine:
            continue
        budget = (
            f"{budget_of(case):g}"
            if mode == "multi-day"
            else f"{per_day_budget(case):g} x {case.days}"
        )
        km, hours = median(r.km for r in mine), median(r.hours for r in mine)
        vs = "—"
        if mode == "multi-day" and base:
            vs = (
                f"{_delta(median(r.served for r in mine), median(r.served for r in base), 0)} / "
                f"{_delta(km, median(r.km for r in base), 1)} / "
                f"{_delta(hours, median(r.hours for r in base), 1)}"
            )
        lines.append(
            f"| {case.label} | {mode} | {budget} | {len(mine)} "
            f"| **{median(r.served for r in mine):,g}** | {median(r.left_out for r in mine):,g} "
            f"| **{km:,.1f}** | **{hours:,.1f}** | {median(r.van_days for r in mine):g} "
            f"| {median(r.wall_s for r in mine):,.1f} | {vs} |"
        )
    return lines


def run_line(run: Run) -> str:
    extra = f"{run.carried} carried" if run.mode == "day by day" else "—"
    return (
        f"| {run.case} | {run.seed} | {run.mode} | {run.served} | {run.left_out} | {extra} "
        f"| {run.flexible_not_first} | {run.km:,.1f} | {run.hours:,.1f} | {run.van_days} "
        f"| {run.wall_s:,.1f} | {', '.join(sorted(run.engines))} |"
    )


def command() -> str:
    env = " ".join(
        f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_MULTI_DAY_")
    )
    return f"{env} make bench-multi-day".strip()


def write_docs(lines: list[str]) -> None:
    """Replace the region between the multi-day markers (read just before writing, so that
    another benchmark's region written meanwhile is kept), or add the heading, a line on
    what it is and the markers at the end of the file."""
    block = "\n".join([BEGIN, *lines, END])
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        intro = (
            f"{HEADING}\n\n"
            "`make bench-multi-day` (`bench/multi_day.py`): a week's orders, some of them "
            "flexible, planned in one multi-day search against planning each day on its own "
            "with the leftovers carried forward, the same orders and the same total budget.\n\n"
        )
        text = text.rstrip() + "\n\n" + intro + block + "\n"
    DOCS.write_text(text)
    print(f"written to {DOCS.relative_to(ROOT)}")


def main() -> None:
    logging.getLogger("django-q").setLevel(logging.WARNING)
    load_before = os.getloadavg()[0]
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    tenant = None
    runs: list[Run] = []
    travel = "?"
    try:
        version = connection.pg_version
        machine = (
            f"{cpu_model()}, {os.cpu_count()} cores, PostgreSQL {version // 10000}.{version % 100}"
        )
        tenant_services.public_tenant_ensure()
        tenant_services.template_schema_ensure()
        tenant = tenant_services.tenant_provision(
            name="Bench multi-day",
            slug=f"bench-multi-day-{secrets.token_hex(3)}",
            owner_email="owner@bench.test",
            owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
            country="GB",
            time_zone="Europe/London",
            create_api_key=False,
        ).tenant
        # Every run has a week of its own, 7 days after the last (same weekdays), from the
        # day after tomorrow: multi-day planning plans from today on.
        base = timezone.localdate() + dt.timedelta(days=2)
        slot = 0
        with schema_context(tenant.schema_name):
            travel = travel_source().label
            for case in CASES:
                depot = make_fleet(case)
                for seed in SEEDS:
                    # alternate which planner goes first, so neither always meets the
                    # other's leftovers in the caches or the machine's load
                    modes = MODES if seed % 2 else MODES[::-1]
                    for mode in modes:
                        first = base + dt.timedelta(days=7 * slot)
                        slot += 1
                        tag = f"{case.name}{seed}-{slot}"
                        ranges = make_orders(case, seed, first, tag)
                        planner = run_multi_day if mode == "multi-day" else run_day_by_day
                        run = planner(case, seed, depot, first, ranges)
                        runs.append(run)
                        print(run_line(run), flush=True)
    finally:
        connection.set_schema_to_public()
        if tenant is not None:
            tenant.delete(force_drop=True)
        teardown_databases(db_cfg, verbosity=0)
    load_after = os.getloadavg()[0]

    lines = [
        f"Command: `{command()}` — run on {time.strftime('%Y-%m-%d')} at commit {git_head()}, "
        f"{machine}; travel times: {travel} ({settings.ROUTING_MATRIX_PROVIDER} provider).",
        "",
        "| case | planner | budget s | seeds | **served** | left out | **km** | **hours** "
        "| van-days driven | wall s | multi-day vs day by day: served / km / hours |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *(line for case in CASES for line in summary_lines(case, runs)),
        "",
        "- The cases: (a) 5 days, 3 vans, 200 orders, 60 % flexible, a third with a 3-hour "
        "window, 20 s; (b) 7 days, 4 vans, 350 orders, 60 % flexible, every one with a 3-hour "
        "window (08:00-11:00 to 15:00-18:00), 30 s. A flexible order's range is 2-5 days "
        "(at most the case's), inside the case's days; a fixed order has one day. Days "
        "uniform at random; orders within about 13 x 14 km of a depot in central London, "
        "1-3 items, 1-8 kg, 3-7 minutes at the door; vans of 120 items and 300 kg, drivers "
        "07:00-19:00, no break (bench/fleet.py's). Seeds "
        f"{', '.join(map(str, SEEDS))}; medians over them, each column its own median.",
        "- multi-day: `multi_day_create` + `multi_day_solve` in the tenant's schema (as the "
        "worker runs it): one search over the week, each van one vehicle per day, then one "
        "draft Plan per day. day by day (the peer, same run, same orders in a week of their "
        "own): `plan_create` + `plan_solve` for each day with the budget split evenly; a "
        "flexible order that a day leaves out is booked for the next day of its range "
        "(`order_reschedule`, silent) and planned again there. Queue latency is not "
        "included in either wall time.",
        "- served: orders with a stop on a day's plan; left out: the rest (nothing is left "
        "out twice); km and hours: the day plans' totals (`distance_m`, `duration_s`); "
        "van-days driven: routes with at least one stop. Every served order is checked to "
        "be on a day of its range.",
        *(
            [
                "- Nothing was left out and nothing carried in any run: the fleet has room for "
                "every order on its first day, so the planners differ in km, hours and van-days "
                "only (a multi-day plan moves flexible orders to later days to make shorter "
                "routes: 'flexible later' below)."
            ]
            if not any(r.left_out or r.carried for r in runs)
            else []
        ),
        f"- The machine has {os.cpu_count()} cores and other work was running on it during "
        f"the run (load average {load_before:.2f} before, {load_after:.2f} after, 1 minute); "
        "both planners met the same conditions, alternating which went first, but absolute "
        "wall times and what a search reaches in its budget are lower than on an idle "
        "machine.",
        "",
        "Every run (flexible later: flexible orders served after the first day of their range):",
        "",
        "| case | seed | planner | served | left out | carried | flexible later | km "
        "| hours | van-days | wall s | engine |",
        "|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---|",
        *(run_line(r) for r in runs),
    ]
    print("\nMulti-day planning against day by day\n")
    print("\n".join(lines))
    if SEEDS == DEFAULT_SEEDS and SCALE == 1 and len(CASES) == len(ALL_CASES):
        write_docs(lines)
    else:
        print(f"\n{DOCS.relative_to(ROOT)} not written: a quick run (seeds, scale or cases)")


if __name__ == "__main__":
    main()
