"""Redis away, in this process: the cache and the channel layer configured as config/settings.py
configures them with REDIS_URL, pointed at a port nothing listens on, and the job broker
refusing jobs as django-q2's Redis broker does. Requests still answer 2xx, their changes are
stored, rate limits let calls through, and jobs queued after the commit are kept for later.
(tests/e2e/test_redis_outage.py does the same with real servers, a real Redis and a worker.)"""

from __future__ import annotations

import ast
import importlib.util
import json
from types import ModuleType

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django_q.models import Schedule
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import tenants.tasks
from dispatch.models import Order
from notifications.models import Notification
from tests.conftest import (
    api_client,
    free_port,
    host_client,
    login_client,
    metric_sample,
    tenant_today,
)
from tracking.services.day import tracking_link_for

ORDER = {
    "customer_name": "Grace Hopper",
    "customer_phone": "020 7946 0958",
    "address_line1": "1 Main Street",
    "city": "London",
    "postcode": "SW1A 1AA",
}


def settings_with_redis(url: str) -> ModuleType:
    """config/settings.py as a process with REDIS_URL=`url` reads it."""
    import os

    path = django_settings.BASE_DIR / "config" / "settings.py"
    spec = importlib.util.spec_from_file_location("settings_with_redis", path)
    module = importlib.util.module_from_spec(spec)
    before = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = url
    try:
        spec.loader.exec_module(module)
    finally:
        if before is None:
            del os.environ["REDIS_URL"]
        else:
            os.environ["REDIS_URL"] = before
    return module


def _broker_down(*args, **kwargs):
    raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1. Connection refused.")


