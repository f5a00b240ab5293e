"""Request ids, structured logs, Prometheus metrics and the process commands' health."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from contextlib import contextmanager
from urllib.error import HTTPError

from django.core.management import call_command

from core import metrics
from core.observability import ContextFilter, TextFormatter, json_formatter
from tests import jobs
from tests.conftest import host_client, metric_sample


@contextmanager
def json_lines(logger_name: str):
    """Records of `logger_name` as the production handler writes them (filter + JSON)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


def test_every_response_carries_a_request_id_and_a_sane_one_is_kept(alpha):
    client = host_client(alpha.host)
    made = client.get("/login/")["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/login/")["X-Request-ID"]
    assert client.get("/login/", HTTP_X_REQUEST_ID="lb-1234.abc")["X-Request-ID"] == "lb-1234.abc"
    hostile = client.get("/login/", HTTP_X_REQUEST_ID='x"\n{"level":"fake"}')["X-Request-ID"]
    assert len(hostile) == 32 and "fake" not in hostile  # not echoed into logs and headers


def test_the_access_log_is_json_with_tenant_request_id_route_and_status(alpha):
    client = host_client(alpha.host)
    with json_lines("dispatch.access") as lines, json_lines("django.request") as django_lines:
        response = client.get("/api/v1/orders/999999", HTTP_AUTHORIZATION=f"Bearer {alpha.api_key}")
    assert response.status_code == 404
    # Django's own warning comes after the middleware is done: it is tied to the request too
    [warning] = django_lines
    assert warning["message"] == "Not Found: /api/v1/orders/999999"
    assert warning["request_id"] == response["X-Request-ID"]
    assert warning["tenant"] == alpha.tenant.schema_name
    [line] = lines
    assert line["level"] == "INFO" and line["logger"] == "dispatch.access"
    assert line["tenant"] == alpha.tenant.schema_name
    assert line["request_id"] == response["X-Request-ID"]
    assert line["route"] == "/api/v1/orders/<int:order_id>"  # the pattern: ids stay out
    assert line["status"] == 404 and line["method"] == "GET"
    assert isinstance(line["duration_ms"], float)
    assert line["message"] == "GET /api/v1/orders/999999 404"


def test_probes_log_at_debug_only_and_name_no_tenant(alpha):
    from django.db import connection

    connection.set_tenant(alpha.tenant)  # the thread's connection, left by an earlier request
    with json_lines("dispatch.access") as lines:
        host_client("127.0.0.1").get("/healthz")
    connection.set_schema_to_public()
    assert [line["level"] for line in lines] == ["DEBUG"]
    assert lines[0]["tenant"] is None  # not the schema the connection happened to be in


def test_tracking_tokens_stay_out_of_the_access_log(alpha):
    with json_lines("dispatch.access") as lines:
        host_client("localhost").get("/t/secret-token-123")
    [line] = lines
    assert "secret-token-123" not in json.dumps(line)
    assert line["path"] == line["route"] == "/t/<str:token>"


def test_a_job_logs_with_its_tenant_its_name_and_the_request_that_queued_it(alpha, beta):
    from core.observability import log_context
    from tenants.tasks import enqueue_for_tenant, run_in_schema

    with json_lines("tests.jobs") as lines:
        run_in_schema(
            alpha.tenant.schema_name, "tests.jobs.log_a_line", "hello", _request_id="req-42"
        )
    [line] = lines
    assert line["tenant"] == alpha.tenant.schema_name
    assert line["request_id"] == "req-42" and line["task"] == "tests.log_a_line"

    queued: list = []
    import tenants.tasks

    original = tenants.tasks.async_task
    tenants.tasks.async_task = lambda *args, **kwargs: queued.append(kwargs) or "id"
    try:
        with log_context(request_id="req-43"):
            enqueue_for_tenant(jobs.log_a_line, "x", schema_name=beta.tenant.schema_name)
        enqueue_for_tenant(jobs.log_a_line, "y", schema_name=beta.tenant.schema_name)
    finally:
        tenants.tasks.async_task = original
    assert queued[0]["_request_id"] == "req-43"
    assert "_request_id" not in queued[1]  # queued outside any request


def test_text_format_for_people_names_tenant_and_request():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    ContextFilter().filter(record)
    record.tenant, record.request_id = "alpha", "r1"
    assert TextFormatter().format(record).endswith("INFO x [alpha r1] hello")


def test_requests_are_counted_by_route_pattern_method_and_status(alpha):
    labels = {"method": "GET", "route": "/api/v1/orders/<int:order_id>", "status": "404"}
    before = metric_sample("dispatch_http_requests_total", labels)
    latency = {"method": "GET", "route": "/api/v1/orders/<int:order_id>"}
    timed = metric_sample("dispatch_http_request_duration_seconds_count", latency)
    host_client(alpha.host).get("/api/v1/orders/5", HTTP_AUTHORIZATION=f"Bearer {alpha.api_key}")
    host_client(alpha.host).get("/api/v1/orders/6", HTTP_AUTHORIZATION=f"Bearer {alpha.api_key}")
    assert metric_sample("dispatch_http_requests_total", labels) == before + 2
    assert metric_sample("dispatch_http_request_duration_seconds_count", latency) == timed + 2
    weird = {"method": "other", "route": "unmatched", "status": "404"}
    before = metric_sample("dispatch_http_requests_total", weird)
    host_client("unknown.example").generic("BREW", "/coffee")
    assert metric_sample("dispatch_http_requests_total", weird) == before + 1


