"""`manage.py scheduler`: queue the platform's recurring jobs (retention, reconciliation,
ETA watch, webhook retries; see tenants.tasks.SCHEDULES) when they fall due.

One runs per deployment, beside workers started with Q_SCHEDULER=0. Two at once are
harmless: django-q2 takes each due schedule under a row lock and moves its next run on
in the same transaction, so a run is queued once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from django import db
from django.core.management.base import BaseCommand

from core import health, metrics
from core.startup import refuse_unsafe_configuration

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Queue scheduled jobs when they fall due, every SCHEDULER_INTERVAL_S seconds."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=float(os.environ.get("SCHEDULER_INTERVAL_S", "15")),
            help="Seconds between looks at the schedule (default SCHEDULER_INTERVAL_S or 15).",
        )
        parser.add_argument("--once", action="store_true", help="Look once, then exit.")

    def handle(self, *args, **options) -> None:
        refuse_unsafe_configuration()
        from django_q.brokers import get_broker
        from django_q.scheduler import scheduler

        interval: float = options["interval"]
        stop = threading.Event()
        previous = {
            sig: signal.signal(sig, lambda *_: stop.set())
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        last_ok = [time.monotonic()]

        def ready() -> tuple[bool, dict]:
            ok, checks = health.database_and_queue_ready()
            age = time.monotonic() - last_ok[0]
            checks["last_run_s"] = f"{age:.0f}"
            return ok and age < 3 * interval + 60, checks

        metrics.serve_in_background("scheduler", ready=ready)
        broker = get_broker()
        log.info("scheduler running, every %.0f s", interval)
        try:
            while True:
                if _look(scheduler, broker, interval):
                    last_ok[0] = time.monotonic()
                if options["once"] or stop.wait(interval):
                    break
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("scheduler stopped")


def _look(scheduler, broker, interval: float) -> bool:
    """Queue what is due. django-q2's scheduler logs its own failures and carries on, so
    success is judged by the result: no schedule left overdue (past due by more than two
    looks, a minute to spare)."""
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Schedule

    try:
        scheduler(broker=broker)
        late = timezone.now() - timedelta(seconds=2 * interval + 60)
        overdue = Schedule.objects.exclude(repeats=0).filter(next_run__lt=late).count()
    except Exception:  # the database or Redis away for a moment: try again
        log.exception("scheduling failed; trying again in %.0f s", interval)
        overdue = -1
    finally:
        db.close_old_connections()
    if overdue:
        if overdue > 0:
            log.error("%d scheduled jobs are overdue: they could not be queued", overdue)
        metrics.SCHEDULER_RUNS.labels("failure").inc()
        return False
    metrics.SCHEDULER_RUNS.labels("success").inc()
    return True
