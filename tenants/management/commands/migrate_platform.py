"""Migrate everything: the public schema, the template new tenants are cloned from, every tenant."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from core.startup import refuse_unsafe_configuration
from tenants.selectors import DEMO_OWNER_EMAIL, DEMO_SLUG, demo_tenant_present
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
        refuse_unsafe_configuration()
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
        # Each deploy runs this first: a deployment holding the demo's published logins
        # stops here (compose starts nothing after a failed migrate) unless it asked for them.
        if not settings.DEMO_DATA and demo_tenant_present():
            raise CommandError(
                f"The demo business ({DEMO_SLUG}, owner {DEMO_OWNER_EMAIL}) is here, and its "
                "password is published: with DEBUG off it stays only when DEMO_DATA=1 asks "
                f"for it. Delete it (manage.py tenant_delete {DEMO_SLUG} --yes) or set DEMO_DATA=1."
            )
