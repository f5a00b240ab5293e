"""Auto-dispatch into a running day: how long one new order takes to land on a route.

In a scratch database (created and dropped here) and a throw-away tenant with
auto-dispatch on, one day with 20 vans and drivers and BENCH_AUTO_DISPATCH_ORDERS orders
(500: 25 stops a route) is planned (`plan_create` + `plan_solve`, 20 s budget) and
published at 06:30 local; by 10:00 every driver has delivered their first stops. Then
BENCH_AUTO_DISPATCH_NEW orders (50) arrive one at a time and each is placed by
`order_auto_dispatch`, called directly in the tenant's schema as the worker's job does
(the queue's latency is not included): locking the plan, timing every position of every
unlocked route, storing the stop, the order's status change and the route's new version.
The peer is the same run's full re-solve of the rest of the day (`plan_resolve` +
`plan_solve`, the same budget), what a dispatcher's "Re-optimise the rest of the day" costs.

The clock is fixed (django.utils.timezone.now) to today's local times, so the run means
the same at any hour. Prints a Markdown table; does not write docs/benchmarks.md.

Usage: make bench-planning   (or: python bench/auto_dispatch.py; BENCH_AUTO_DISPATCH_ORDERS=
                              500,1000 BENCH_AUTO_DISPATCH_NEW=50)
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
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_auto_dispatch")
os.environ.pop("Q_SYNC", None)  # jobs go on the queue (no worker takes them), not inline

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.docs import cpu_model  # noqa: E402
from dispatch.models import Depot, Driver, Order, OrderStatus, Vehicle  # noqa: E402
from dispatch.services.orders import order_transition  # noqa: E402
from routing.models import Plan, PlanStop  # noqa: E402
from routing.services.auto_dispatch import Outcome, order_auto_dispatch  # noqa: E402
from routing.services.plans import plan_create, plan_resolve, plan_solve  # noqa: E402
from routing.services.publish import plan_publish  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.selectors import travel_source  # noqa: E402
from tenants.services import provisioning as tenant_services  # noqa: E402

SEED = 23
ZONE = ZoneInfo("Europe/London")
DEPOT = (51.5, -0.12)
SPREAD = (0.06, 0.10)
ROUTES = 20
BUDGET_S = 20.0
DELIVERED_PER_ROUTE = 3
SIZES = tuple(
    int(x) for x in os.environ.get("BENCH_AUTO_DISPATCH_ORDERS", "500").split(",") if x.strip()
)
NEW = int(os.environ.get("BENCH_AUTO_DISPATCH_NEW", "50"))
#: BENCH_AUTO_DISPATCH_PROFILE=1: print where the insertions' time goes (cProfile).
PROFILE = None
if os.environ.get("BENCH_AUTO_DISPATCH_PROFILE"):
    import cProfile

    PROFILE = cProfile.Profile()


class Clock:
    """timezone.now, fixed to `at` (services, auto_now_add and the routes' timing read it)."""

    at: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.at


CLOCK = Clock()
TRAVEL: list[str] = []


def local(today: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(today, dt.time(hour, minute), tzinfo=ZONE)


def place(rng: random.Random) -> dict:
    return {
        "address_line1": "1 High Street",
        "city": "London",
        "lat": round(DEPOT[0] + rng.uniform(-SPREAD[0], SPREAD[0]), 6),
        "lng": round(DEPOT[1] + rng.uniform(-SPREAD[1], SPREAD[1]), 6),
    }


def order_of(rng: random.Random, name: str, day: dt.date) -> Order:
    windows = []
    if rng.random() < 1 / 3:
        start = rng.randint(11, 15)
        windows = [{"start": f"{start:02d}:00", "end": f"{start + 3:02d}:00"}]
    return Order(
        external_id=name,
        customer_name=name,
        geocode_status=Order.GeocodeStatus.PROVIDED,
        delivery_date=day,
        **place(rng),
        weight_kg=Decimal(rng.randint(10, 80)) / 10,
        items=rng.randint(1, 3),
        service_s=rng.randint(180, 300),
        time_windows=windows,
    )


def running_day(size: int, today: dt.date, rng: random.Random) -> tuple[Plan, float]:
    """The day planned and published at 06:30, its drivers' first stops delivered by
    10:00 (the clock then reads 10:00). Returns the plan and its first solve's seconds."""
    CLOCK.at = local(today, 6, 0)
    depot = Depot.objects.create(
        name=f"Bench {size}", lat=DEPOT[0], lng=DEPOT[1], opens_at=dt.time(6), closes_at=dt.time(22)
    )
    for k in range(1, ROUTES + 1):
        van = Vehicle.objects.create(
            name=f"Bench {size} van {k}",
            start_depot=depot,
            capacity_weight_kg=Decimal("400"),
            capacity_items=200,
            cost_per_km=Decimal("0.5"),
            cost_per_hour=Decimal("20"),
            max_stops=-(-size // ROUTES) + 1,  # every van gets its share: 20 routes
        )
        Driver.objects.create(
            name=f"Bench {size} driver {k}",
            default_vehicle=van,
            shift_start=dt.time(7),
            shift_end=dt.time(20),
        )
    Order.objects.bulk_create(order_of(rng, f"b{size}-{i}", today) for i in range(size))
    plan = plan_create(date=today, depot=depot, seconds=BUDGET_S)
    began = time.perf_counter()
    if plan_solve(plan.pk) != Plan.Status.DONE:
        raise RuntimeError(Plan.objects.get(pk=plan.pk).error)
    solve_s = time.perf_counter() - began
    Vehicle.objects.filter(start_depot=depot).update(max_stops=None)  # room for more now
    CLOCK.at = local(today, 6, 30)
    plan = plan_publish(plan=Plan.objects.get(pk=plan.pk), actor="bench")
    for route in plan.routes.all():
        for stop in route.stops.filter(order__isnull=False).order_by("sequence")[
            :DELIVERED_PER_ROUTE
        ]:
            if stop.departs_at >= local(today, 10):
                break
            for status, at in (
                (OrderStatus.EN_ROUTE, stop.arrives_at - dt.timedelta(minutes=5)),
                (OrderStatus.ARRIVED, stop.arrives_at),
                (OrderStatus.DELIVERED, stop.departs_at),
            ):
                CLOCK.at = max(at, local(today, 6, 31))
                order_transition(order=stop.order, to=status, actor="bench")
    CLOCK.at = local(today, 10)
    return Plan.objects.get(pk=plan.pk), solve_s


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run(size: int, today: dt.date) -> dict:
    rng = random.Random(f"{SEED}:{size}")
    plan, first_solve_s = running_day(size, today, rng)
    stops = PlanStop.objects.filter(route__plan=plan, order__isnull=False).count()
    routes = plan.routes.filter(stops__isnull=False).distinct().count()
    latencies, outcomes = [], []
    for i in range(NEW):
        CLOCK.at = local(today, 10, 0) + dt.timedelta(seconds=20 * i)
        order = order_of(rng, f"new{size}-{i}", today)
        order.save()
        began = time.perf_counter()
        if PROFILE is not None:
            PROFILE.enable()
        outcomes.append(order_auto_dispatch(order_id=order.pk))
        if PROFILE is not None:
            PROFILE.disable()
        latencies.append(time.perf_counter() - began)
    CLOCK.at += dt.timedelta(minutes=1)
    began = time.perf_counter()
    plan_resolve(plan=plan, allow_reassign=False)
    if plan_solve(plan.pk, allow_reassign=False) != Plan.Status.DONE:
        raise RuntimeError(Plan.objects.get(pk=plan.pk).error)
    resolve_s = time.perf_counter() - began
    return {
        "orders": size,
        "routes": routes,
        "stops": stops,
        "new": NEW,
        "placed": outcomes.count(Outcome.PLACED),
        "pooled": outcomes.count(Outcome.POOLED),
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "max": max(latencies),
        "first_solve_s": first_solve_s,
        "resolve_s": resolve_s,
    }


def main() -> None:
    logging.getLogger("django-q").setLevel(logging.WARNING)
    timezone.now = CLOCK  # every reader of the clock goes through the module attribute
    CLOCK.at = dt.datetime.now(dt.UTC)
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    tenant = None
    results = []
    try:
        version = connection.pg_version
        machine = (
            f"{cpu_model()}, {os.cpu_count()} cores, PostgreSQL {version // 10000}.{version % 100}"
        )
        tenant_services.public_tenant_ensure()
        tenant_services.template_schema_ensure()
        tenant = tenant_services.tenant_provision(
            name="Bench auto-dispatch",
            slug=f"bench-auto-{secrets.token_hex(3)}",
            owner_email="owner@bench.test",
            owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
            country="GB",
            time_zone=ZONE.key,
            create_api_key=False,
        ).tenant
        Tenant.objects.filter(pk=tenant.pk).update(auto_dispatch=True)
        today = dt.datetime.now(ZONE).date()
        with schema_context(tenant.schema_name):
            TRAVEL.append(travel_source().label)  # what the plans said they used
            for k, size in enumerate(SIZES):
                result = run(size, today + dt.timedelta(days=k))
                results.append(result)
                print(result, flush=True)
    finally:
        connection.set_schema_to_public()
        if tenant is not None:
            tenant.delete(force_drop=True)
        teardown_databases(db_cfg, verbosity=0)
    provider = f"{TRAVEL[0]} ({settings.ROUTING_MATRIX_PROVIDER} provider)" if TRAVEL else "?"
    lines = [
        f"Command: `make bench-planning` (second command: `python bench/auto_dispatch.py`) "
        f"— run on {time.strftime('%Y-%m-%d')}, {machine}; travel times: {provider}.",
        "",
        "| orders | routes | stops on routes | new orders | placed | pooled "
        "| **p50 ms** | **p95 ms** | max ms | first solve s | full re-solve s (peer) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['orders']:,} | {r['routes']} | {r['stops']:,} | {r['new']} | {r['placed']} "
            f"| {r['pooled']} | **{r['p50'] * 1000:.0f}** | **{r['p95'] * 1000:.0f}** "
            f"| {r['max'] * 1000:.0f} | {r['first_solve_s']:.1f} | {r['resolve_s']:.1f} |"
            for r in results
        ),
        "",
        f"- The day: {ROUTES} vans and drivers (07:00-20:00; each van limited to its share of "
        "stops for the plan, so that all 20 drive, and unlimited afterwards), orders seeded "
        "within about 13 x 14 km of a depot in central London, a third with a 3-hour "
        f"window; planned with a {BUDGET_S:g} s budget and published at 06:30; at 10:00 "
        f"every driver has delivered up to {DELIVERED_PER_ROUTE} stops. New orders (the "
        "same mix) arrive one at a time, 20 s apart on the fixed clock.",
        "- Latency: `order_auto_dispatch(order_id)` called directly in the tenant's schema, "
        "from the call to its commit (plan lock, every position of every unlocked route "
        "timed, the stop stored, the order dispatched, the route's new version). The "
        "queue's latency (the worker picking the job up) is not included.",
        "- Peer: the same day's full re-solve of the rest of the day after the insertions "
        f"(`plan_resolve` + `plan_solve`, stops kept with their drivers, {BUDGET_S:g} s budget).",
    ]
    if PROFILE is not None:
        import pstats

        pstats.Stats(PROFILE).sort_stats("cumulative").print_stats(40)
    print("\nAuto-dispatch insertion into a running day\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
