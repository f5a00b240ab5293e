"""Tenant migrations at scale: provision BENCH_MIGRATION_TENANTS tenants (500 by default),
then time a whole upgrade of every schema three ways: django-tenants' `migrate_schemas`
with its standard executor (one schema after another) and with its multiprocessing
executor (MIGRATION_PROCESSES at once), and ours, `migrate_tenants` (what
`bin/dispatch migrate` runs): the multiprocessing executor over the schemas that are
behind the code only.

Two upgrades are timed, each with both executors:
- "nothing to apply": what every deploy pays, even with no new migration;
- "one migration": the newest notifications migration (two nullable columns) undone in
  every schema beforehand, then applied, as a release with one new migration does.

Runs in a scratch database (created and dropped here) on the server the tests use.
Usage: make bench-migrations (about an hour for 500 tenants on two cores)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_migrations")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from bench.docs import write_section  # noqa: E402
from tenants.services import provisioning as services  # noqa: E402

N = int(os.environ.get("BENCH_MIGRATION_TENANTS", "500"))
APP, LATEST = "notifications", "0005_etapromise_first_ends_at_etapromise_first_starts_at"


WAYS = {
    # label: (command, executor)
    "migrate_schemas, standard": ("migrate_schemas", "standard"),
    "migrate_schemas, multiprocessing": ("migrate_schemas", "multiprocessing"),
    "migrate_tenants (ours)": ("migrate_tenants", "multiprocessing"),
}


def migrate_tenants(command: str, executor: str, *target: str) -> float:
    """Seconds for a tenant migration command over the tenant schemas."""
    started = time.perf_counter()
    options = {"tenant": True} if command == "migrate_schemas" else {}
    call_command(command, *target, interactive=False, executor=executor, verbosity=0, **options)
    connection.set_schema_to_public()
    return time.perf_counter() - started


def release_undo() -> None:
    """Every tenant schema back to before the release's migration, in plain SQL (what
    unapplying it would do: its two columns dropped, its record deleted), so that the
    timed run has exactly that one migration to apply."""
    from tenants.models import Tenant

    with connection.cursor() as cursor:
        for schema in Tenant.objects.exclude(schema_name="public").values_list(
            "schema_name", flat=True
        ):
            q = connection.ops.quote_name(schema)
            cursor.execute(
                f"ALTER TABLE {q}.notifications_etapromise DROP COLUMN first_starts_at, "
                f"DROP COLUMN first_ends_at"
            )
            cursor.execute(
                f"DELETE FROM {q}.django_migrations WHERE app = %s AND name = %s",  # noqa: S608
                [APP, LATEST],
            )


def provision(count: int) -> list[float]:
    seconds = []
    for i in range(count):
        result = services.tenant_provision(
            name=f"Bench {i}",
            slug=f"bench-{i}",
            owner_email=f"owner{i}@bench.test",
            owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
            country="GB",
        )
        seconds.append(result.seconds)
        if (i + 1) % 50 == 0:
            print(f"  {i + 1} tenants provisioned", flush=True)
    return seconds


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    # Production password hashing (the test settings use a fast hasher).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    processes = settings.TENANT_MULTIPROCESSING_MAX_PROCESSES
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        services.public_tenant_ensure()
        services.template_schema_ensure()
        print(f"Provisioning {N} tenants…", flush=True)
        started = time.perf_counter()
        provisioning = provision(N)
        provisioning_total = time.perf_counter() - started
        timings: dict[tuple[str, str], float] = {}
        for way, (command, executor) in WAYS.items():
            print(f"Migrating {N} schemas, nothing to apply ({way})…", flush=True)
            timings[("nothing to apply", way)] = migrate_tenants(command, executor)
            release_undo()  # the release's migration undone everywhere, then applied again
            print(f"Migrating {N} schemas, one migration ({way})…", flush=True)
            timings[("one migration", way)] = migrate_tenants(command, executor)
        with connection.cursor() as cursor:  # every schema ends current
            cursor.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'bench_%%'"
                " AND EXISTS (SELECT 1 FROM information_schema.columns"
                " WHERE table_schema = nspname AND table_name = 'notifications_etapromise'"
                " AND column_name = 'first_starts_at')"
            )
            current = cursor.fetchone()[0]
    finally:
        connection.set_schema_to_public()
        teardown_databases(db_cfg, verbosity=0)

    first, last = provisioning[: max(1, N // 10)], provisioning[-max(1, N // 10) :]
    lines = [
        f"{N} tenants on {connection.vendor}, {os.cpu_count()} cores; "
        f"multiprocessing executor with MIGRATION_PROCESSES={processes}. "
        f"Every schema current afterwards: {current} of {N}.",
        "",
        "| provisioning one tenant (schema copy + host + owner + API key) | ms |",
        "|---|---:|",
        f"| median | {statistics.median(provisioning) * 1000:.0f} |",
        f"| p90 | {percentile(provisioning, 0.9) * 1000:.0f} |",
        f"| max | {max(provisioning) * 1000:.0f} |",
        f"| median of the first {len(first)} | {statistics.median(first) * 1000:.0f} |",
        f"| median of the last {len(last)} | {statistics.median(last) * 1000:.0f} |",
        f"| all {N}, one after another (s) | {provisioning_total:.1f} |",
        "",
        f"| upgrading all {N} tenant schemas (s) | " + " | ".join(WAYS) + " |",
        "|---|" + "---:|" * len(WAYS),
    ]
    for case in ("nothing to apply", "one migration"):
        cells = " | ".join(f"{timings[(case, way)]:.1f}" for way in WAYS)
        lines.append(f"| {case} | {cells} |")
    print("\n" + "\n".join(lines) + "\n")
    write_section(
        "migrations",
        lines,
        intro="## Tenant provisioning and migrations at scale\n\n"
        "`make bench-migrations` (bench/migrations.py).\n\n",
    )


if __name__ == "__main__":
    main()
