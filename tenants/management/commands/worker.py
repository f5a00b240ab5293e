"""`manage.py worker`: background jobs (django-q2's cluster), with /metrics, /healthz and
/readyz on METRICS_PORT. `bin/dispatch worker` runs this with the multiprocess metrics
directory set, so that the forked workers' counters reach the scrape."""

import logging
import os

from django.core.management.base import BaseCommand
from django_q.cluster import Cluster

from core import metrics
from core.startup import refuse_unsafe_configuration

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run background jobs (django-q2 cluster of Q_WORKERS processes)."

    def handle(self, *args, **options) -> None:
        refuse_unsafe_configuration()
        if os.environ.get("METRICS_PORT") and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            log.warning(
                "PROMETHEUS_MULTIPROC_DIR is not set: the forked workers' metrics (jobs, "
                "messages, optimiser time) will be missing; start workers with bin/dispatch worker"
            )
        metrics.serve_in_background("worker")
        cluster = Cluster()
        cluster.start()
        # django-q2's own qcluster returns here and leaves the interpreter to wait for the
        # cluster while it shuts down; from Python 3.12 no thread starts then, so the
        # metrics server could no longer answer. This thread waits instead (SIGTERM and
        # SIGINT stop the cluster through django-q2's handlers, and the wait ends).
        while cluster.sentinel.is_alive():
            cluster.sentinel.join(timeout=1)
