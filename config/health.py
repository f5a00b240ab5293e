"""`/healthz` (the process answers), `/readyz` (database reachable, migrations applied)
and `/metrics` (Prometheus, to a scraper holding METRICS_TOKEN; see core/metrics.py).

Answered before tenant resolution, on any host, so load balancers and the container's
health check can call them by IP address.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_tenants.utils import schema_exists

from core import metrics
from core.health import database_state
from tenants.services.provisioning import schema_is_current

_migrations_ok = False


def readiness() -> tuple[bool, dict[str, str]]:
    global _migrations_ok
    checks = {"database": database_state()}
    if checks["database"] != "ok":
        return False, checks
    if not _migrations_ok:
        # Once applied, migrations stay applied for this process's code; check once.
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        template = settings.TENANT_BASE_SCHEMA
        _migrations_ok = not plan and schema_exists(template) and schema_is_current(template)
    checks["migrations"] = "ok" if _migrations_ok else "pending"
    if settings.REDIS_URL:
        # Reported, not required: without Redis the web process still takes orders and
        # stores GPS fixes (live fan-out waits), so taking it out of the load balancer
        # would only turn a degraded service into no service.
        checks["redis"] = _redis_state()
    return _migrations_ok, checks


def _redis_state() -> str:
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


class HealthCheckMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            started = time.perf_counter()
            ready, checks = readiness()
            checks["elapsed_ms"] = f"{(time.perf_counter() - started) * 1000:.1f}"
            return JsonResponse(
                {"status": "ready" if ready else "not ready", "checks": checks},
                status=200 if ready else 503,
            )
        if request.path == "/metrics":
            if not metrics.bearer_allowed(
                request.headers.get("Authorization", ""), settings.METRICS_TOKEN
            ):
                return JsonResponse({"detail": "Not found."}, status=404)
            return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE_LATEST)
        return self.get_response(request)
