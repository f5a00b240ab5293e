"""Delete one tenant completely: `manage.py tenant_delete <slug> --yes`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tenants.models import Tenant
from tenants.services.lifecycle import tenant_delete


class Command(BaseCommand):
    help = "Delete a tenant's schema, files, jobs and public rows. There is no undo."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--yes", action="store_true", help="Really delete it.")

    def handle(self, *args, slug: str, yes: bool, **options) -> None:
        tenant = Tenant.objects.exclude(schema_name="public").filter(slug=slug).first()
        if tenant is None:
            raise CommandError(f"No tenant {slug!r}.")
        if not yes:
            raise CommandError(f"This deletes {tenant.name} for good; add --yes to go ahead.")
        removed = tenant_delete(tenant)
        self.stdout.write(self.style.SUCCESS(f"Deleted {slug}: {removed}"))
