"""PostgreSQL restarted while a store imports orders through the API: while it is down
the API answers a clear, retryable error (503, JSON, Retry-After), never an HTML page; the
store retries each order with its Idempotency-Key; afterwards every order is there exactly
once. Runs its own embedded PostgreSQL (pgserver) so that restarting it disturbs nothing
else."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import tenant_today
from tests.e2e.conftest import running_web

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 40
COUNT_ORDERS = (
    "import json; from django_tenants.utils import schema_context; "
    "from dispatch.models import Order\n"
    "with schema_context('fault'):\n"
    "    print(json.dumps(list(Order.objects.values_list('external_id', flat=True))))"
)


def _manage(database_url: str, *args: str, **env) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **env,
        },
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _post(base: str, host: str, key: str, k: int) -> tuple[int, dict, dict]:
    body = json.dumps(
        {
            "customer_name": f"Restart {k}",
            "external_id": f"PG-{k}",
            "address_line1": "1 High St",
            "lat": 51.5,
            "lng": -0.1,
            "delivery_date": str(tenant_today(1)),
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/orders",
        data=body,
        method="POST",
        headers={
            "Host": host,
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"import-{k}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = {"not_json": text[:200].decode(errors="replace")}
        return error.code, error.headers, payload
    except OSError as error:  # the server itself is not reachable: not the case here
        return 0, {}, {"error": str(error)}


def test_orders_imported_across_a_postgres_restart_arrive_exactly_once(tmp_path):
    pgserver = pytest.importorskip("pgserver")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs at exit, after pytest
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE fault;")
        url = server.get_uri("fault")
        _manage(url, "migrate_platform")
        out = _manage(
            url,
            "provision_tenant",
            "fault",
            "--name",
            "Fault Co",
            "--owner-email",
            "o@fault.test",
            "--country",
            "GB",
            OWNER_PASSWORD="a-long-password-1",
        )
        key = re.search(r"API key: (\S+)", out).group(1)
        # a request waits DB_POOL_TIMEOUT_S for a connection: a short outage is only slow;
        # this one outlasts it, so the store sees the errors
        with running_web(DATABASE_URL=url, DB_POOL_TIMEOUT_S="2") as base_url:
            port = base_url.rsplit(":", 1)[1]
            base, host = f"http://127.0.0.1:{port}", f"fault.localhost:{port}"
            answers: list[tuple[int, int, dict, dict]] = []

            def store() -> None:  # the store's importer: each order until it is accepted
                for k in range(ORDERS):
                    deadline = time.monotonic() + 30
                    while True:
                        status, headers, payload = _post(base, host, key, k)
                        answers.append((k, status, headers, payload))
                        if status in (200, 201) or time.monotonic() > deadline:
                            break
                        time.sleep(0.2)
                    time.sleep(0.05)

            importer = threading.Thread(target=store, daemon=True)
            importer.start()
            started = time.monotonic()
            while len(answers) < ORDERS // 3 and time.monotonic() - started < 60:
                time.sleep(0.05)
            assert answers and answers[-1][1] in (200, 201), answers[-1:]  # working before
            pgserver.pg_ctl(  # a loaded machine's shutdown checkpoint can outlast pg_ctl's 60 s
                ["-w", "-t", "180", "-m", "fast", "stop"],
                pgdata=server.pgdata,
                user=server.system_user,
                timeout=200,
            )
            time.sleep(6)  # down for longer than a request waits
            socket_dir = parse_qs(urlsplit(url).query)["host"][0]  # where it listened
            pgserver.pg_ctl(
                ["-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(server.log), "start"],
                pgdata=server.pgdata,
                user=server.system_user,
                timeout=60,
            )
            importer.join(timeout=120)
        errors = [
            (status, headers, payload)
            for _, status, headers, payload in answers
            if status not in (200, 201)
        ]
        created = {k for k, status, _, _ in answers if status in (200, 201)}
        stored = json.loads(_manage(url, "shell", "-c", COUNT_ORDERS).strip().splitlines()[-1])
    finally:
        # the server started again above is not the process pgserver remembers, so its
        # cleanup would leave it running: stop it here first (nothing to do if it is down)
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pgserver.pg_ctl(
                ["-w", "-t", "180", "-m", "fast", "stop"],
                pgdata=server.pgdata,
                user=server.system_user,
                timeout=200,
            )
        server.cleanup()
    assert created == set(range(ORDERS)), f"orders not accepted: {set(range(ORDERS)) - created}"
    assert sorted(stored) == sorted(f"PG-{k}" for k in range(ORDERS)), "lost or duplicated"
    assert errors, "the restart was not noticed: nothing was tested"
    for status, headers, payload in errors:
        assert status == 503, (status, payload)
        assert payload.get("code") == "database_unavailable" and headers.get("Retry-After")
