"""`manage.py worker`: background jobs (django-q2's cluster), with /metrics, /healthz and
/readyz on METRICS_PORT. `bin/dispatch worker` runs this with the multiprocess metrics
directory set, so that the forked workers' counters reach the scrape."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from config import metrics


class Command(BaseCommand):
    help = "Run background jobs (django-q2 cluster of Q_WORKERS processes)."

    def handle(self, *args, **options) -> None:
        metrics.serve_in_background("worker")
        call_command("qcluster")
