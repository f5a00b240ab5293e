"""Export one tenant's data: `manage.py tenant_export <slug> <file.zip>`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services.lifecycle import tenant_export


class Command(BaseCommand):
    help = "Write everything a tenant keeps (rows and proof files) to a zip file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("output")

    def handle(self, *args, slug: str, output: str, **options) -> None:
        tenant = Tenant.objects.exclude(schema_name="public").filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        with open(output, "wb") as out:
            counts = tenant_export(tenant, out)
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count}")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}"))
