"""Migrate everything: the public schema, the template new tenants are cloned from, every tenant."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from tenants.services.provisioning import public_tenant_ensure, template_schema_ensure
from tenants.tasks import schedules_ensure


class Command(BaseCommand):
    help = "Migrate the public schema, the tenant template schema and all tenant schemas."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--executor",
            choices=["standard", "multiprocessing"],
            default="standard",
            help="django-tenants' executor for the tenant schemas (multiprocessing: in parallel).",
        )

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        public_tenant_ensure()
        changed = template_schema_ensure(verbosity=verbosity)
        self.stdout.write(f"template schema {'migrated' if changed else 'already current'}")
        schedules_ensure()
        # the tenant schemas behind the code; current ones cost one query each
        call_command(
            "migrate_tenants", interactive=False, executor=options["executor"], verbosity=verbosity
        )
