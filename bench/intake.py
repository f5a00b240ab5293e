"""Order intake through a real HTTP server: bulk import throughput and single-create latency,
and the guard CI runs against the next silent regression.

Starts the web process as production does (`bin/dispatch web`: uvicorn) on loopback against
a scratch database, provisions a tenant, then:

- `make bench-intake`: sends 10,000 orders as bulk requests of 1,000 (three rounds) and
  500 single creates, and prints medians. Compare: the same orders sent one request each
  (the naive integration), measured in the same run. Writes its table into
  docs/benchmarks.md (default sizes only).
- `make bench-intake-guard` (CI): the same bulk path for 2,000 orders, against a baseline
  measured in the same run on the same machine: the same rows' JSON encoded, decoded and
  COPYed raw into a table of the same column types (no validation, no ORM, no HTTP). The
  ratio of the best rounds, intake/raw, is compared with the ratio recorded in
  bench/intake_guard.json: below half of it, the guard fails. A slower or busier machine
  slows both, so the ratio holds where an absolute time would not.
  `make bench-intake-guard RECORD=1` measures and records the ratio (and its table).

BENCH_PROFILE=/path.svg (or .txt for py-spy's raw stacks, .json for speedscope) records
the web process under py-spy while it runs.

Usage: make bench-intake   (BENCH_ROUNDS=3, BENCH_ORDERS=10000, BENCH_SINGLES=500)
       make bench-intake-guard   (BENCH_GUARD_ORDERS=2000, BENCH_GUARD_ROUNDS=7)
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_intake")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.docs import git_head, machine, write_section  # noqa: E402
from bench.web import free_port, spy_on, start_web, stop_web  # noqa: E402
from config.database import url_of  # noqa: E402
from tenants.services import provisioning as services  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "10000"))
SINGLES = int(os.environ.get("BENCH_SINGLES", "500"))
GUARD_ORDERS = int(os.environ.get("BENCH_GUARD_ORDERS", "2000"))
GUARD_ROUNDS = int(os.environ.get("BENCH_GUARD_ROUNDS", "7"))
BATCH = 1000
GUARD_FILE = ROOT / "bench" / "intake_guard.json"
DEFAULTS = ROUNDS == 3 and ORDERS == 10_000 and SINGLES == 500
LOAD_BEFORE = os.getloadavg()[0]  # the machine's 1-minute load as the run starts


def order(run: str, number: int) -> dict:
    """One order as a store would send it, for a date a week ahead (any day is taken)."""
    return {
        "external_id": f"{run}-{number}",
        "customer_name": f"Customer {number}",
        "customer_phone": f"020 7946 {number % 1000:04d}",
        "customer_email": f"c{number}@example.com",
        "address_line1": f"{number % 300 + 1} High Street",
        "city": "London",
        "postcode": "SE1 9SG",
        "lat": 51.45 + (number % 1000) / 10000,
        "lng": -0.2 + (number % 777) / 5000,
        "delivery_date": str(timezone.localdate() + timezone.timedelta(days=7)),
        "time_windows": [{"start": "09:00", "end": "12:00"}],
        "weight_kg": 2.5,
        "items": 2,
    }


class Client:
    def __init__(self, port: int, host: str, key: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {
            "Host": host,
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
        }

    def post(self, path: str, body: object) -> tuple[int, dict]:
        self.conn.request("POST", path, json.dumps(body), self.headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def bulk(self, orders: list[dict]) -> float:
        """Send `orders` as bulk requests of BATCH; the orders a second it took."""
        started = time.perf_counter()
        created = 0
        for first in range(0, len(orders), BATCH):
            status, body = self.post("/api/v1/orders/bulk", {"orders": orders[first:][:BATCH]})
            assert status == 200, body
            created += body["created"]
        elapsed = time.perf_counter() - started
        assert created == len(orders), f"created {created} of {len(orders)}"
        return len(orders) / elapsed


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.contextmanager
def serving() -> Iterator[Client]:
    """A scratch database with one tenant, and the web process serving it on loopback (under
    py-spy with BENCH_PROFILE); the client holds the tenant's API key. All dropped after."""
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    server, spy, profile = None, None, os.environ.get("BENCH_PROFILE", "")
    try:
        services.public_tenant_ensure()
        services.template_schema_ensure()
        result = services.tenant_provision(
            name="Bench",
            slug="bench",
            owner_email="owner@bench.test",
            owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
            country="GB",
        )
        connection.close()
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": url_of(connection.settings_dict),
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),  # DEBUG=0 refuses short keys
            "PUBLIC_BASE_URL": f"http://localhost:{port}",  # required with DEBUG=0
            "SECURE_SSL_REDIRECT": "0",
            "LOG_LEVEL": "WARNING",
            "API_KEY_RATE": "1000000/min",
        }
        server = start_web(port, env)
        if profile:
            spy = spy_on(server.pid, Path(profile))
        client = Client(port, f"{result.domain.domain}:{port}", result.api_key_secret)
        status, body = client.post("/api/v1/orders", order("warmup", 0))
        assert status == 201, body
        yield client
    finally:
        if spy is not None:  # Ctrl-C: py-spy writes its record
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=120)
        if server is not None:
            stop_web(server)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(db_cfg, verbosity=0)


