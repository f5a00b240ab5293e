"""Plans whose job was lost: queued but never picked up (the broker was away when it was
queued), or solving in a worker that died (killed, out of memory, the machine restarted).

A worker that solves a plan holds a PostgreSQL session lock named after the plan for as
long as it solves (`solving`): PostgreSQL lets go of it when the worker's connection ends,
however the worker ends. So "no live worker" is a fact the sweep asks the database, not a
guess from the clock; the clock only keeps the sweep away from plans that are still within
their time budget.

What the sweep does with them, as a dispatcher would want it:
- a plan still *queued* (nothing was tried) is queued again: the dispatcher asked for it
  and waits for it; `plan_solve` takes a plan once, so a second job is harmless. A re-plan
  of a published plan is queued keeping every stop on its driver's route (the dispatcher's
  choice was not stored; moving stops between drivers who have been told is the choice
  that cannot be taken back).
- a plan found *solving* with no worker is marked failed, with the reason on the plan's
  page. It is not solved again by itself: what killed the worker (a problem too big for
  its memory, the job's time limit) would most likely kill the next one, and the day's
  orders may have changed since; "Plan" again is one click.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core import metrics
from routing import models, tasks
from routing.services.routes import plan_touched
from tenants.tasks import enqueue_after_commit

#: Shown on the plan's page.
WORKER_LOST = (
    "The optimiser stopped before it finished (its worker was stopped or ran out of memory). "
    "Nothing was changed: plan again."
)


def _lock_name(plan_id: int) -> str:
    return f"routing.plan:{connection.schema_name}:{plan_id}"


@contextmanager
def session_lock(name: str) -> Iterator[bool]:
    """Hold the session advisory lock `name` (carrying the schema) while the body runs:
    a worker's sign of life; yields False, holding nothing, when another session has it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [name])
        mine = bool(cursor.fetchone()[0])
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [name])


def lock_free(name: str) -> bool:
    """True when no session holds the lock `name` (taken and let go again at once)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [name])
        return bool(cursor.fetchone()[0])


def solving(plan_id: int):
    """The plan's `session_lock`, held while a worker solves it."""
    return session_lock(_lock_name(plan_id))


def _nobody_solving(plan_id: int) -> bool:
    return lock_free(_lock_name(plan_id))


def plans_recover(now: dt.datetime | None = None) -> int:
    """The scheduled sweep: plans queued for PLAN_SWEEP_AFTER_S with no job are queued
    again; plans solving past their budget and PLAN_SWEEP_AFTER_S with no live worker are
    marked failed. Two sweeps at once recover each plan once (rows locked, skip locked).
    Returns how many plans it recovered."""
    now = now or timezone.now()
    after = dt.timedelta(seconds=settings.PLAN_SWEEP_AFTER_S)
    recovered = 0
    with transaction.atomic():
        queued = models.Plan.objects.select_for_update(skip_locked=True).filter(
            status=models.Plan.Status.QUEUED, queued_at__lt=now - after
        )
        for plan in queued:
            stamp = int(now.timestamp())
            enqueue_after_commit(
                tasks.plan_solve,
                plan.pk,
                task_name=f"plan-{plan.pk}-requeued-{stamp}",
                allow_reassign=not plan.is_published,
            )
            plan.queued_at = now  # the next sweep gives this job its time again
            plan.save(update_fields=["queued_at"])
            metrics.SWEEP_RECOVERED.labels("plan_requeued").inc()
            recovered += 1
    with transaction.atomic():
        solving_rows = models.Plan.objects.select_for_update(skip_locked=True).filter(
            status=models.Plan.Status.SOLVING, started_at__lt=now - after
        )
        for plan in solving_rows:
            budget = dt.timedelta(seconds=plan.seconds)
            if plan.started_at + budget + after > now or not _nobody_solving(plan.pk):
                continue
            plan.status, plan.error = models.Plan.Status.FAILED, WORKER_LOST
            plan.save(update_fields=["status", "error"])
            plan_touched(plan, actor="system:sweep")
            metrics.SWEEP_RECOVERED.labels("plan_failed").inc()
            recovered += 1
    return recovered
