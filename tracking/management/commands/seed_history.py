"""Generate weeks of driving history (plans, stop events, GPS pings) for a tenant, for the
learning page of a demo: `manage.py seed_history --schema demo`. Days made before are
skipped, so running it again adds only the days since. The truth behind it (rush hours,
a slow area, slow doors: `tracking.services.history.Truth.default_for`) is printed, not
stored."""

from __future__ import annotations

import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from dispatch.models import Depot
from geo.models import Address
from tenants.models import Tenant
from tracking.services.history import Truth, history_generate


class Command(BaseCommand):
    help = "Generate driving history (with a hidden truth) for the learner of one tenant."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--schema", required=True, help="The tenant's schema name.")
        parser.add_argument("--days", type=int, default=56)
        parser.add_argument("--drivers", type=int, default=4)
        parser.add_argument("--stops", type=int, default=12, help="Stops per route.")
        parser.add_argument("--ping-every", type=int, default=60, help="Seconds between fixes.")
        parser.add_argument("--seed", type=int, default=27)

    def handle(self, *args, **options) -> None:
        if not settings.DEMO_DATA:
            raise CommandError(
                "Generated history is sample data (orders, routes and GPS that never were): "
                "made only where demo data is (DEBUG, or DEMO_DATA=1)."
            )
        tenant = Tenant.objects.filter(schema_name=options["schema"]).first()
        if tenant is None or tenant.schema_name == "public":
            raise CommandError(f"No tenant with the schema {options['schema']!r}.")
        with schema_context(tenant.schema_name):
            depot = Depot.objects.filter(is_active=True).order_by("pk").first()
            if depot is None or depot.lat is None or depot.lng is None:
                raise CommandError("The tenant needs an active depot with a location first.")
            center = (depot.lat, depot.lng)
            points, labels = self._addresses(tenant, center)
            truth = Truth.default_for(
                center,
                seed=options["seed"],
                addresses=max(150, 3 * options["drivers"] * options["stops"]),
                radius_m=2500.0,
                points=points,
                labels=labels,
            )
            history = history_generate(
                days=options["days"],
                drivers=options["drivers"],
                stops_per_route=options["stops"],
                truth=truth,
                seed=options["seed"],
                ping_every_s=options["ping_every"],
            )
        self.stdout.write(
            f"history of {tenant.slug}: {len(history.dates)} new days "
            f"({len(history.skipped)} there already), {len(history.stops)} stops, "
            f"{history.pings} GPS fixes in {history.seconds:.1f} s; the hidden truth: rush "
            + ", ".join(f"{w.start_hour:02d}-{w.end_hour:02d} x{w.factor}" for w in truth.rush)
            + f", {len(truth.areas)} slow area(s), {len(truth.slow_doors)} slow doors"
        )

    def _addresses(self, tenant: Tenant, center: tuple[float, float]):
        """Real addresses of the tenant's road region near the depot (the demo's: central
        Helsinki), else None (points spread around the depot)."""
        if not tenant.road_region:
            return None, ()
        span = 0.03
        rows = list(
            Address.objects.filter(
                region=tenant.road_region,
                kind=Address.Kind.ADDRESS,
                lat__range=(center[0] - span, center[0] + span),
                lng__range=(center[1] - 2 * span, center[1] + 2 * span),
            )
            .exclude(street="")
            .order_by("pk")
            .values_list("street", "housenumber", "lat", "lng")
        )
        if len(rows) < 200:
            return None, ()
        rows = random.Random(27).sample(rows, min(len(rows), 600))  # noqa: S311 - sample data
        return [(lat, lng) for _, _, lat, lng in rows], [f"{s} {n}".strip() for s, n, _, _ in rows]
