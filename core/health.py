"""Whether this process can do its work: the database answers, the job queue's broker answers.
The web's fuller readiness (migrations, Redis) is config/health.py."""

from __future__ import annotations

from django.db import connection


def database_state() -> str:
    """ "ok", or why PostgreSQL cannot be reached."""
    try:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


def database_and_queue_ready() -> tuple[bool, dict]:
    """A worker's or the scheduler's readiness: the database and the queue's broker."""
    from django.db import connection
    from django_q.brokers import get_broker

    try:
        checks = {"database": database_state()}
    finally:
        connection.close()  # the metrics server's threads keep no connection
    try:
        checks["queue"] = "ok" if get_broker().ping() else "unreachable"
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        checks["queue"] = f"unreachable: {exc.__class__.__name__}"
    return all(value == "ok" for value in checks.values()), checks