@pytest.fixture
def redis_down(settings, monkeypatch) -> str:
    """This process set up as with REDIS_URL, with nothing listening there."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    configured = settings_with_redis(url)
    settings.CACHES = configured.CACHES  # Django drops its cache connections on the change
    settings.CHANNEL_LAYERS = configured.CHANNEL_LAYERS  # and channels its layers
    monkeypatch.setattr(tenants.tasks, "async_task", _broker_down)
    return url


def _deferred(schema: str) -> list[Schedule]:
    return list(Schedule.objects.filter(name__startswith=f"{schema}:", name__contains="deferred"))


def test_keyed_api_calls_answer_and_their_jobs_are_kept_while_redis_is_down(
    alpha, beta, redis_down, django_capture_on_commit_callbacks
):
    errors_before = metric_sample("dispatch_cache_errors_total", {"operation": "get"})
    client = api_client(alpha.host, alpha.api_key)
    body = {**ORDER, "delivery_date": str(tenant_today(1))}
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/orders", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    order_id = created.json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        patched = client.patch(
            f"/api/v1/orders/{order_id}",
            json.dumps({"customer_name": "Grace B. Hopper"}),
            content_type="application/json",
        )
    assert patched.status_code == 200, patched.content
    assert client.get(f"/api/v1/orders/{order_id}").status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(pk=order_id).customer_name == "Grace B. Hopper"
    # the throttle failed open, and said so
    assert metric_sample("dispatch_cache_errors_total", {"operation": "get"}) > errors_before
    # the confirmation job is kept as a one-off schedule in alpha's name, due now
    (kept,) = [s for s in _deferred(alpha.tenant.schema_name) if "notify-confirmed" in s.name]
    assert kept.schedule_type == Schedule.ONCE and kept.func == "tenants.tasks.run_in_schema"
    assert not _deferred(beta.tenant.schema_name)
    # run as the scheduler will run it once Redis is back: in alpha's schema, not beta's
    args, kwargs = ast.literal_eval(kept.args), ast.literal_eval(kept.kwargs)
    assert kwargs.pop("q_options") == {"task_name": f"{alpha.tenant.schema_name}:notify-confirmed"}
    assert args[:3] == (alpha.tenant.schema_name, "notifications.tasks.notify_orders", [order_id])
    tenants.tasks.run_in_schema(*args, **kwargs)
    with schema_context(alpha.tenant.schema_name):
        assert Notification.objects.filter(order_id=order_id, event="confirmed").exists()
    with schema_context(beta.tenant.schema_name):
        assert not Notification.objects.filter(order_id=order_id).exists()


def test_a_job_neither_queued_nor_kept_costs_no_500(
    alpha, redis_down, monkeypatch, django_capture_on_commit_callbacks
):
    def database_away_too(*args, **kwargs):
        raise OSError("no database either")

    monkeypatch.setattr(tenants.tasks, "_defer", database_away_too)
    lost_before = metric_sample(
        "dispatch_jobs_deferred_total", {"job": "notifications.notify_orders", "outcome": "lost"}
    )
    body = {**ORDER, "delivery_date": str(tenant_today(1))}
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client(alpha.host, alpha.api_key).post(
            "/api/v1/orders", json.dumps(body), content_type="application/json"
        )
    assert created.status_code == 201, created.content
    lost = metric_sample(
        "dispatch_jobs_deferred_total", {"job": "notifications.notify_orders", "outcome": "lost"}
    )
    assert lost == lost_before + 1  # counted, for the sweeps (and an operator) to pick up


def test_the_tracking_page_answers_while_redis_is_down(alpha, redis_down):
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Tracked", delivery_date=tenant_today(1), lat=51.5, lng=-0.1
        )
        token = tracking_link_for(order)
    public = host_client("localhost")
    assert public.get(f"/t/{token}").status_code == 200
    assert public.get(f"/t/{'x' * 43}").status_code == 404  # a guess, counted nowhere
    assert public.get(f"/t/{token}/path").status_code == 200


def test_a_dispatcher_action_that_broadcasts_answers_while_redis_is_down(
    alpha, redis_down, django_capture_on_commit_callbacks
):
    failed_before = metric_sample("dispatch_broadcasts_failed_total")
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(customer_name="Cancel me", delivery_date=tenant_today(1))
    client = login_client(alpha.host, alpha.dispatcher_email)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/orders/{order.pk}/cancel/", {"reason": "customer called"})
    assert response.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert metric_sample("dispatch_broadcasts_failed_total") == failed_before + 1


OPERATIONS = st.sampled_from(
    ["get", "set", "add", "incr", "decr", "delete", "touch", "has_key", "get_many", "set_many"]
)
KEYS = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
VALUES = st.one_of(st.integers(), st.text(max_size=20), st.lists(st.floats(allow_nan=False)))


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(st.tuples(OPERATIONS, KEYS, VALUES), min_size=1, max_size=4))
def test_any_cache_call_answers_as_a_miss_while_redis_is_down(redis_down, calls):
    cache = caches["default"]
    for operation, key, value in calls:
        if operation == "get":
            assert cache.get(key, "default") == "default"
        elif operation == "set":
            cache.set(key, value, 60)
        elif operation == "add":
            assert cache.add(key, value, 60) is True  # "stored": a counter starts from it
        elif operation in ("incr", "decr"):
            assert getattr(cache, operation)(key) == (1 if operation == "incr" else -1)
        elif operation == "get_many":
            assert cache.get_many([key]) == {}
        elif operation == "set_many":
            cache.set_many({key: value}, 60)
        else:
            assert getattr(cache, operation)(key) is False


def test_a_redis_that_takes_connections_and_never_answers_costs_a_miss_not_a_hang(settings):
    """Not a refused connection but a silent one (a Redis stuck, a firewall dropping
    replies): a call gives up after the configured socket timeout and answers as a miss,
    and the calls after it do not try Redis again for a while."""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept_and_stay_silent() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed at the end of the test
                return
            accepted.append(connection)

    threading.Thread(target=accept_and_stay_silent, daemon=True).start()
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    settings.CACHES = settings_with_redis(url).CACHES
    options = settings.CACHES["default"]["OPTIONS"]
    assert 0 < options["socket_connect_timeout"] <= 1 and 0 < options["socket_timeout"] <= 2
    answers: list = []

    def calls() -> None:
        answers.append(caches["default"].get("a-key", "missed"))
        answers.append(caches["default"].get("another-key", "missed too"))

    caller = threading.Thread(target=calls, daemon=True)
    try:
        caller.start()
        caller.join(timeout=60)  # a safety net: without a socket timeout the call never ends
        assert not caller.is_alive(), "a call to a silent Redis never returned"
        assert answers == ["missed", "missed too"]
        assert len(accepted) == 1, "the second call tried Redis again at once"
    finally:
        listener.close()
        for connection in accepted:
            connection.close()
