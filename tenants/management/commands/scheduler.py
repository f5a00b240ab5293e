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

from config import metrics

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
        from django_q.brokers import get_broker
        from django_q.scheduler import scheduler

        interval: float = options["interval"]
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        last_ok = [time.monotonic()]

        def ready() -> tuple[bool, dict]:
            ok, checks = metrics.database_and_queue_ready()
            age = time.monotonic() - last_ok[0]
            checks["last_run_s"] = f"{age:.0f}"
            return ok and age < 3 * interval + 60, checks

        metrics.serve_in_background("scheduler", ready=ready)
        broker = get_broker()
        log.info("scheduler running, every %.0f s", interval)
        while True:
            try:
                scheduler(broker=broker)
                last_ok[0] = time.monotonic()
                metrics.SCHEDULER_RUNS.labels("success").inc()
            except Exception:  # the database or Redis away for a moment: try again
                log.exception("scheduling failed; trying again in %.0f s", interval)
                metrics.SCHEDULER_RUNS.labels("failure").inc()
            finally:
                db.close_old_connections()
            if options["once"] or stop.wait(interval):
                break
        log.info("scheduler stopped")
