"""Logs that say whose request or job they belong to.

Every log record carries `request_id` and `tenant` (the schema): the web process takes the
request id from the client's `X-Request-ID` (when it is a sane token) or makes one, answers
with it, and hands it to the jobs the request queues (`tenants.tasks`), so that one id
follows an API call into its planning job. `LOG_FORMAT=json` (the default with DEBUG off)
writes one JSON object per line for a log shipper; `text` is for people.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
tenant_var: ContextVar[str | None] = ContextVar("tenant", default=None)
task_var: ContextVar[str | None] = ContextVar("task", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
access_log = logging.getLogger("dispatch.access")
#: Probes answered many times a minute: logged at DEBUG, not INFO.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def request_id_new(offered: str | None = None) -> str:
    """The client's id when it is a plain token (a proxy's or a load balancer's), else a new one."""
    if offered and _SANE_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


@contextmanager
def log_context(
    *, tenant: str | None = None, request_id: str | None = None, task: str | None = None
) -> Iterator[None]:
    """Records logged inside carry these (a job, a command, a websocket consumer)."""
    tokens = [
        (var, var.set(value))
        for var, value in ((tenant_var, tenant), (request_id_var, request_id), (task_var, task))
        if value is not None
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def _current_schema() -> str | None:
    """The schema the connection of this thread is in: set by the tenant middleware for a
    request, by `schema_context` in jobs."""
    try:
        from django.db import connection

        schema = getattr(connection, "schema_name", None)
    except Exception:  # noqa: BLE001 - logging must never fail
        return None
    return schema


class ContextFilter(logging.Filter):
    """Puts `request_id`, `tenant` and `task` on every record (None where there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Django logs a request's 4xx/5xx after the middleware has finished, with the
        # request attached: its id and tenant come from there.
        request = getattr(record, "request", None)
        if not hasattr(record, "request_id"):
            record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        if not hasattr(record, "tenant"):
            tenant = getattr(getattr(request, "tenant", None), "schema_name", None)
            # Outside requests (jobs, commands) the connection's schema tells; inside one,
            # the connection may still be in the previous request's schema until the tenant
            # middleware has run, so only what this request set counts.
            in_request = request is not None or request_id_var.get() is not None
            record.tenant = (
                tenant or tenant_var.get() or (None if in_request else _current_schema())
            )
        if not hasattr(record, "task"):
            record.task = task_var.get()
        return True


def json_formatter() -> logging.Formatter:
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{request_id}{tenant}{task}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s [%(tenant)s %(request_id)s] %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        record.tenant = record.tenant or "-"
        record.request_id = record.request_id or record.task or "-"
        return super().format(record)


def _route(request: HttpRequest) -> str:
    """The URL pattern that answered (a bounded label set), not the path."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    if request.path in _QUIET_PATHS:
        return request.path
    return "unmatched"


class RequestContextMiddleware:
    """Outermost: gives the request its id, logs one access line and counts it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from core import metrics

        request_id = request_id_new(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        tenant_token = tenant_var.set(None)  # the tenant middleware sets it
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            route = _route(request)
            # a customer's tracking link is a secret: the pattern is logged, not the token
            path = route if "token" in route else request.path
            metrics.http_request_observe(request.method or "", route, response.status_code, elapsed)
            response["X-Request-ID"] = request_id
            tenant = getattr(request, "tenant", None)
            access_log.log(
                logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO,
                "%s %s %s",
                request.method,
                path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                    "tenant": getattr(tenant, "schema_name", None),
                },
            )
            return response
        finally:
            tenant_var.reset(tenant_token)
            request_id_var.reset(token)
