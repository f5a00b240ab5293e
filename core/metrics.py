"""Prometheus metrics of every process: web, worker and scheduler.

Each process can serve them on its own port (`METRICS_PORT`, with `/healthz` and
`/readyz` beside `/metrics`), which is how a worker, having no HTTP of its own, is scraped
and health-checked. The web process also answers `/metrics` on its public port to a
scraper that sends `Authorization: Bearer $METRICS_TOKEN` (404 when no token is set).

django-q2 forks its workers, so a worker's counters live in another process than the one
serving them: `bin/dispatch worker` sets `PROMETHEUS_MULTIPROC_DIR` to a fresh directory,
where prometheus_client's multiprocess mode keeps every process's values.

Labels never carry the tenant: five hundred tenants times every route would swamp
Prometheus. Per-tenant numbers are in the reports and the logs.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from core import health

log = logging.getLogger(__name__)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "dispatch_http_requests", "HTTP requests answered.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "dispatch_http_request_duration_seconds",
    "Time from the request reaching Django to its response.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBSOCKETS_OPEN = Gauge(
    "dispatch_websocket_connections",
    "Websocket connections open now, by kind (driver, dispatch, track).",
    ["kind"],
    multiprocess_mode="livesum",
)
WEBSOCKETS_ACCEPTED = Counter(
    "dispatch_websocket_connections_accepted", "Websocket connections accepted.", ["kind"]
)
GPS_FIXES = Counter("dispatch_gps_fixes_stored", "GPS fixes written to the database.")
OPTIMISER_SECONDS = Histogram(
    "dispatch_optimiser_seconds",
    "Route planning time by phase: matrix (travel times), solve, store.",
    ["phase"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
NOTIFICATIONS = Counter(
    "dispatch_notifications",
    "Customer messages by channel (sms, email) and outcome (sent, failed, skipped, "
    "undelivered: the carrier reported it lost after it was sent).",
    ["channel", "outcome"],
)
JOBS = Counter("dispatch_jobs", "Background jobs finished, by job and result.", ["job", "result"])
JOB_SECONDS = Histogram(
    "dispatch_job_duration_seconds",
    "Background job run time.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600),
)
SCHEDULER_RUNS = Counter(
    "dispatch_scheduler_runs", "Looks at the schedule for due jobs, by result.", ["result"]
)
CACHE_ERRORS = Counter(
    "dispatch_cache_errors",
    "Cache (Redis) calls that failed and were answered as a miss, by operation: rate limits "
    "and counters fail open while Redis is away.",
    ["operation"],
)
JOBS_DEFERRED = Counter(
    "dispatch_jobs_deferred",
    "Jobs the broker could not take after a commit, by job and what became of them: "
    "'scheduled' (kept as a one-off schedule, queued when the broker is back) or 'lost' "
    "(left to the sweeps).",
    ["job", "outcome"],
)
BROADCASTS_FAILED = Counter(
    "dispatch_broadcasts_failed",
    "Live updates to open pages not sent (the channel layer was away); pages catch up when "
    "they reconnect.",
)
SWEEP_RECOVERED = Counter(
    "dispatch_sweep_recovered",
    "Work found stranded and recovered by a sweep, by kind (notification re-queued, plan "
    "re-queued, plan failed).",
    ["kind"],
)


def http_request_observe(method: str, route: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "other"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


class QueueCollector(Collector):
    """Jobs waiting in django-q2's queue, asked of the broker (Redis or the database) at
    each scrape, so every process reports the same shared number."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from django.db import connection
        from django_q.brokers import get_broker

        depth = GaugeMetricFamily("dispatch_queue_depth", "Jobs waiting in the queue.")
        up = GaugeMetricFamily("dispatch_queue_up", "1 when the queue's broker answered.")
        try:
            depth.add_metric([], get_broker().queue_size())  # the same in every process: max()
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - a scrape reports, it does not fail
            log.warning("queue depth unavailable: %s", exc)
            up.add_metric([], 0)
        finally:
            if threading.current_thread() is not threading.main_thread():
                connection.close()  # the metrics server's threads keep no connection
        yield up
        if up.samples[0].value:
            yield depth


class _ThisProcess(Collector):
    def collect(self):
        return REGISTRY.collect()


_registry: CollectorRegistry | None = None


def registry() -> CollectorRegistry:
    """What a scrape reads: every process's values in multiprocess mode, else this
    process's, and the queue depth."""
    global _registry
    if _registry is None:
        built = CollectorRegistry(auto_describe=True)
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.MultiProcessCollector(built)
        else:
            built.register(_ThisProcess())
        built.register(QueueCollector())
        _registry = built
    return _registry


def exposition() -> bytes:
    return generate_latest(registry())


def bearer_allowed(authorization: str, token: str) -> bool:
    if not token or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), token.encode())


# -- the metrics port: /metrics, /healthz, /readyz ---------------------------------------


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


def _metrics_app(role: str, ready: Callable[[], tuple[bool, dict]]):
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/metrics":
            body = exposition()
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [body]
        if path in {"/healthz", "/readyz"}:
            ok, checks = (True, {}) if path == "/healthz" else ready()
            body = json.dumps({"status": "ok" if ok else "not ready", "role": role, **checks})
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body.encode()]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: /metrics, /healthz or /readyz\n"]

    return app


def serve_in_background(
    role: str, ready: Callable[[], tuple[bool, dict]] | None = None
) -> int | None:
    """Serve /metrics, /healthz and /readyz on METRICS_PORT (METRICS_ADDR, default all
    addresses) in a daemon thread; nothing when METRICS_PORT is unset. Returns the port."""
    port = os.environ.get("METRICS_PORT", "").strip()
    if not port:
        return None
    addr = os.environ.get("METRICS_ADDR", "0.0.0.0")  # noqa: S104 - a private port, by design
    server = make_server(
        addr,
        int(port),
        _metrics_app(role, ready or health.database_and_queue_ready),
        server_class=_Server,
        handler_class=_Quiet,
    )
    # processes forked from this one (django-q2's workers, the optimiser's race) must not
    # keep the listening socket: only this process answers on the port
    os.register_at_fork(after_in_child=server.socket.close)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics on http://%s:%s/metrics", addr, server.server_port)
    return server.server_port
