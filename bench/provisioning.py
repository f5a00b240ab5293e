"""How long does it take to provision a tenant? Copying the template's DDL snapshot (ours)
vs django-tenants' clone_schema vs running every migration.

Runs in a scratch database (created and dropped here) on the same server the tests use.
Usage: make bench-provisioning   (N=20 by default; BENCH_TENANTS=50 for more)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_dispatch")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from tenants.services import provisioning as services  # noqa: E402

N = int(os.environ.get("BENCH_TENANTS", "20"))


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def by_migrations(schema: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE SCHEMA "{schema}"')
    call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def by_clone_schema(schema: str) -> None:
    from django_tenants.clone import CloneSchema

    CloneSchema().clone_schema(settings.TENANT_BASE_SCHEMA, schema, "DATA", set_connection=False)
    connection.set_schema_to_public()


def row(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return (
        f"| {label:<48} | {len(samples):>3} | {statistics.median(samples):>9.1f} "
        f"| {p90:>8.1f} | {ordered[0]:>8.1f} |"
    )


def main() -> None:
    # Production password hashing (the test settings use a fast hasher).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        services.public_tenant_ensure()
        template_ms = timed(services.template_schema_ensure)
        # Interleaved, so that each method meets the same catalogue size (every schema
        # created makes PostgreSQL's catalogue, and so the next creation, a little bigger).
        migrate, clone_schema, clone, full = [], [], [], []
        for i in range(N):
            migrate.append(timed(lambda i=i: by_migrations(f"bench_migrate_{i}")))
            clone_schema.append(timed(lambda i=i: by_clone_schema(f"bench_clone_schema_{i}")))
            clone.append(timed(lambda i=i: services.tenant_schema_create(f"bench_clone_{i}")))
            result = services.tenant_provision(
                name=f"Bench {i}",
                slug=f"bench-full-{i}",
                owner_email=f"owner{i}@bench.test",
                owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
                country="GB",
            )
            full.append(result.seconds * 1000)
    finally:
        connection.set_schema_to_public()
        teardown_databases(db_cfg, verbosity=0)

    print(f"\nTenant provisioning on {connection.vendor} ({N} tenants each; times in ms)\n")
    print(f"| {'method':<48} |   n | median ms |   p90 ms |   min ms |")
    print(f"|{'-' * 50}|-----|-----------|----------|----------|")
    print(row("schema by running every migration (peer)", migrate))
    print(row("schema by django-tenants' clone_schema (peer)", clone_schema))
    print(row("schema copied from the template snapshot (ours)", clone))
    print(row("full sign-up: clone + host + owner + API key", full))
    print(f"\nTemplate schema built once by migrations: {template_ms:.0f} ms")
    for label, peer in (("migrating", migrate), ("clone_schema", clone_schema)):
        speedup = statistics.median(peer) / statistics.median(clone)
        print(f"Copying is {speedup:.1f}x faster than {label}, median to median.")
    print(
        f"With {3 * N} schemas in the catalogue at the end: the last tenth's medians are "
        f"{statistics.median(clone_schema[-max(1, N // 10) :]):.0f} ms (clone_schema) and "
        f"{statistics.median(clone[-max(1, N // 10) :]):.0f} ms (ours)."
    )


if __name__ == "__main__":
    main()
