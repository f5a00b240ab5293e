"""Background jobs that run inside one tenant's schema (django-q2).

A job is a module-level function in an app's `tasks.py`, queued by reference:
`enqueue_after_commit(notifications.tasks.deliver, pk, task_name=...)`. What is stored in
the queue is plain data (the function's dotted path and its arguments).

django-q2 workers start in the public schema and know nothing of hosts, so every job is
enqueued with its tenant's `schema_name`, runs inside `schema_context(schema_name)`, and is
named `<schema>:<what>` so that the queue, the admin and the logs show whose job it is.

Recurring housekeeping is declared next to the job with `@every_tenant(...)`;
`schedules_ensure()` (run by migrate_platform) finds every app's `tasks` module and writes
the schedules.
"""

from __future__ import annotations

import ast
import logging
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules, import_string
from django_q.tasks import async_task
from django_tenants.utils import schema_context, schema_exists

from core import metrics
from core.observability import log_context, request_id_var
from tenants.models import Tenant

logger = logging.getLogger(__name__)


def job_path(job: Callable[..., Any]) -> str:
    """The dotted path a job is stored under; only functions of a `tasks` module (or the
    test suite's jobs) may be queued, so that every job has one findable home."""
    module, name = getattr(job, "__module__", ""), getattr(job, "__qualname__", "")
    if not callable(job) or "." in name or "<" in name:
        raise TypeError(f"{job!r} is not a module-level function")
    if not (module.endswith(".tasks") or module.startswith("tests.")):
        raise TypeError(f"{module}.{name}: jobs live in an app's tasks.py")
    return f"{module}.{name}"


def enqueue_for_tenant(
    job: Callable[..., Any],
    *args: Any,
    schema_name: str,
    task_name: str | None = None,
    **kwargs: Any,
) -> str:
    """Queue `job(*args, **kwargs)` to run in `schema_name`; returns the task id.
    Options for django-q2 go in `q_options`."""
    func_path = job_path(job)
    # the schema this connection is in exists (a request's or a job's own tenant: no query)
    if schema_name != getattr(connection, "schema_name", None) and not schema_exists(schema_name):
        raise ValueError(f"no schema named {schema_name!r}")
    q_options = kwargs.pop("q_options", {})
    name = f"{schema_name}:{task_name or func_path.rsplit('.', 1)[-1]}"
    if request_id_var.get():  # the request that queued it: its id follows into the job's logs
        kwargs["_request_id"] = request_id_var.get()
    return async_task(
        "tenants.tasks.run_in_schema",
        schema_name,
        func_path,
        *args,
        q_options={"task_name": name, **q_options},
        **kwargs,
    )


def enqueue_after_commit(
    job: Callable[..., Any], *args: Any, task_name: str, **kwargs: Any
) -> None:
    """Queue `job(*args, **kwargs)` in the current schema once the current transaction
    commits (nothing is queued for a change that was rolled back). The change is committed
    by then, so a broker that cannot take the job (Redis away) must not fail the request:
    the job is kept for later (`enqueue_or_defer`)."""
    job_path(job)  # refuse a wrong job now, not after the commit
    schema = connection.schema_name
    transaction.on_commit(
        lambda: enqueue_or_defer(job, *args, schema_name=schema, task_name=task_name, **kwargs)
    )


def enqueue_or_defer(
    job: Callable[..., Any], *args: Any, schema_name: str, task_name: str, **kwargs: Any
) -> str | None:
    """Queue the job; when the broker fails, keep it as a one-off django-q2 schedule due now
    (a database row: the scheduler queues it once the broker is back) and return None. When
    even that fails the error is logged and counted: the sweeps (stranded messages, stalled
    plans) recover what they own. Never raises for the broker or the database."""
    try:
        return enqueue_for_tenant(
            job, *args, schema_name=schema_name, task_name=task_name, **kwargs
        )
    except Exception:
        func_path = job_path(job)
        logger.exception("%s: could not queue %s; keeping it for later", schema_name, func_path)
    try:
        _defer(schema_name, func_path, args, kwargs, task_name=task_name)
    except Exception:
        logger.exception("%s: could not keep %s for later either", schema_name, func_path)
        metrics.JOBS_DEFERRED.labels(job_name(func_path), "lost").inc()
        return None
    metrics.JOBS_DEFERRED.labels(job_name(func_path), "scheduled").inc()
    return None


def _defer(schema_name: str, func_path: str, args: tuple, kwargs: dict, *, task_name: str) -> None:
    """A one-off schedule, due now, that runs the job in its schema as `enqueue_for_tenant`
    would have (django-q2 reads the arguments back with `ast.literal_eval`)."""
    from django_q.models import Schedule

    kwargs = {k: v for k, v in kwargs.items() if k != "q_options"}
    if request_id_var.get():
        kwargs["_request_id"] = request_id_var.get()
    kwargs["q_options"] = {"task_name": f"{schema_name}:{task_name}"}  # the scheduler keeps it
    stored_args, stored_kwargs = repr((schema_name, func_path, *args)), repr(kwargs)
    if ast.literal_eval(stored_args) != (schema_name, func_path, *args) or (
        ast.literal_eval(stored_kwargs) != kwargs
    ):
        raise ValueError(f"arguments of {func_path} cannot be stored as literals")
    with schema_context("public"):
        Schedule.objects.create(
            name=f"{schema_name}:{task_name}:deferred-{uuid.uuid4().hex[:8]}"[:100],
            func="tenants.tasks.run_in_schema",
            args=stored_args,
            kwargs=stored_kwargs,
            schedule_type=Schedule.ONCE,
            next_run=timezone.now(),
        )


