"""A store's index keeps every tenant that held it (one row per store and tenant, with its
install and uninstall times), so that the compliance webhooks reach each of them; only
one tenant holds a store at a time (a unique index on the store where it is not
uninstalled). Existing rows are the current holders, installed when they were made.

Not atomic, so that the unique indexes are built CONCURRENTLY (tests/test_migration_locks.py):
a plain CREATE INDEX blocks every write to the table while it reads it. The index of the
per-tenant key is then attached as the constraint Django would have made, under the same
name; the partial one is an index, as Django makes a UniqueConstraint with a condition.
"""

import django.utils.timezone
from django.db import migrations, models

TABLE = "tenants_storeshop"
PER_TENANT = "store_shop_per_tenant"
ONE_HOLDER = "store_shop_one_holder"


def installed_when_made(apps, schema_editor) -> None:
    StoreShop = apps.get_model("tenants", "StoreShop")
    StoreShop.objects.update(installed_at=models.F("created_at"))


def _drop_invalid(schema_editor, name: str, concurrently: str) -> None:
    """A concurrent build that failed leaves an invalid index behind: dropped, so that
    running this again builds it."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid "
            "WHERE indrelid = %s::regclass AND relname = %s AND NOT indisvalid",
            [TABLE, name],
        )
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX{concurrently} {schema_editor.quote_name(name)}")


def unique_indexes(apps, schema_editor) -> None:
    concurrently = "" if schema_editor.connection.in_atomic_block else " CONCURRENTLY"
    quote = schema_editor.quote_name
    table = quote(TABLE)
    for name in (PER_TENANT, ONE_HOLDER):
        _drop_invalid(schema_editor, name, concurrently)
    schema_editor.execute(
        f"CREATE UNIQUE INDEX{concurrently} {quote(PER_TENANT)} ON {table} "
        '("platform", "shop", "tenant_id")'
    )
    # Attaching a built index takes a brief lock and reads nothing.
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {quote(PER_TENANT)} UNIQUE USING INDEX "
        f"{quote(PER_TENANT)}"
    )
    schema_editor.execute(
        f"CREATE UNIQUE INDEX{concurrently} {quote(ONE_HOLDER)} ON {table} "
        '("platform", "shop") WHERE "uninstalled_at" IS NULL'
    )


def drop_unique_indexes(apps, schema_editor) -> None:
    quote = schema_editor.quote_name
    table = quote(TABLE)
    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {quote(PER_TENANT)}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(ONE_HOLDER)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tenants", "0006_store_shops"),
    ]

    operations = [
        migrations.AddField(
            model_name="storeshop",
            name="installed_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="storeshop",
            name="uninstalled_at",
            field=models.DateTimeField(
                blank=True, help_text="Empty: the tenant holding the store now.", null=True
            ),
        ),
        migrations.RunPython(installed_when_made, migrations.RunPython.noop),
        # The new keys first, then the old one goes: a store stays unique meanwhile.
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(unique_indexes, drop_unique_indexes)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="storeshop",
                    constraint=models.UniqueConstraint(
                        fields=("platform", "shop", "tenant"), name=PER_TENANT
                    ),
                ),
                migrations.AddConstraint(
                    model_name="storeshop",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(uninstalled_at__isnull=True),
                        fields=("platform", "shop"),
                        name=ONE_HOLDER,
                    ),
                ),
            ],
        ),
        migrations.RemoveConstraint(
            model_name="storeshop",
            name="store_shop_unique",
        ),
    ]
