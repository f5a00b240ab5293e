"""Learn from a tenant's drivers now: `manage.py learn --schema <name> [--days 90]`.

Reads the days not read yet (within the GPS retention) and refits the learned travel and
door times, as the nightly job does, in that tenant's schema and time zone."""

from __future__ import annotations

import zoneinfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_tenants.utils import schema_context

from routing.services import learning
from tenants.models import Tenant
from tracking.services import observations


class Command(BaseCommand):
    help = "Read a tenant's unread delivery days and refit its learned travel and door times."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--schema", required=True, help="The tenant's schema name.")
        parser.add_argument(
            "--days", type=int, default=learning.DAYS, help="Learn from this many days back."
        )
        parser.add_argument(
            "--held-out",
            type=int,
            default=learning.HELD_OUT,
            help="Measure ETA error on the last this many days (0: no measurement).",
        )

    def handle(self, *args, schema: str, days: int, held_out: int, **options) -> None:
        tenant = Tenant.objects.exclude(schema_name="public").filter(schema_name=schema).first()
        if tenant is None:
            raise CommandError(f"No tenant schema {schema!r}.")
        if days < 1 or held_out < 0 or held_out >= days:
            raise CommandError("--days must be 1 or more and --held-out below it.")
        zone = zoneinfo.ZoneInfo(tenant.time_zone or "UTC")
        with schema_context(schema), timezone.override(zone):
            try:
                run = observations.learn_run(days=days, held_out=held_out)
            except Exception as exc:
                raise CommandError(f"Learning failed: {exc}") from exc
        self.stdout.write(
            f"Run {run.pk}: {run.legs} legs, {run.visits} visits, {run.days_read} days "
            f"({run.first_date} to {run.last_date}) in {run.duration_s:.1f} s"
        )
        if run.mae_before_s is not None and run.mae_after_s is not None:
            self.stdout.write(
                f"Held-out ETA error: {run.mae_before_s:.0f} s before, "
                f"{run.mae_after_s:.0f} s after, over {run.eval_stops} stops"
            )
        self.stdout.write(self.style.SUCCESS("Learned."))
