"""Background jobs that run inside one tenant's schema (django-q2).

django-q2 workers start in the public schema and know nothing of hosts, so every job is
enqueued with its tenant's `schema_name`, runs inside `schema_context(schema_name)`, and is
named `<schema>:<what>` so that the queue, the admin and the logs show whose job it is.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string
from django_q.tasks import async_task
from django_tenants.utils import schema_context, schema_exists


def enqueue_for_tenant(
    func_path: str, *args: Any, schema_name: str, task_name: str | None = None, **kwargs: Any
) -> str:
    """Queue `func_path(*args, **kwargs)` to run in `schema_name`; returns the task id.

    `func_path` is a dotted path (e.g. "routing.services.plan_solve"), so that what is
    stored in the queue is plain data. Options for django-q2 go in `q_options`.
    """
    if not schema_exists(schema_name):
        raise ValueError(f"no schema named {schema_name!r}")
    q_options = kwargs.pop("q_options", {})
    name = f"{schema_name}:{task_name or func_path.rsplit('.', 1)[-1]}"
    return async_task(
        "tenants.tasks.run_in_schema",
        schema_name,
        func_path,
        *args,
        q_options={"task_name": name, **q_options},
        **kwargs,
    )


def run_in_schema(schema_name: str, func_path: str, *args: Any, **kwargs: Any) -> Any:
    """The worker's side: enter the tenant's schema, run the job, leave it again."""
    with schema_context(schema_name):
        return import_string(func_path)(*args, **kwargs)
