"""Repeats that arrive at the same time, through a real server: still one order each."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError

from django_tenants.utils import schema_context

from tests.conftest import tenant_today
from tests.e2e.conftest import live_tenant

ORDER = {
    "customer_name": "Concurrent Customer",
    "address_line1": "1 Race Street",
    "lat": 51.5,
    "lng": -0.12,
    "delivery_date": str(tenant_today(1)),
}


def _post(port: str, host: str, key: str, path: str, body: dict, headers=None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Host": host,
            "Content-Type": "application/json",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _ports(*urls: str) -> list[str]:
    return [url.rsplit(":", 1)[1] for url in urls]


def test_same_idempotency_key_sent_five_times_at_once_creates_one_order(
    live_server_url, second_live_server_url, django_db_blocker
):
    result = live_tenant(django_db_blocker, live_server_url, "race").provisioned
    ports = _ports(live_server_url, second_live_server_url)

    def send(n):
        port = ports[n % 2]
        host = f"{result.domain.domain}:{port}"
        return _post(
            port, host, result.api_key_secret, "/api/v1/orders", ORDER, {"Idempotency-Key": "once"}
        )

    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(send, range(5)))
    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    from dispatch.models import Order

    with django_db_blocker.unblock(), schema_context(result.tenant.schema_name):
        assert Order.objects.count() == 1


def test_overlapping_bulk_requests_at_once_create_each_external_id_once(
    live_server_url, second_live_server_url, django_db_blocker
):
    result = live_tenant(django_db_blocker, live_server_url, "race").provisioned
    ports = _ports(live_server_url, second_live_server_url)
    batch = [{**ORDER, "external_id": f"X-{n}"} for n in range(50)]

    def send(n):
        port = ports[n % 2]
        host = f"{result.domain.domain}:{port}"
        return _post(port, host, result.api_key_secret, "/api/v1/orders/bulk", {"orders": batch})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, range(4)))
    assert {status for status, _ in answers} == {200}
    assert sum(body["created"] for _, body in answers) == 50
    assert sum(body["exists"] for _, body in answers) == 150
    from dispatch.models import Order

    with django_db_blocker.unblock(), schema_context(result.tenant.schema_name):
        assert Order.objects.count() == 50
        assert Order.objects.values("external_id").distinct().count() == 50
