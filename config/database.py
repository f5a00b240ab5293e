"""Where the database is: ``DATABASE_URL``, or an embedded PostgreSQL from ``pgserver``.

With no ``DATABASE_URL`` the project starts (or reuses) a PostgreSQL 16 server from the
``pgserver`` package, with its data under ``.data/postgres`` in the project (git-ignored),
so a fresh clone runs with zero set-up. The server keeps running after the process exits,
so later commands reuse it; ``make db-stop`` stops it.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_DATA_DIR = Path(os.environ.get("EMBEDDED_PG_DIR", BASE_DIR / ".data" / "postgres"))
EMBEDDED_DB_NAME = "dispatch"


def embedded_database_url() -> str:
    """Start (or reuse) the embedded server and return a URL for the project's database."""
    server = _embedded_server()
    query = f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DB_NAME}';"  # noqa: S608 - a constant
    exists = server.psql(query).strip()
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DB_NAME};")
    return server.get_uri(EMBEDDED_DB_NAME)


def _embedded_server():  # -> pgserver.PostgresServer
    # pgserver logs every start and exit at INFO, and platformdirs warns about an unset
    # XDG_RUNTIME_DIR on servers; neither says anything a user needs.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    EMBEDDED_DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    _stop_if_its_install_is_gone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only the embedded path needs it

        return pgserver.get_server(EMBEDDED_DATA_DIR, cleanup_mode=None)


def _stop_if_its_install_is_gone() -> None:
    """A server started from another install of pgserver (the virtualenv made again, say
    for a new Python) runs on files that are gone, its time zones among them ("invalid
    value for parameter TimeZone"): stop it, so that pgserver starts it from this one."""
    opts, pid = EMBEDDED_DATA_DIR / "postmaster.opts", EMBEDDED_DATA_DIR / "postmaster.pid"
    if not (opts.is_file() and pid.is_file()):
        return
    started_from = Path(opts.read_text().split('"')[0].strip() or "/")
    if started_from.exists():
        return
    from pgserver._commands import pg_ctl  # the same major version stops the old server

    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs it as that user as root
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=EMBEDDED_DATA_DIR, user=user, timeout=60)


def embedded_stop() -> None:
    """Stop the embedded server (`make db-stop`); its data stays for the next start."""
    from pgserver._commands import pg_ctl  # pgserver has no public "stop" for a kept server

    server = _embedded_server()
    pg_ctl(["-w", "stop"], pgdata=server.pgdata, user=server.system_user)


def url_of(settings_dict: dict) -> str:
    """A URL for a Django database settings dict (to hand the database to a subprocess)."""
    user, password = settings_dict["USER"], settings_dict.get("PASSWORD") or ""
    name, port = settings_dict["NAME"], settings_dict.get("PORT") or 5432
    host = settings_dict.get("HOST") or settings_dict.get("OPTIONS", {}).get("host", "")
    if host.startswith("/"):  # a unix socket (the embedded server)
        return f"postgresql://{user}:{password}@/{name}?host={host}"
    return f"postgresql://{user}:{password}@{host or '127.0.0.1'}:{port}/{name}"


def _local_postgres_listening(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def database_url(*, prefer_local_server: bool = False) -> str:
    """The URL to use: ``DATABASE_URL`` if set, else (for tests) a local server, else embedded.

    ``prefer_local_server`` is for the test run: a PostgreSQL already listening on
    127.0.0.1:5432 (trust auth, user ``postgres``) is used when present, since it is faster
    to start against; where none listens, the embedded server is used instead.
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    if os.environ.get("DISPATCH_DATABASE_FREE"):
        return "postgres://unused@127.0.0.1:1/unused"  # a command that never connects
    if prefer_local_server and _local_postgres_listening():
        return "postgres://postgres@127.0.0.1:5432/dispatch"
    return embedded_database_url()
