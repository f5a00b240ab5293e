"""Fast bulk inserts with PostgreSQL's COPY, for intake paths that take thousands of rows.

Django's bulk_create builds one INSERT with a parameter per value, which costs more to
build and parse than the insert itself costs the database. COPY streams the rows instead.
Ids are drawn from the table's sequence first, so the objects come back with their pks
like bulk_create's do. Any error (a unique conflict, say) aborts the whole COPY: callers
run it in a savepoint and fall back to row-by-row inserts. Text PostgreSQL cannot store
(NUL, a lone UTF-16 surrogate) is refused first with a ValidationError naming the field,
whichever caller it came from (the API's JSON parser refuses it earlier; a CSV file, a
store's webhook or a geocoder's answer may not have).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections, models, router

#: What PostgreSQL cannot store in text or jsonb: NUL, and lone UTF-16 surrogates (JSON's
#: "\ud800" escapes decode to them, but they cannot be encoded as UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_message(character: str) -> str:
    """The field error for `character`, one of UNSTORABLE's (DRF's CharField's words)."""
    what = "NUL characters are" if character == "\x00" else "Surrogate characters are"
    return f"{what} not allowed: U+{ord(character):04X}."


def unstorable_character(value: Any) -> str | None:
    """The first character of `value` (text, or lists and dicts of it, keys included)
    that PostgreSQL cannot store, else None."""
    if isinstance(value, str):
        found = UNSTORABLE.search(value)
        return found.group() if found else None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        for item in value:
            found = unstorable_character(item)
            if found is not None:
                return found
    return None


def _refuse_unstorable(objects: Sequence[models.Model], fields: list[models.Field]) -> None:
    for obj in objects:
        for f in fields:
            found = unstorable_character(getattr(obj, f.attname))
            if found is not None:
                raise ValidationError({f.name: [unstorable_message(found)]}, code="unstorable")


#: Up to this many rows, one INSERT … RETURNING (one round trip) costs less than drawing
#: the ids and streaming a COPY (two); above it COPY wins more the more rows there are.
SMALL_BATCH = 20


def copy_insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert `objects` (all new) with COPY in the current schema; sets their pks. A
    handful of rows (a single create) go in one INSERT … RETURNING instead."""
    if not objects:
        return
    meta = model._meta
    _refuse_unstorable(objects, list(meta.concrete_fields))
    if len(objects) <= SMALL_BATCH:
        model._base_manager.bulk_create(objects)
        return
    connection = connections[router.db_for_write(model)]  # the wrapper, not the proxy: faster
    table = connection.ops.quote_name(meta.db_table)
    pk_column = meta.pk.column
    # wrap_database_errors: psycopg's errors from the raw COPY become Django's (IntegrityError…)
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk_column, len(objects)],
        )
        for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            obj.pk = pk
        fields = list(meta.concrete_fields)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row(
                    [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
                )
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
