"""A new tenant schema as a copy of the template, from a DDL snapshot read once.

django-tenants' `clone_schema` (a PL/pgSQL port of pg-clone-schema) reads the template
through `information_schema` table by table. Those views scan the whole catalogue, which
grows by about a hundred relations per tenant: at 50 tenants one clone took 6 s, and it
keeps growing (`make bench-migrations`). Here the template is described once from
`pg_catalog`, with lookups by the template's own namespace (index scans, unaffected by
other schemas), as a script of plain DDL; each new schema runs that script in one round
trip. The snapshot is kept per process and taken again whenever the template's migrations
change.

What the snapshot knows: tables and their columns (types, collations, defaults,
identity and stored generated columns, NOT NULL), primary keys, unique, check, exclusion
and foreign-key constraints, other indexes, and the template's rows (migration records,
content types, permissions) with identity sequences moved past them. A template holding
anything else (views, sequences of their own, triggers, types, functions, collations,
row security, comments, unlogged tables, a foreign key leaving the schema) is refused with
`UnsupportedTemplate`, and provisioning falls back to `clone_schema`.

A copy and a migration of the template exclude each other: the copy holds a SHARE lock on
the template's `django_migrations` (which every migration writes in its own transaction),
and checks the snapshot is current under it, so a tenant created during a deploy never
gets old tables with new migration records.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass

from django.db import DatabaseError, connection

_lock = threading.Lock()
_cached: tuple[tuple, Snapshot] | None = None


class UnsupportedTemplate(Exception):
    """The template holds something the snapshot does not copy."""


@dataclass(frozen=True)
class Snapshot:
    """The template as statements run with the new schema first on the search path."""

    tables: tuple[str, ...]
    creates: tuple[str, ...]  # CREATE TABLE, one per table
    copies: tuple[tuple[str, str, tuple[str, ...]], ...]  # (table, column list, identity columns)
    constraints: tuple[str, ...]  # keys, checks and indexes, then foreign keys

    def statements(self, *, template: str, schema: str) -> list[str]:
        """The names go into their known places only (never replaced inside DDL text)."""
        script = [f"SET LOCAL search_path TO {_q(schema)}", *self.creates]
        for table, listed, identities in self.copies:
            script.append(
                f"INSERT INTO {_q(table)} ({listed}) OVERRIDING SYSTEM VALUE "  # noqa: S608
                f"SELECT {listed} FROM {_q(template)}.{_q(table)}"
            )
            for column in identities:
                # the table as an identifier (quoted), the column as it is spelled
                table_literal = _q(table).replace("'", "''")
                column_literal = column.replace("'", "''")
                sequence = f"pg_get_serial_sequence('{table_literal}', '{column_literal}')"
                moved = f"setval({sequence}, max({_q(column)}))"
                script.append(f"SELECT {moved} FROM {_q(table)} HAVING count(*) > 0")  # noqa: S608
        return [*script, *self.constraints]


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _version(template: str) -> tuple:
    """What the template is now: its migration records (changed by every migration)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), max(id) FROM {_q(template)}.django_migrations")  # noqa: S608
        return (template, *cursor.fetchone())


def snapshot(template: str) -> Snapshot:
    """The template's snapshot, read again when its migrations have changed."""
    global _cached
    version = _version(template)
    with _lock:
        if _cached is None or _cached[0] != version:
            _cached = (version, _read(template))
        return _cached[1]


def _rows(cursor, sql: str, params: list) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _read(template: str) -> Snapshot:
    with connection.cursor() as cursor:
        # Names inside expressions and definitions come out unqualified while the template
        # is first on the search path; the script runs with the new schema there instead.
        cursor.execute(f"SET search_path TO {_q(template)}")
        try:
            return _describe(cursor, template)
        finally:
            # after a failed query the transaction refuses this too: the error that matters
            # is the one already on its way
            with suppress(DatabaseError):
                cursor.execute("SET search_path TO public")
            connection.set_schema_to_public()  # django-tenants sets its own again


