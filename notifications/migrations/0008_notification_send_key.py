"""Every message gets a key of its own, carried in its status callback URL (its identity
at the provider does not depend on its text). Messages that may still be sent or looked
up (pending, sending) get one now; finished ones keep none. The column stays nullable so
that processes of the release before this one can still write rows while tenants migrate.

Not atomic, so that the unique index is built CONCURRENTLY: a plain CREATE INDEX (what
AlterField(unique=True) runs) blocks every write to the messages table while it reads it.
The index is then attached as the unique constraint AlterField would have made, under
the same name, so the database and the migration state are what Django expects.
"""

import secrets

from django.db import migrations, models

import notifications.models


def keys_for_unfinished(apps, schema_editor) -> None:
    Notification = apps.get_model("notifications", "Notification")
    unfinished = Notification.objects.filter(
        status__in=["pending", "sending"], send_key__isnull=True
    )
    for pk in unfinished.values_list("pk", flat=True).iterator():
        Notification.objects.filter(pk=pk).update(send_key=secrets.token_urlsafe(16))


#: The names Django gives a unique CharField's constraint and its LIKE index on this column.
UNIQUE = "notifications_notification_send_key_d98ddcdc_uniq"
LIKE = "notifications_notification_send_key_d98ddcdc_like"


def unique_send_key(apps, schema_editor) -> None:
    """The unique constraint on send_key, its index built without blocking writes.

    Inside a transaction (a new tenant's schema migrated while it is provisioned, its
    table empty) CONCURRENTLY is not allowed and not needed. Names are left unqualified:
    django-tenants runs this once per schema, with that schema on the search path.
    """
    concurrently = "" if schema_editor.connection.in_atomic_block else " CONCURRENTLY"
    quote = schema_editor.quote_name
    table, unique, like = quote("notifications_notification"), quote(UNIQUE), quote(LIKE)
    with schema_editor.connection.cursor() as cursor:
        # A concurrent build that failed (a duplicate key, a cancel) leaves an invalid
        # index of that name behind: dropped, so that running this again builds it.
        cursor.execute(
            "SELECT 1 FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid "
            "WHERE indrelid = %s::regclass AND relname = %s AND NOT indisvalid",
            ["notifications_notification", UNIQUE],
        )
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX{concurrently} {unique}")
    schema_editor.execute(f"CREATE UNIQUE INDEX{concurrently} {unique} ON {table} (send_key)")
    # Attaching a built index takes a brief lock and reads nothing.
    schema_editor.execute(
        f"ALTER TABLE {table} ADD CONSTRAINT {unique} UNIQUE USING INDEX {unique}"
    )
    schema_editor.execute(
        f"CREATE INDEX{concurrently} IF NOT EXISTS {like} ON {table} (send_key varchar_pattern_ops)"
    )


def drop_unique_send_key(apps, schema_editor) -> None:
    quote = schema_editor.quote_name
    table = quote("notifications_notification")
    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {quote(UNIQUE)}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {quote(LIKE)}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0007_customer_promise"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="send_key",
            field=models.CharField(editable=False, max_length=32, null=True),
        ),
        # One message at a time, each committed: no long transaction over the table.
        migrations.RunPython(keys_for_unfinished, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(unique_send_key, drop_unique_send_key)],
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="send_key",
                    field=models.CharField(
                        default=notifications.models.new_send_key,
                        editable=False,
                        max_length=32,
                        null=True,
                        unique=True,
                    ),
                ),
            ],
        ),
    ]