class Schedule(NamedTuple):
    func_path: str
    schedule_type: str  # django-q2's: "I" every `minutes`, "H" hourly, "D" daily
    minutes: int | None


SCHEDULES: dict[str, Schedule] = {}


def every_tenant(
    name: str, schedule_type: str, minutes: int | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run the decorated job in every active tenant on a schedule (the name is the
    schedule's, shown in the admin)."""

    def register(job: Callable[..., Any]) -> Callable[..., Any]:
        SCHEDULES[name] = Schedule(job_path(job), schedule_type, minutes)
        return job

    return register


#: Jobs queued (or scheduled for later: quiet hours, retries) by the release before jobs
#: moved into tasks.py, and the job each now is. Kept for one release.
MOVED = {
    **{
        f"notifications.services.{name}": f"notifications.tasks.{name}"
        for name in (
            "deliver",
            "on_order_status",
            "notify_orders",
            "route_watch_by_id",
            "notify_rescheduled",
            "eta_watch",
            "sending_reconcile",
        )
    },
    "routing.services.plan_solve": "routing.tasks.plan_solve",
    "tracking.services.locations_purge": "tracking.tasks.locations_purge",
    "proofs.services.proofs_purge": "proofs.tasks.proofs_purge",
    "webhooks.services.deliver": "webhooks.tasks.deliver",
    "webhooks.services.deliveries_due": "webhooks.tasks.deliveries_due",
    "dispatch.services.retention.idempotency_records_purge": (
        "dispatch.tasks.idempotency_records_purge"
    ),
}


def run_in_schema(schema_name: str, func_path: str, *args: Any, **kwargs: Any) -> Any:
    """The worker's side: enter the tenant's schema and its time zone (today, quiet hours
    and the times written into messages are the tenant's), run the job, leave again. Its
    logs carry the tenant, the job and the id of the request that queued it."""
    request_id = kwargs.pop("_request_id", None)
    func_path = MOVED.get(func_path, func_path)
    if not schema_exists(schema_name):  # the tenant was deleted after the job was queued
        logger.warning("%s: no schema %s any more; job not run", func_path, schema_name)
        return None
    zone = Tenant.objects.filter(schema_name=schema_name).values_list("time_zone", flat=True)
    with (
        log_context(tenant=schema_name, request_id=request_id, task=job_name(func_path)),
        schema_context(schema_name),
        timezone.override(zoneinfo.ZoneInfo(zone.first() or "UTC")),
    ):
        return import_string(func_path)(*args, **kwargs)


def job_name(func_path: str) -> str:
    """ "notifications.tasks.deliver" -> "notifications.deliver": the app and the function."""
    parts = func_path.split(".")
    return f"{parts[0]}.{parts[-1]}" if len(parts) > 1 else func_path


def run_for_every_tenant(func_path: str) -> int:
    """Queue `func_path()` once per active tenant, each in its own schema (scheduled
    housekeeping runs this from the public schema). Returns how many were queued."""
    job = import_string(MOVED.get(func_path, func_path))
    schemas = Tenant.objects.exclude(schema_name="public").filter(status="active")
    count = 0
    for schema_name in schemas.values_list("schema_name", flat=True):
        enqueue_for_tenant(job, schema_name=schema_name)
        count += 1
    return count


def schedules() -> dict[str, Schedule]:
    """Every recurring job, by schedule name (every app's `tasks` module declares its own)."""
    autodiscover_modules("tasks")
    return SCHEDULES


def schedules_ensure() -> None:
    """Create or update the platform's recurring jobs (idempotent; migrate_platform runs it)."""
    from django_q.models import Schedule as QSchedule

    for name, (func_path, schedule_type, minutes) in schedules().items():
        QSchedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "tenants.tasks.run_for_every_tenant",
                "args": repr(func_path),
                "schedule_type": schedule_type,
                "minutes": minutes,
            },
        )


def job_finished(sender: Any, task: dict, **kwargs: Any) -> None:
    """django-q2's post_execute (in the cluster's monitor process): count the job and its
    run time, under the job's name rather than the wrapper every tenant job runs in."""
    func, args = task.get("func"), task.get("args") or ()
    if func == "tenants.tasks.run_in_schema" and len(args) > 1:
        func = args[1]
    name = job_name(func if isinstance(func, str) else getattr(func, "__name__", "other"))
    metrics.JOBS.labels(name, "success" if task.get("success") else "failure").inc()
    started, stopped = task.get("started"), task.get("stopped")
    if started and stopped:
        metrics.JOB_SECONDS.labels(name).observe((stopped - started).total_seconds())
