"""Background jobs that run inside one tenant's schema (django-q2).

django-q2 workers start in the public schema and know nothing of hosts, so every job is
enqueued with its tenant's `schema_name`, runs inside `schema_context(schema_name)`, and is
named `<schema>:<what>` so that the queue, the admin and the logs show whose job it is.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils.module_loading import import_string
from django_q.tasks import async_task
from django_tenants.utils import schema_context, schema_exists

logger = logging.getLogger(__name__)


def enqueue_for_tenant(
    func_path: str, *args: Any, schema_name: str, task_name: str | None = None, **kwargs: Any
) -> str:
    """Queue `func_path(*args, **kwargs)` to run in `schema_name`; returns the task id.

    `func_path` is a dotted path (e.g. "routing.services.plan_solve"), so that what is
    stored in the queue is plain data. Options for django-q2 go in `q_options`.
    """
    if not schema_exists(schema_name):
        raise ValueError(f"no schema named {schema_name!r}")
    from config.observability import request_id_var

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


def enqueue_after_commit(func_path: str, *args: Any, task_name: str, **kwargs: Any) -> None:
    """Queue `func_path(*args, **kwargs)` in the current schema once the current
    transaction commits (nothing is queued for a change that was rolled back)."""
    from django.db import connection, transaction

    schema = connection.schema_name
    transaction.on_commit(
        lambda: enqueue_for_tenant(
            func_path, *args, schema_name=schema, task_name=task_name, **kwargs
        )
    )


def run_in_schema(schema_name: str, func_path: str, *args: Any, **kwargs: Any) -> Any:
    """The worker's side: enter the tenant's schema and its time zone (today, quiet hours
    and the times written into messages are the tenant's), run the job, leave again. Its
    logs carry the tenant, the job and the id of the request that queued it."""
    import zoneinfo

    from django.utils import timezone

    from config.observability import log_context
    from tenants.models import Tenant

    request_id = kwargs.pop("_request_id", None)
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
    """ "notifications.services.deliver" -> "notifications.deliver": the app and the function."""
    parts = func_path.split(".")
    return f"{parts[0]}.{parts[-1]}" if len(parts) > 1 else func_path


def run_for_every_tenant(func_path: str) -> int:
    """Queue `func_path()` once per active tenant, each in its own schema (scheduled
    housekeeping runs this from the public schema). Returns how many were queued."""
    from tenants.models import Tenant

    schemas = Tenant.objects.exclude(schema_name="public").filter(status="active")
    count = 0
    for schema_name in schemas.values_list("schema_name", flat=True):
        enqueue_for_tenant(func_path, schema_name=schema_name)
        count += 1
    return count


SCHEDULES = {
    # name: (dotted path run in every tenant, django-q2 schedule type, minutes for "I")
    "purge old idempotency keys": (
        "dispatch.services.retention.idempotency_records_purge",
        "D",
        None,
    ),
    "purge old GPS history": ("tracking.services.locations_purge", "D", None),
    "purge old proof of delivery": ("proofs.services.proofs_purge", "D", None),
    # customers hear when the live ETA leaves the window promised, or is minutes away
    "watch ETAs": ("notifications.services.eta_watch", "I", 1),
    # messages whose worker died while sending: asked of the provider, not sent twice
    "reconcile messages": ("notifications.services.sending_reconcile", "I", 5),
    # webhook retries that are due (and any first try whose job was lost)
    "send due webhooks": ("webhooks.services.deliveries_due", "I", 1),
}


def schedules_ensure() -> None:
    """Create or update the platform's recurring jobs (idempotent; migrate_platform runs it)."""
    from django_q.models import Schedule

    for name, (func_path, schedule_type, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
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
    from config import metrics

    func, args = task.get("func"), task.get("args") or ()
    if func == "tenants.tasks.run_in_schema" and len(args) > 1:
        func = args[1]
    name = job_name(func if isinstance(func, str) else getattr(func, "__name__", "other"))
    metrics.JOBS.labels(name, "success" if task.get("success") else "failure").inc()
    started, stopped = task.get("started"), task.get("stopped")
    if started and stopped:
        metrics.JOB_SECONDS.labels(name).observe((stopped - started).total_seconds())
