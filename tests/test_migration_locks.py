"""Migrations must not lock a big table for as long as it takes to read it.

A check constraint added in one step scans the table under an ACCESS EXCLUSIVE lock
(nothing reads or writes it meanwhile); a plain CREATE INDEX (AddIndex, a unique field, a
UniqueConstraint) blocks every write while it reads the table. On a table that exists
already, add a check NOT VALID and validate it in a later migration
(AddConstraintNotValid, then ValidateConstraint), and build an index CONCURRENTLY in a
migration with `atomic = False` (as notifications 0008 does for its unique key).
django-tenants runs each tenant migration once per schema, so every tenant waits its turn.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from django.contrib.postgres.operations import AddConstraintNotValid, AddIndexConcurrently
from django.db import models
from django.db.migrations import operations as ops
from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parents[1]

#: Migrations written before this check, each reviewed: (app, name) → why it is harmless.
REVIEWED = {
    ("notifications", "0003_eta_promises_and_occasions"): "released before this check "
    "(2026-11-25) and applied everywhere; rewriting it would change no database",
    ("routing", "0002_editing_publishing"): "released before this check (2026-11-25) and "
    "applied everywhere; rewriting it would change no database",
}


def _ours(loader: MigrationLoader):
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        module = sys.modules[migration.__module__]
        if Path(module.__file__).resolve().is_relative_to(ROOT / ".venv"):
            continue
        if Path(module.__file__).resolve().is_relative_to(ROOT):
            yield app, name, migration


def _indexed(field: models.Field) -> bool:
    return bool(field.unique or field.db_index) and not field.primary_key


def _newly_indexed(loader: MigrationLoader, migration, op: ops.AlterField) -> bool:
    """Whether this AlterField makes a field unique or indexed that was not before."""
    if not _indexed(op.field):
        return False
    before = loader.project_state((migration.app_label, migration.name), at_end=False)
    old = before.models[migration.app_label, op.model_name_lower].fields.get(op.name)
    if old is None:  # added earlier in this migration
        return True
    return (op.field.unique and not old.unique) or (op.field.db_index and not _indexed(old))


def _locking(loader: MigrationLoader, migration, operations) -> list[str]:
    """What in these operations reads a table that existed before, under a blocking lock."""
    created = {op.name_lower for op in operations if isinstance(op, ops.CreateModel)}
    found = []
    for op in operations:
        if isinstance(op, ops.SeparateDatabaseAndState):
            found += _locking(loader, migration, op.database_operations)
            continue
        model = getattr(op, "model_name_lower", None) or getattr(op, "name_lower", None)
        if model in created:
            continue
        if isinstance(op, ops.AddConstraint) and not isinstance(op, AddConstraintNotValid):
            found.append(f"{op.describe()} (scans the table under ACCESS EXCLUSIVE)")
        elif isinstance(op, ops.AddIndex) and not isinstance(op, AddIndexConcurrently):
            found.append(f"{op.describe()} (not CONCURRENTLY)")
        elif (isinstance(op, ops.AddField) and _indexed(op.field)) or (
            isinstance(op, ops.AlterField) and _newly_indexed(loader, migration, op)
        ):
            found.append(f"{op.describe()} (a unique or indexed field: a plain CREATE INDEX)")
        elif isinstance(op, ops.AlterUniqueTogether | ops.AlterIndexTogether) and op.option_value:
            found.append(f"{op.describe()} (a plain CREATE INDEX)")
        elif isinstance(op, ops.RunSQL):
            sql = str(op.sql).upper()
            if "CREATE" in sql and "INDEX" in sql and "CONCURRENTLY" not in sql:
                found.append("RunSQL creating an index without CONCURRENTLY")
        if (
            isinstance(op, AddIndexConcurrently)
            or (isinstance(op, ops.RunSQL) and "CONCURRENTLY" in str(op.sql).upper())
        ) and migration.atomic:
            found.append(f"{op.describe()}: CONCURRENTLY needs `atomic = False`")
    return found


def test_no_migration_reads_an_existing_table_under_a_blocking_lock():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    problems = {}
    for app, name, migration in _ours(loader):
        found = _locking(loader, migration, migration.operations)
        if found and (app, name) not in REVIEWED:
            problems[f"{app}.{name}"] = found
    assert problems == {}


#: Run in a fresh process (migrations outside the test's transaction, as a deploy runs
#: them): a schema migrated whole, taken back before the two migrations and forward again.
MIGRATE_BACK_AND_FORTH = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    schema = sys.argv[1]
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    try:
        def migrate(*args):
            call_command(
                "migrate_schemas", *args, schema_name=schema, interactive=False, verbosity=0
            )

        migrate()
        migrate("notifications", "0007")
        migrate("dispatch", "0006")
        statements = []

        def record(execute, sql, params, many, context):
            statements.append(str(sql))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(record):
            migrate()
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conname, convalidated, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = connamespace WHERE nspname = %s "
                "AND conname = %s",
                [schema, "order_without_date_is_not_planned"],
            )
            constraints = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = connamespace WHERE nspname = %s "
                "AND conrelid = %s::regclass AND contype = 'u' AND conname LIKE '%%send_key%%'",
                [schema, f'"{schema}".notifications_notification'],
            )
            unique = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s "
                "AND tablename = 'notifications_notification' AND indexdef LIKE '%%send_key%%' "
                "ORDER BY indexname",
                [schema],
            )
            indexes = cursor.fetchall()
        print(json.dumps({"statements": statements, "constraints": constraints,
                          "unique": unique, "indexes": indexes}))
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
    """
)


def test_the_new_migrations_take_no_blocking_lock_and_leave_what_django_would_make(tenants):
    import json
    import os
    import secrets

    from tests.e2e.conftest import database_url_of_test_db

    schema = f"mig_locks_{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": database_url_of_test_db(),
        "DEBUG": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", MIGRATE_BACK_AND_FORTH, schema],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    ddl = [" ".join(s.split()) for s in found["statements"]]
    check = [s for s in ddl if "order_without_date_is_not_planned" in s]
    assert any(s.endswith("NOT VALID") and " CHECK " in s for s in check), check
    assert any("VALIDATE CONSTRAINT" in s for s in check), check
    assert not [s for s in check if " CHECK " in s and not s.endswith("NOT VALID")], check
    # the existing table's send_key; a new table's (notifications 0009) is made with it
    on_notifications = [s for s in ddl if '"notifications_notification"' in s]
    send_key = [s for s in on_notifications if "send_key" in s and s.startswith("CREATE")]
    assert send_key and all("INDEX CONCURRENTLY" in s for s in send_key), send_key
    assert not [
        s for s in on_notifications if "send_key" in s and s.endswith('UNIQUE ("send_key")')
    ]
    # What AlterField(unique=True) would have made, under its names, and valid.
    assert found["unique"] == [
        ["notifications_notification_send_key_d98ddcdc_uniq", "UNIQUE (send_key)"]
    ]
    assert [name for name, _ in found["indexes"]] == [
        "notifications_notification_send_key_d98ddcdc_like",
        "notifications_notification_send_key_d98ddcdc_uniq",
    ]
    assert found["constraints"][0][:2] == ["order_without_date_is_not_planned", True]