def _describe(cursor, template: str) -> Snapshot:
    [(namespace,)] = _rows(cursor, "SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
    kinds = _rows(
        cursor,
        "SELECT relkind, relname FROM pg_class WHERE relnamespace = %s"
        " AND relkind NOT IN ('r', 'i', 'S')",
        [namespace],
    )
    if kinds:
        raise UnsupportedTemplate(f"relations of kinds the snapshot does not copy: {kinds}")
    sequences = _rows(
        cursor,
        """
        SELECT s.relname FROM pg_class s WHERE s.relnamespace = %s AND s.relkind = 'S'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = s.oid AND d.deptype = 'i')
    """,
        [namespace],
    )
    if sequences:
        raise UnsupportedTemplate(f"sequences not owned by identity columns: {sequences}")
    refusals = {
        "triggers": "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " WHERE c.relnamespace = %s AND NOT t.tgisinternal",
        "types or domains": "SELECT typname FROM pg_type WHERE typnamespace = %s"
        " AND typtype IN ('d', 'e', 'r', 'm')",
        "functions": "SELECT proname FROM pg_proc WHERE pronamespace = %s",
        "collations": "SELECT collname FROM pg_collation WHERE collnamespace = %s",
        "row security or unlogged tables": "SELECT relname FROM pg_class WHERE relnamespace = %s"
        " AND (relrowsecurity OR relpersistence <> 'p' OR reloptions IS NOT NULL)",
        "comments": "SELECT c.relname FROM pg_description d JOIN pg_class c ON c.oid = d.objoid"
        " WHERE d.classoid = 'pg_class'::regclass AND c.relnamespace = %s",
        "virtual generated columns": "SELECT a.attname FROM pg_attribute a JOIN pg_class c"
        " ON c.oid = a.attrelid WHERE c.relnamespace = %s AND a.attgenerated NOT IN ('', 's')",
    }
    for what, sql in refusals.items():
        found = _rows(cursor, sql, [namespace])
        if found:
            raise UnsupportedTemplate(f"{what}: {[row[0] for row in found]}")
    tables = _rows(
        cursor,
        "SELECT oid, relname FROM pg_class WHERE relnamespace = %s"
        " AND relkind = 'r' ORDER BY relname",
        [namespace],
    )
    columns = _rows(
        cursor,
        """
        SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
               CASE WHEN a.attcollation <> t.typcollation THEN co.collname END
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_attrdef d ON (d.adrelid, d.adnum) = (a.attrelid, a.attnum)
        LEFT JOIN pg_collation co ON co.oid = a.attcollation
        WHERE c.relnamespace = %s AND c.relkind = 'r' AND a.attnum > 0
          AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum
    """,
        [namespace],
    )
    constraints = _rows(
        cursor,
        """
        SELECT c.conrelid, c.conname, c.contype, pg_get_constraintdef(c.oid),
               c.confrelid <> 0 AND r.relnamespace <> c.connamespace
        FROM pg_constraint c LEFT JOIN pg_class r ON r.oid = c.confrelid
        WHERE c.connamespace = %s AND c.conrelid <> 0 AND c.contype IN ('p', 'u', 'c', 'x', 'f')
        ORDER BY c.conrelid, c.contype, c.conname
    """,
        [namespace],
    )
    indexes = _rows(
        cursor,
        """
        SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = %s
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                          AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
        ORDER BY i.indexrelid
    """,
        [namespace],
    )
    leaving = [name for _, name, _, _, outside in constraints if outside]
    if leaving:
        raise UnsupportedTemplate(f"foreign keys to other schemas: {leaving}")
    with_rows = {
        name
        for oid, name in tables
        if _rows(cursor, f"SELECT EXISTS (SELECT 1 FROM {_q(name)})", [])[0][0]  # noqa: S608
    }

    by_table: dict[int, list[tuple]] = {}
    for column in columns:
        by_table.setdefault(column[0], []).append(column[1:])
    creates = tuple(
        f"CREATE TABLE {_q(name)} ({', '.join(_column(c) for c in by_table[oid])})"
        for oid, name in tables
    )
    copies = []
    for oid, name in tables:
        if name in with_rows:
            stored = [c[0] for c in by_table[oid] if not c[5]]  # generated columns are computed
            identities = tuple(c[0] for c in by_table[oid] if c[4])
            copies.append((name, ", ".join(_q(c) for c in stored), identities))
    names = dict(tables)
    keys = [
        f"ALTER TABLE {_q(names[oid])} ADD CONSTRAINT {_q(conname)} {definition}"
        for oid, conname, kind, definition, _ in constraints
        if kind != "f"
    ]
    # pg_get_indexdef names the table with its schema: the index goes with the new table
    on_template = (f" ON {template}.", f" ON {_q(template)}.")
    for (definition,) in indexes:
        for prefix in on_template:
            definition = definition.replace(prefix, " ON ", 1)
        keys.append(definition)
    keys += [
        f"ALTER TABLE {_q(names[oid])} ADD CONSTRAINT {_q(conname)} {definition}"
        for oid, conname, kind, definition, _ in constraints
        if kind == "f"
    ]
    return Snapshot(tuple(name for _, name in tables), creates, tuple(copies), tuple(keys))


def _column(column: tuple) -> str:
    name, type_, not_null, default, identity, generated, collation = column
    parts = [_q(name), type_]
    if collation:
        parts.append(f"COLLATE {_q(collation)}")
    if generated:
        parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
    elif identity:
        parts.append(f"GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY")
    elif default is not None:
        parts.append(f"DEFAULT {default}")
    if not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def schema_copy(template: str, schema: str) -> None:
    """Create `schema` as a copy of `template` (structure and rows), in one transaction."""
    from django.db import transaction

    with transaction.atomic(), connection.cursor() as cursor:
        # no migration of the template can commit between the snapshot check and the copy
        cursor.execute(f"LOCK TABLE {_q(template)}.django_migrations IN SHARE MODE")
        statements = snapshot(template).statements(template=template, schema=schema)
        cursor.execute(f"CREATE SCHEMA {_q(schema)}")
        cursor.execute(";\n".join(statements))
    connection.set_schema_to_public()  # the script moved search_path behind django-tenants' back
