"""A tenant's data, whole: exported as one zip file, or deleted completely (its schema,
its rows in the public schema, its files, its queued jobs). Both run from the owner's
settings page and from `manage.py tenant_export` / `tenant_delete`."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from typing import IO

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context, schema_exists

from audit.services import record
from tenants.models import Tenant

log = logging.getLogger(__name__)

#: Tenant apps that are bookkeeping, not the business's data (sign-in attempts by address).
NOT_DATA_APPS = {"axes"}
#: Never exported: credentials (a password hash, a store's secret, a webhook's signing key).
SECRET_FIELDS = {
    "accounts.User": {"password"},
    "dispatch.ShopifyIntegration": {"client_secret"},
    "webhooks.Subscription": {"secret"},
}
README = """Everything {name} kept on the dispatch platform, exported {at}.

data/<app>.<model>.jsonl   one JSON object per line (Django's serialization: model, pk, fields)
files/                     proof-of-delivery photos and signatures, by their storage names
tenant.json                the business, its host names and its API keys (names and
                           prefixes only; secrets are never stored, so never exported)
Passwords, a store's client secret and webhook signing secrets are left out.
"""


def _models():
    """The models of every tenant app of the project's own (new apps included as they come)."""
    for label in settings.TENANT_APPS:
        if not label.startswith("django.") and label not in NOT_DATA_APPS:
            yield from apps.get_app_config(label).get_models()


def _files(prefix: str):
    """Every storage name under `prefix` (local disk or S3)."""
    try:
        folders, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{prefix}/{name}"
    for folder in folders:
        yield from _files(f"{prefix}/{folder}")


def tenant_export(tenant: Tenant, out: IO[bytes]) -> dict[str, int]:
    """Write the tenant's zip to `out`; returns the number of rows per model and files."""
    counts: dict[str, int] = {}
    at = timezone.now()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README.format(name=tenant.name, at=at.isoformat()))
        public = {
            "name": tenant.name,
            "slug": tenant.slug,
            "country": tenant.country,
            "time_zone": tenant.time_zone,
            "locale": tenant.locale,
            "created_at": tenant.created_at.isoformat() if tenant.created_at else None,
            "domains": list(tenant.domains.values_list("domain", flat=True)),
            "api_keys": [
                {
                    "name": k.name,
                    "prefix": k.prefix,
                    "scope": k.scope,
                    "created_at": k.created_at.isoformat(),
                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                }
                for k in tenant.api_keys.all()
            ],
        }
        archive.writestr("tenant.json", json.dumps(public, indent=2))
        with schema_context(tenant.schema_name):
            for model in _models():
                label = model._meta.label
                hidden = SECRET_FIELDS.get(label, set())
                fields = [
                    f.name
                    for f in model._meta.concrete_fields
                    if not f.primary_key and f.name not in hidden
                ]
                counted = [0]

                def rows(model=model, counted=counted):
                    for obj in model.objects.order_by("pk").iterator(chunk_size=2000):
                        counted[0] += 1
                        yield obj

                with archive.open(f"data/{label.lower()}.jsonl", "w", force_zip64=True) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8")
                    serializers.serialize("jsonl", rows(), fields=fields, stream=text)
                    text.flush()
                    text.detach()
                counts[label] = counted[0]
            files = 0
            for name in _files(f"proofs/{tenant.schema_name}"):
                with (
                    default_storage.open(name, "rb") as source,
                    archive.open(f"files/{name}", "w", force_zip64=True) as target,
                ):
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
                files += 1
            counts["files"] = files

            record(
                "data.exported", target=tenant.slug, files=files, rows=sum(counts.values()) - files
            )
    return counts


def tenant_delete(tenant: Tenant) -> dict[str, int]:
    """Delete the tenant completely: its files, its queued and scheduled jobs, its schema
    (every table in it) and its rows in the public schema (host names, API keys, tracking
    links, the tenant). Returns what was removed."""
    from django_q.models import OrmQ, Schedule, Task

    if tenant.schema_name in ("public", "tenant_template"):
        raise ValueError("the platform's own schemas are not a tenant's to delete")
    schema = tenant.schema_name
    files = list(_files(f"proofs/{schema}"))
    prefix = f"{schema}:"
    connection.set_schema_to_public()
    # One transaction (PostgreSQL's DDL is transactional): a drop that fails leaves the
    # tenant whole, its scheduled jobs included. Jobs already in a Redis queue find no
    # schema when they run and do nothing (tenants.tasks.run_in_schema).
    with transaction.atomic():
        removed = {
            "scheduled": Schedule.objects.filter(name__startswith=prefix).delete()[0],
            "task_results": Task.objects.filter(name__startswith=prefix).delete()[0],
        }
        queued = [q.pk for q in OrmQ.objects.all() if (q.name() or "").startswith(prefix)]
        removed["queued"] = OrmQ.objects.filter(pk__in=queued).delete()[0]
        with connection.cursor() as cursor:
            # deferred foreign-key checks pending in this transaction would block the drop
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        tenant.delete(force_drop=True)  # django-tenants drops the schema (CASCADE)
        removed["schema"] = int(not schema_exists(schema))
    # the files once the rest is gone for good
    for name in files:
        default_storage.delete(name)
    removed["files"] = len(files)

    record("tenant.deleted", target=f"{tenant.name} ({tenant.slug})", **removed)  # public log
    log.warning("tenant %s deleted: %s", schema, removed)
    return removed
