"""`manage.py migrate_tenants`: django-tenants' `migrate_schemas --tenant`, for the tenant
schemas that are behind the code only.

Django's migrate costs even a schema with nothing to apply its loader, its checks and its
post-migrate signals, and looks up tables through a catalogue that grows with every tenant:
`make bench-migrations` measures a whole no-op pass over 500 schemas. A schema whose
applied migrations include every app's newest one is current and skipped (one indexed
query each). With an app label and migration name (to go back), `--schema`, or `--all`,
it is `migrate_schemas --tenant` unchanged.
"""

from __future__ import annotations

from django_tenants.management.commands import SyncCommon
from django_tenants.management.commands.migrate_schemas import (
    GET_EXECUTOR_FUNCTION,
    MigrateSchemasCommand,
)
from django_tenants.utils import get_public_schema_name


class Command(MigrateSchemasCommand):
    help = "Migrate the tenant schemas that are behind the code (every one with --all)."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--all",
            action="store_true",
            dest="all_schemas",
            help="Run migrate in every tenant schema, current or not.",
        )

    def handle(self, *args, **options) -> None:
        from tenants.models import Tenant
        from tenants.services.provisioning import schema_is_current

        options["tenant"], options["shared"] = True, False
        whole = options["all_schemas"] or options.get("app_label") or options.get("schema_name")
        if whole:
            return super().handle(*args, **options)
        SyncCommon.handle(self, *args, **options)
        schemas = list(
            Tenant.objects.exclude(schema_name=get_public_schema_name())
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        behind = [schema for schema in schemas if not schema_is_current(schema)]
        if options["verbosity"] >= 1:
            self.stdout.write(f"{len(behind)} of {len(schemas)} tenant schemas to migrate")
        if behind:
            GET_EXECUTOR_FUNCTION(codename=self.executor)(self.args, self.options).run_migrations(
                tenants=behind
            )
        return None