def bench() -> None:
    with serving() as client:
        bulk_rates, single_ms = [], []
        for run in range(ROUNDS):
            bulk_rates.append(client.bulk([order(f"bulk{run}", n) for n in range(ORDERS)]))
        for number in range(SINGLES):
            started = time.perf_counter()
            status, body = client.post("/api/v1/orders", order("single", number))
            single_ms.append((time.perf_counter() - started) * 1000)
            assert status == 201, body

    single_rate = 1000 / statistics.median(single_ms)
    bulk = statistics.median(bulk_rates)
    label = f"bulk, {ORDERS:,} orders as requests of {BATCH:,}"
    lines = [
        f"Command: `make bench-intake` — run on {time.strftime('%Y-%m-%d')} at commit "
        f"{git_head()}, {machine()}; load average before the run {LOAD_BEFORE:.2f}.",
        "",
        "| how orders arrive                          | orders/s (median) | goal     |",
        "|--------------------------------------------|-------------------|----------|",
        f"| {label:<42} | {bulk:>17,.0f} | >= 3,000 |",
        f"| one request per order (naive integration)  | {single_rate:>17,.0f} |          |",
        "",
        f"Bulk rounds: {', '.join(f'{r:,.0f}' for r in bulk_rates)} orders/s. "
        f"Single create latency over {SINGLES} requests: p50 {percentile(single_ms, 0.5):.1f} ms, "
        f"p95 {percentile(single_ms, 0.95):.1f} ms, p99 {percentile(single_ms, 0.99):.1f} ms "
        "(goal: p99 under 25 ms).",
    ]
    print(f"\nOrder intake through the web process (uvicorn) on loopback ({ROUNDS} rounds)\n")
    print("\n".join(lines))
    if DEFAULTS and not os.environ.get("BENCH_PROFILE"):
        write_section("intake", lines, intro="## Order intake\n\n")


RAW_COLUMNS = (
    "external_id text, customer_name text, customer_phone text, customer_email text, "
    "address_line1 text, city text, postcode text, lat double precision, "
    "lng double precision, delivery_date date, time_windows jsonb, weight_kg numeric, "
    "items integer"
)


def raw_rate(orders: list[dict]) -> float:
    """The yardstick: the same rows' JSON encoded and decoded, then COPYed as they are into
    a table of the same column types: what intake cannot do without. Orders a second,
    repeated until half a second has passed (one pass is a few milliseconds)."""
    names = [name.split()[0] for name in RAW_COLUMNS.split(", ")]
    done, started = 0, time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS guard_raw ({RAW_COLUMNS})")
        while done == 0 or time.perf_counter() - started < 0.5:
            rows = json.loads(json.dumps({"orders": orders}))["orders"]
            with cursor.cursor.copy(f"COPY guard_raw ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(
                        [json.dumps(row[n]) if n == "time_windows" else row[n] for n in names]
                    )
            cursor.execute("TRUNCATE guard_raw")
            done += len(rows)
    return done / (time.perf_counter() - started)


def guard() -> int:
    record = os.environ.get("RECORD") == "1"
    intake, raw = [], []
    with serving() as client:
        for run in range(GUARD_ROUNDS):  # interleaved, so that a busy moment slows both
            orders = [order(f"guard{run}", n) for n in range(GUARD_ORDERS)]
            raw.append(raw_rate(orders))
            intake.append(client.bulk(orders))
    # the best round of each: other work on the machine only ever slows a round, so the
    # best is the steadiest estimate of what each costs here
    ratio = max(intake) / max(raw)
    recorded = json.loads(GUARD_FILE.read_text()) if GUARD_FILE.exists() else None
    print(
        f"\nIntake guard: {GUARD_ORDERS:,} orders as bulk requests of {BATCH:,}, "
        f"{GUARD_ROUNDS} rounds, against raw COPY of the same rows in the same run\n"
    )
    print("| round | intake orders/s | raw COPY rows/s | intake / raw |")
    print("|-------|-----------------|-----------------|--------------|")
    for n, (i, r) in enumerate(zip(intake, raw, strict=True), 1):
        print(f"| {n:>5} | {i:>15,.0f} | {r:>15,.0f} | {i / r:>12.4f} |")
    print(f"\nbest intake / best raw: {ratio:.4f}", end="")
    if record:
        GUARD_FILE.write_text(
            json.dumps(
                {
                    "ratio": round(ratio, 5),
                    "intake_per_s": round(max(intake)),
                    "raw_per_s": round(max(raw)),
                    "commit": git_head(),
                    "machine": machine(),
                    "date": time.strftime("%Y-%m-%d"),
                },
                indent=2,
            )
            + "\n"
        )
        print(f"; recorded in {GUARD_FILE.relative_to(ROOT)}")
        return 0
    if recorded is None:
        print(f"; nothing recorded yet ({GUARD_FILE.relative_to(ROOT)}): RECORD=1 records it")
        return 1
    floor = recorded["ratio"] / 2
    print(
        f"; recorded {recorded['ratio']:.4f} at {recorded['commit']} on {recorded['date']} "
        f"({recorded['intake_per_s']:,} orders/s then); the guard fails below {floor:.4f}"
    )
    if ratio < floor:
        print(
            f"FAILED: bulk intake fell to {ratio / recorded['ratio']:.0%} of its recorded "
            "speed against the same machine's raw COPY. Profile it: "
            "BENCH_PROFILE=/tmp/intake.svg make bench-intake"
        )
        return 1
    print(f"passed: {ratio / recorded['ratio']:.0%} of the recorded ratio")
    return 0


if __name__ == "__main__":
    sys.exit(guard() if "--guard" in sys.argv else bench())
