"""A tenant schema copied from the template's DDL snapshot is the template, table for
table: columns, constraints, indexes, rows and identity sequences."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.db import IntegrityError, connection
from django_tenants.utils import schema_context

from tenants.services import schema_copy

DESCRIBE = {
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               a.attidentity, a.attgenerated, a.attcollation, pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
        WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' AND a.attnum > 0
          AND NOT a.attisdropped ORDER BY 1, 2""",
    "constraints": """
        SELECT r.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable,
               k.condeferred
        FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
        WHERE k.connamespace = %s::regnamespace ORDER BY 1, 2""",
    "indexes": """
        SELECT c.relname, i.relname, regexp_replace(pg_get_indexdef(x.indexrelid),
               ' ON \\S+\\.', ' ON ')
        FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        WHERE c.relnamespace = %s::regnamespace ORDER BY 1, 2""",
}


def _same_meaning(definition: str) -> str:
    """A CHECK read back and written again prints its casts differently
    (`ARRAY[('a'::varchar)::text]` for `(ARRAY['a'::varchar])::text[]`): compared without
    casts and parentheses."""
    return re.sub(r"::[a-z ]+(\[\])?|[() ]", "", definition)


def _describe(schema: str) -> dict[str, list]:
    with connection.cursor() as cursor:
        cursor.execute(f'SET search_path TO "{schema}"')  # definitions print unqualified
        out = {}
        for name, sql in DESCRIBE.items():
            cursor.execute(sql, [schema])
            out[name] = cursor.fetchall()
        out["constraints"] = [
            (*row[:3], _same_meaning(row[3]), *row[4:]) for row in out["constraints"]
        ]
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
            "AND relkind = 'r' ORDER BY 1",
            [schema],
        )
        counts = {}
        for (table,) in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*), md5(string_agg(t::text, \',\' ORDER BY t::text)) FROM "{schema}"."{table}" t'  # noqa: E501, S608
            )
            counts[table] = cursor.fetchone()  # how many rows, and what they hold
        out["rows"] = counts
    connection.set_schema_to_public()
    return out


def test_a_copy_matches_the_template_in_every_table(tenants):
    template = settings.TENANT_BASE_SCHEMA
    schema_copy.schema_copy(template, "copy_check")
    original, copy = _describe(template), _describe("copy_check")
    assert len(original["columns"]) > 300 and len(original["indexes"]) > 100
    for part in ("columns", "constraints", "indexes", "rows"):
        assert copy[part] == original[part], part
    assert original["rows"]["django_migrations"][0] > 50  # the migration records came along
    with connection.cursor() as cursor, pytest.raises(IntegrityError):  # checks still check
        cursor.execute(
            "INSERT INTO copy_check.accounts_user (password, email, name, role, is_active,"
            " is_staff, is_superuser, date_joined) VALUES ('x', 'a@b.c', 'A', 'pilot', true,"
            " false, false, now())"
        )


def test_identity_sequences_continue_after_the_copied_rows(tenants):
    from django.contrib.contenttypes.models import ContentType

    schema_copy.schema_copy(settings.TENANT_BASE_SCHEMA, "copy_seq")
    with schema_context("copy_seq"):
        highest = ContentType.objects.order_by("-pk").first().pk
        made = ContentType.objects.create(app_label="copy", model="check")
        assert made.pk == highest + 1


def test_a_template_holding_a_view_is_refused_and_provisioning_falls_back(tenants, caplog):
    from tenants.services.provisioning import tenant_schema_create

    template = settings.TENANT_BASE_SCHEMA
    with connection.cursor() as cursor:  # as a RunSQL migration would
        cursor.execute(f'SET search_path TO "{template}"')
        cursor.execute("CREATE VIEW a_view AS SELECT 1 AS one")
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('views', '0001', now())"
        )
    connection.set_schema_to_public()
    with pytest.raises(schema_copy.UnsupportedTemplate, match="a_view"):
        schema_copy.schema_copy(template, "copy_view")
    tenant_schema_create("copy_fallback")  # django-tenants' clone_schema instead
    assert "by clone_schema" in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM copy_fallback.django_migrations")
        assert cursor.fetchone()[0] > 50


def test_the_snapshot_is_read_again_after_the_template_migrates(tenants):
    template = settings.TENANT_BASE_SCHEMA
    first = schema_copy.snapshot(template)
    assert schema_copy.snapshot(template) is first  # kept
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE TABLE "{template}".later_table (id bigint PRIMARY KEY)')
        cursor.execute(f'SET search_path TO "{template}"')
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('later', '0001_initial', now())"
        )
    connection.set_schema_to_public()
    again = schema_copy.snapshot(template)
    assert again is not first and "later_table" in again.tables
    schema_copy.schema_copy(template, "copy_later")
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('copy_later.later_table') IS NOT NULL")
        assert cursor.fetchone()[0]


def test_migrate_tenants_migrates_only_the_schemas_behind_the_code(tenants):
    import io

    from django.core.management import call_command

    alpha = tenants["alpha"].tenant.schema_name
    latest = "0002_proofsettings_retention_days"  # a leaf: nothing depends on it
    with connection.cursor() as cursor:  # alpha as it was before that migration
        cursor.execute(f'ALTER TABLE "{alpha}".proofs_proofsettings DROP COLUMN retention_days')
        cursor.execute(
            f'DELETE FROM "{alpha}".django_migrations WHERE app = %s AND name = %s',  # noqa: S608
            ["proofs", latest],
        )
    out = io.StringIO()
    call_command("migrate_tenants", interactive=False, verbosity=1, stdout=out)
    connection.set_schema_to_public()
    assert out.getvalue().startswith("1 of ")  # alpha; beta and the rest are current
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'proofs_proofsettings' AND column_name = 'retention_days'",
            [alpha],
        )
        assert cursor.fetchone()[0] == 1
    out = io.StringIO()
    call_command("migrate_tenants", interactive=False, verbosity=1, stdout=out)
    assert out.getvalue().startswith("0 of ")


def test_no_tenant_table_points_into_the_public_schema():
    """Tenant schemas stand alone (docs/scaling.md: each can move whole to another node):
    no tenant model has a foreign key to a model that lives only in the public schema."""
    from django.apps import apps

    def label(app: str) -> str:
        return app.rsplit(".", 1)[-1]

    tenant_labels = {label(app) for app in settings.TENANT_APPS}
    public_only = {label(app) for app in settings.SHARED_APPS} - tenant_labels
    pointing = [
        f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}"
        for model in apps.get_models()
        if model._meta.app_label in tenant_labels
        for field in model._meta.get_fields()
        if field.concrete
        and field.is_relation
        and field.related_model is not None
        and field.related_model._meta.app_label in public_only
    ]
    assert public_only and not pointing, pointing
