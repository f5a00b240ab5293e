"""Settings of a test server that records, before every SQL statement it runs, the schema
django-tenants means to be in and the schemas PostgreSQL really searches on that
connection (`current_schemas(false)`), with the PostgreSQL session that ran it and whether
a request, a job or a websocket consumer ran it: JSON lines in SEARCH_PATH_LOG.

SEARCH_PATH_PROBE_BREAK=1 makes the server forget to set the search_path, to show that
the record catches a connection left in another schema.
"""

from __future__ import annotations

import json
import os
import sys
import threading

from django.db.backends.signals import connection_created

from config.settings_test import *  # noqa: F403

_LOG = os.environ["SEARCH_PATH_LOG"]
_lock = threading.Lock()


def _where() -> str:
    """What runs this statement: the innermost job or consumer on the stack, else a request."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename.replace(os.sep, "/")
        if path.endswith("tenants/tasks.py") and frame.f_code.co_name == "run_in_schema":
            return "task"
        if path.endswith("tracking/consumers.py"):
            return "consumer"
        frame = frame.f_back
    return "request"


def _probe(execute, sql, params, many, context):
    connection = context["connection"]
    if not sql.lstrip().upper().startswith("SET SEARCH_PATH"):
        raw = context["cursor"].cursor
        raw.execute("SELECT current_schemas(false), pg_backend_pid()")
        actual, backend = raw.fetchone()
        line = {
            "expected": connection.schema_name,
            "actual": list(actual),
            "backend": backend,
            "where": _where(),
            "sql": sql[:80],
        }
        with _lock, open(_LOG, "a") as log:
            log.write(json.dumps(line) + "\n")
    return execute(sql, params, many, context)


def _install(sender, connection, **kwargs) -> None:
    if _probe not in connection.execute_wrappers:
        connection.execute_wrappers.append(_probe)
    if os.environ.get("SEARCH_PATH_PROBE_BREAK") == "1":
        connection._handle_search_path = lambda cursor=None: None


connection_created.connect(_install)