def test_metrics_on_the_web_port_need_the_token_and_name_no_tenant(alpha, beta, settings):
    host_client(alpha.host).get("/login/")
    settings.METRICS_TOKEN = ""
    assert host_client("127.0.0.1").get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.METRICS_TOKEN = "scrape-secret-1"
    for host in ("127.0.0.1", alpha.host, beta.host):
        client = host_client(host)
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
        response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret-1")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        body = response.content.decode()
        assert "dispatch_http_requests_total{" in body
        assert "dispatch_queue_up 1.0" in body and "dispatch_queue_depth " in body
        for tenant in (alpha, beta):  # labels never carry a tenant
            assert tenant.tenant.schema_name not in body and tenant.host not in body


def test_readiness_reports_redis_without_depending_on_it(tenants, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = host_client("127.0.0.1").get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["redis"].startswith("unreachable")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_metrics_port_serves_metrics_health_and_readiness(tenants, metrics_port):
    def not_ready() -> tuple[bool, dict]:
        return False, {"database": "unreachable: OperationalError"}

    port = metrics.serve_in_background("worker")
    sad = metrics.serve_in_background("scheduler", ready=not_ready)
    status, body = _get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and "# HELP dispatch_jobs_total" in body
    assert "dispatch_queue_up 1.0" in body
    assert _get(f"http://127.0.0.1:{port}/healthz") == (200, '{"status": "ok", "role": "worker"}')
    status, body = _get(f"http://127.0.0.1:{port}/readyz")
    assert status == 200 and json.loads(body)["queue"] == "ok"
    assert json.loads(body)["database"] == "ok"
    status, body = _get(f"http://127.0.0.1:{sad}/readyz")
    assert status == 503 and json.loads(body)["status"] == "not ready"
    assert _get(f"http://127.0.0.1:{port}/admin/")[0] == 404


def test_no_metrics_port_no_server(monkeypatch):
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert metrics.serve_in_background("web") is None


def test_jobs_are_counted_under_their_own_name():
    import datetime as dt

    from tenants.tasks import job_finished

    labels = {"job": "notifications.deliver", "result": "failure"}
    before = metric_sample("dispatch_jobs_total", labels)
    took = metric_sample("dispatch_job_duration_seconds_sum", {"job": "notifications.deliver"})
    start = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    job = ("alpha", "notifications.services.sending.deliver", 7)
    job_finished(
        sender="django_q",
        task={
            "func": "tenants.tasks.run_in_schema",
            "args": job,
            "success": False,
            "started": start,
            "stopped": start + dt.timedelta(seconds=2),
        },
    )
    assert metric_sample("dispatch_jobs_total", labels) == before + 1
    assert metric_sample("dispatch_job_duration_seconds_sum", {"job": "notifications.deliver"}) == (
        took + 2
    )


def test_the_scheduler_queues_a_due_job_and_the_next_look_queues_nothing_more(tenants, monkeypatch):
    from django.utils import timezone
    from django_q.models import OrmQ, Schedule

    # the scheduler closes its connection between looks; here that is the test's transaction
    monkeypatch.setattr("django.db.close_old_connections", lambda: None)
    schedule = Schedule.objects.create(
        name="observability test",
        func="tests.jobs.where_am_i",
        args="'x'",
        schedule_type=Schedule.MINUTES,
        minutes=60,
        next_run=timezone.now(),
    )
    queued = OrmQ.objects.count()
    looks = metric_sample("dispatch_scheduler_runs_total", {"result": "success"})
    call_command("scheduler", "--once")
    call_command("scheduler", "--once")  # a second scheduler, or the next look
    assert OrmQ.objects.count() == queued + 1
    schedule.refresh_from_db()
    assert schedule.next_run > timezone.now() + timezone.timedelta(minutes=59)
    assert metric_sample("dispatch_scheduler_runs_total", {"result": "success"}) == looks + 2


def test_a_scheduler_that_cannot_queue_says_so(tenants, monkeypatch):
    """django-q2's scheduler logs its own failures and carries on: the command judges by
    what is left overdue, for the metric and for readiness."""
    from django.utils import timezone
    from django_q.models import Schedule

    monkeypatch.setattr("django.db.close_old_connections", lambda: None)

    def broker_down(*args, **kwargs):
        raise ConnectionError("the broker is away")

    monkeypatch.setattr("django_q.scheduler.async_task", broker_down)
    Schedule.objects.create(
        name="observability overdue",
        func="tests.jobs.where_am_i",
        args="'x'",
        schedule_type=Schedule.MINUTES,
        minutes=5,
        next_run=timezone.now() - timezone.timedelta(minutes=10),
    )
    failures = metric_sample("dispatch_scheduler_runs_total", {"result": "failure"})
    call_command("scheduler", "--once")
    assert metric_sample("dispatch_scheduler_runs_total", {"result": "failure"}) == failures + 1
