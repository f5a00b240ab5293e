"""The schema every statement really runs in, as PostgreSQL has it (`current_schemas`), on
a running web process with the connection pool on as in production (config/asgi.py sets
DB_POOL; two connections here, so the two tenants' requests, jobs and sockets share
PostgreSQL sessions): requests, the jobs they run, and websocket consumers of two tenants,
interleaved, each see only their own schema (and public). A server that forgot to set the
search_path is caught by the same check."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.conftest import LiveTenant, live_tenant, running_web
from tests.e2e.ws import receive, run, socket

PROBE = {"DJANGO_SETTINGS_MODULE": "tests.e2e.search_path_settings", "DB_POOL_MAX_SIZE": "2"}


@contextmanager
def probed_server(log: Path, **env: str) -> Iterator[str]:
    with running_web(**PROBE, SEARCH_PATH_LOG=str(log), **env) as url:
        yield url


def statements(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def in_the_wrong_schema(lines: list[dict]) -> list[dict]:
    """Statements PostgreSQL ran with another schema first in the search_path than the one
    django-tenants meant, or with any schema other than that one and public."""
    return [
        line
        for line in lines
        if not line["actual"]
        or line["actual"][0] != line["expected"]
        or not set(line["actual"]) <= {line["expected"], "public"}
    ]


def _call(tenant: LiveTenant, path: str, *, key: str = "", body: dict | None = None) -> int:
    headers = {"Host": tenant.host}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    request = urllib.request.Request(
        f"http://127.0.0.1:{tenant.port}{path}", data=data, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _dispatcher_cookie(django_db_blocker, tenant: LiveTenant) -> str:
    from django.test import Client
    from django_tenants.utils import schema_context

    from accounts.models import User

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        client = Client(HTTP_HOST=tenant.host)
        client.force_login(User.objects.get(email=tenant.owner_email))
        return f"sessionid={client.cookies['sessionid'].value}"


def test_requests_jobs_and_sockets_of_two_tenants_run_in_their_own_schema_with_the_pool(
    django_db_setup, django_db_blocker, tmp_path
):
    log = tmp_path / "search_path.jsonl"
    with probed_server(log) as url:
        tenants = [live_tenant(django_db_blocker, url, prefix) for prefix in ("spa", "spb")]
        cookies = [_dispatcher_cookie(django_db_blocker, t) for t in tenants]
        keys = [t.provisioned.api_key_secret for t in tenants]
        order = {
            "customer_name": "Search Path",
            "lat": 51.5,
            "lng": -0.12,
            "delivery_date": str(dt.date.today() + dt.timedelta(days=1)),
            "customer_phone": "+447700900123",
        }
        for round_ in range(3):  # interleaved: the pool hands each tenant the other's sessions
            for tenant, key in zip(tenants, keys, strict=True):
                assert _call(tenant, "/api/v1/me", key=key) == 200
                assert _call(tenant, "/api/v1/orders", key=key) == 200
                body = {**order, "external_id": f"sp-{round_}-{secrets.token_hex(2)}"}
                assert _call(tenant, "/api/v1/orders", key=key, body=body) == 201

        async def sockets():
            for _ in range(2):
                for tenant, cookie in zip(tenants, cookies, strict=True):
                    async with socket(tenant.host, "/ws/dispatch/", cookie=cookie) as ws:
                        assert (await receive(ws))["type"] == "hello"

        run(sockets())
    lines = statements(log)
    schemas = {t.schema for t in tenants}
    mine = [line for line in lines if line["expected"] in schemas]
    ran = {(line["expected"], line["where"]) for line in mine}
    assert ran >= {(s, w) for s in schemas for w in ("request", "task", "consumer")}
    shared = {
        backend
        for backend in {line["backend"] for line in mine}
        if {line["expected"] for line in mine if line["backend"] == backend} == schemas
    }
    assert shared, "no PostgreSQL session served both tenants: the pool was not exercised"
    assert in_the_wrong_schema(lines) == []


def test_the_check_catches_a_server_that_does_not_set_the_search_path(
    django_db_setup, django_db_blocker, tmp_path
):
    log = tmp_path / "search_path.jsonl"
    with probed_server(log, SEARCH_PATH_PROBE_BREAK="1") as url:
        tenant = live_tenant(django_db_blocker, url, "spbroken")
        _call(tenant, "/api/v1/me", key=tenant.provisioned.api_key_secret)
    wrong = in_the_wrong_schema(statements(log))
    assert any(line["expected"] == tenant.schema for line in wrong)
