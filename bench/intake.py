"""Order intake through a real HTTP server: bulk import throughput and single-create latency.

Starts daphne (the product's server) on loopback against a scratch database, provisions a
tenant, then sends 10,000 orders as bulk requests of 1,000 and 500 single creates, and
prints medians over rounds. Compare: the same orders sent one request each (the naive
integration), measured in the same run.

Usage: make bench-intake   (BENCH_ROUNDS=3, BENCH_ORDERS=10000, BENCH_SINGLES=500)
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_intake")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from config.database import url_of  # noqa: E402
from tenants.services import provisioning as services  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "10000"))
SINGLES = int(os.environ.get("BENCH_SINGLES", "500"))
BATCH = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def order(run: str, number: int) -> dict:
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
        "delivery_date": "2026-12-01",
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


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    server, profile = None, ""
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
        profile = os.environ.get("BENCH_PROFILE", "")  # a path: py-spy records daphne there
        kind = {".svg": "flamegraph", ".txt": "raw"}.get(Path(profile).suffix, "speedscope")
        spy = [str(Path(sys.executable).with_name("py-spy")), "record", "-o", profile]
        spy = [*spy, "--format", kind, "--"] if profile else []
        server = subprocess.Popen(
            [
                *spy,
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "config.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=bool(profile),
        )
        host = f"{result.domain.domain}:{port}"
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        client = Client(port, host, result.api_key_secret)
        client.post("/api/v1/orders", order("warmup", 0))

        bulk_rates, single_ms = [], []
        for run in range(ROUNDS):
            started = time.perf_counter()
            created = 0
            for first in range(0, ORDERS, BATCH):
                batch = [order(f"bulk{run}", n) for n in range(first, min(first + BATCH, ORDERS))]
                status, body = client.post("/api/v1/orders/bulk", {"orders": batch})
                assert status == 200, body
                created += body["created"]
            elapsed = time.perf_counter() - started
            assert created == ORDERS, f"created {created} of {ORDERS}"
            bulk_rates.append(ORDERS / elapsed)
        for number in range(SINGLES):
            started = time.perf_counter()
            status, body = client.post("/api/v1/orders", order("single", number))
            single_ms.append((time.perf_counter() - started) * 1000)
            assert status == 201, body
    finally:
        if server and profile:  # Ctrl-C to both: daphne stops, py-spy writes its record
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=120)
        elif server:
            server.terminate()
            server.wait(timeout=10)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(db_cfg, verbosity=0)

    single_rate = 1000 / statistics.median(single_ms)
    print(f"\nOrder intake through daphne on loopback ({os.cpu_count()} cores; {ROUNDS} rounds)\n")
    print("| how orders arrive                          | orders/s (median) | goal     |")
    print("|--------------------------------------------|-------------------|----------|")
    bulk = statistics.median(bulk_rates)
    label = f"bulk, {ORDERS:,} orders as requests of {BATCH:,}"
    print(f"| {label:<42} | {bulk:>17,.0f} | >= 2,000 |")
    print(f"| one request per order (naive integration)  | {single_rate:>17,.0f} |          |")
    print(f"\nBulk rounds: {', '.join(f'{r:,.0f}' for r in bulk_rates)} orders/s")
    print(
        f"Single create latency over {SINGLES} requests: p50 {percentile(single_ms, 0.5):.1f} ms, "
        f"p95 {percentile(single_ms, 0.95):.1f} ms, p99 {percentile(single_ms, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
