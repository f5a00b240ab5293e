"""Tenant provisioning, suspension and API keys: the only writers of the public tables."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context, schema_exists

from accounts.services import credential_errors
from audit.services import record
from tenants.models import ApiKey, Domain, Tenant
from tenants.services.schema_copy import UnsupportedTemplate, schema_copy

logger = logging.getLogger(__name__)

# Host labels nobody may sign up with: infrastructure names, and names that would
# confuse customers or collide with the schemas the platform uses itself.
RESERVED_SLUGS = frozenset(
    {
        "www",
        "public",
        "api",
        "admin",
        "app",
        "apps",
        "auth",
        "login",
        "signup",
        "static",
        "media",
        "assets",
        "cdn",
        "mail",
        "email",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "ns",
        "ns1",
        "ns2",
        "dns",
        "status",
        "health",
        "help",
        "support",
        "docs",
        "blog",
        "dashboard",
        "track",
        "tracking",
        "t",
        "ws",
        "wss",
        "dev",
        "test",
        "stage",
        "staging",
        "prod",
        "production",
        "demo-template",
        "tenant-template",
        "information-schema",
        "pg",
        "postgres",
        "root",
        "system",
        "operator",
        "billing",
        "security",
        "localhost",
    }
)
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
#: The whole text is the key (`fullmatch`: `$` alone would let a trailing newline through).
API_KEY_PATTERN = re.compile(r"dsp_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
API_KEY_TOUCH_INTERVAL = timedelta(minutes=1)


def schema_name_for_slug(slug: str) -> str:
    """Slugs use hyphens (host labels), schemas use underscores; slugs hold no underscore."""
    return slug.replace("-", "_")


def tenant_host(slug: str) -> str:
    return f"{slug}.{settings.TENANT_BASE_DOMAIN}"


def slug_validate(slug: str) -> None:
    """Raise ValidationError unless `slug` is well-formed, not reserved and not taken."""
    if not SLUG_PATTERN.match(slug):
        raise ValidationError(
            gettext(
                "Use 3 to 40 lower-case letters, digits and hyphens, starting with a letter "
                "and not ending with a hyphen."
            ),
            code="invalid",
        )
    if slug in RESERVED_SLUGS or slug.startswith("pg-") or "--" in slug:
        raise ValidationError(gettext("This name is reserved."), code="reserved")
    schema = schema_name_for_slug(slug)
    if (
        Tenant.objects.filter(slug=slug).exists()
        or Domain.objects.filter(domain=tenant_host(slug)).exists()
        or schema == settings.TENANT_BASE_SCHEMA
        or schema_exists(schema)
    ):
        raise ValidationError(gettext("This name is already taken."), code="taken")


@cache
def _latest_migrations() -> frozenset[tuple[str, str]]:
    """The leaf migration of every app, read from disk once per process."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())


def schema_is_current(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT app, name FROM {connection.ops.quote_name(schema)}.django_migrations"  # noqa: S608
        )
        applied = set(cursor.fetchall())
    return _latest_migrations() <= applied


def template_schema_ensure(*, verbosity: int = 0) -> bool:
    """Create or migrate the template schema new tenants are cloned from.

    Returns True if anything had to be migrated. Run after every deploy's migrations
    (`manage.py migrate_platform` does), so provisioning can clone a current schema.
    """
    template = settings.TENANT_BASE_SCHEMA
    if schema_exists(template) and schema_is_current(template):
        return False
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(template)}")
    call_command("migrate_schemas", schema_name=template, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()
    return True


def tenant_schema_create(schema: str) -> None:
    """Create a tenant's schema: a copy of the template, or by migrations when there is none.

    Copying runs the template's DDL snapshot and copies its rows (migration records,
    content types, permissions) in one round trip (tenants/services/schema_copy.py), so its cost
    grows neither with the number of migrations, as migrating does, nor with the number of
    tenants, as django-tenants' `clone_schema` does (`make bench-provisioning` compares the
    three). A template that lags behind the code is caught up by migrating the new schema.
    """
    template = settings.TENANT_BASE_SCHEMA
    connection.set_schema_to_public()
    if schema_exists(template):
        try:
            schema_copy(template, schema)
        except UnsupportedTemplate as exc:  # django-tenants' slower, general clone
            logger.warning("copying %s by clone_schema: %s", template, exc)
            CloneSchema().clone_schema(template, schema, "DATA", set_connection=False)
            # The clone function sets search_path itself: make django-tenants set it again.
            connection.set_schema_to_public()
        if schema_is_current(schema):
            return
        logger.warning("template schema %s is behind the code; migrating %s", template, schema)
    else:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {connection.ops.quote_name(schema)}")
    call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def public_tenant_ensure() -> Tenant:
    """The row that routes PUBLIC_HOST to the public schema (sign-up, admin). Idempotent."""
    tenant, _ = Tenant.objects.get_or_create(
        schema_name="public", defaults={"name": "Platform", "slug": "public", "country": ""}
    )
    Domain.objects.get_or_create(
        domain=settings.PUBLIC_HOST, defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant


@dataclass(frozen=True)
class ProvisionedTenant:
    tenant: Tenant
    domain: Domain
    owner_email: str
    api_key: ApiKey | None
    api_key_secret: str | None
    seconds: float


def tenant_provision(
    *,
    name: str,
    slug: str,
    owner_email: str,
    owner_password: str,
    owner_name: str = "",
    time_zone: str = "UTC",
    country: str,
    locale: str = "en",
    create_api_key: bool = True,
) -> ProvisionedTenant:
    """Create a tenant with its schema, host, owner login and (optionally) first API key.

    Everything happens in one transaction (PostgreSQL DDL is transactional), so a failure
    at any step leaves nothing behind: no row, no schema, no host.
    """
    started = time.perf_counter()
    connection.set_schema_to_public()  # tenant rows live in public, whatever ran before
    owner_email = owner_email.strip().lower()
    tenant = Tenant(
        name=name.strip(),
        slug=slug,
        schema_name=schema_name_for_slug(slug),
        time_zone=time_zone,
        country=country.upper(),
        locale=locale,
    )
    errors: dict[str, list[str]] = {}
    try:
        slug_validate(slug)
    except ValidationError as exc:
        errors["slug"] = list(exc.messages)
    try:
        tenant.full_clean(exclude=["slug", "schema_name"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    owner_errors = credential_errors(email=owner_email, password=owner_password, name=owner_name)
    errors.update({f"owner_{field}": messages for field, messages in owner_errors.items()})
    if errors:
        raise ValidationError(errors)

    try:
        with transaction.atomic():
            tenant.save()
            domain = Domain.objects.create(domain=tenant_host(slug), tenant=tenant, is_primary=True)
            tenant_schema_create(tenant.schema_name)
            with schema_context(tenant.schema_name):
                get_user_model().objects.create_user(
                    owner_email, owner_password, name=owner_name, role="owner"
                )
            api_key, secret = (
                api_key_create(tenant=tenant, name="First key", created_by_email=owner_email)
                if create_api_key
                else (None, None)
            )
    except (IntegrityError, ValidationError) as exc:
        # Lost a race with a concurrent sign-up for the same name (the clone refuses an
        # existing schema with a ValidationError, the tables with an IntegrityError).
        connection.set_schema_to_public()
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            raise
        raise ValidationError({"slug": [gettext("This name is already taken.")]}) from exc
    return ProvisionedTenant(
        tenant=tenant,
        domain=domain,
        owner_email=owner_email,
        api_key=api_key,
        api_key_secret=secret,
        seconds=time.perf_counter() - started,
    )


def tenant_set_status(*, tenant: Tenant, status: str, reason: str = "") -> Tenant:
    """Suspend or re-activate a tenant. A suspended tenant's hosts answer 403."""
    if status not in Tenant.Status.values:
        raise ValidationError({"status": [f"'{status}' is not a valid status."]})
    tenant.status = status
    tenant.suspended_reason = reason if status == Tenant.Status.SUSPENDED else ""
    tenant.save(update_fields=["status", "suspended_reason"])
    return tenant


def tenant_settings_update(
    *,
    tenant: Tenant,
    name: str,
    time_zone: str,
    country: str,
    locale: str,
    location_retention_days: int | None = None,
) -> Tenant:
    """Change what the owner may change of their tenant; nothing is saved if any field is bad."""
    tenant.name, tenant.time_zone = name.strip(), time_zone
    tenant.country, tenant.locale = country.strip().upper(), locale.strip().lower()
    if location_retention_days is not None:
        tenant.location_retention_days = location_retention_days
    try:
        tenant.full_clean(exclude=["slug", "schema_name"])
    except ValidationError:
        tenant.refresh_from_db()
        raise
    tenant.save(update_fields=["name", "time_zone", "country", "locale", "location_retention_days"])
    _audit(
        tenant,
        "settings.changed",
        target="account settings",
        location_retention_days=tenant.location_retention_days,
    )
    return tenant


def tenant_dispatch_update(
    *, tenant: Tenant, auto_dispatch: bool, auto_plan_at: dt.time | None
) -> Tenant:
    """Whether today's new orders are put on the published routes at once, and the local
    time (or None) at which tomorrow is planned and published each day."""
    if auto_plan_at is not None and (auto_plan_at.second or auto_plan_at.microsecond):
        raise ValidationError({"auto_plan_at": gettext("Give the time in hours and minutes.")})
    tenant.auto_dispatch, tenant.auto_plan_at = bool(auto_dispatch), auto_plan_at
    tenant.save(update_fields=["auto_dispatch", "auto_plan_at"])
    _audit(
        tenant,
        "settings.changed",
        target="dispatch settings",
        auto_dispatch=tenant.auto_dispatch,
        auto_plan_at=auto_plan_at.strftime("%H:%M") if auto_plan_at else None,
    )
    return tenant


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(
    *, tenant: Tenant, name: str, scope: str = ApiKey.Scope.READ_WRITE, created_by_email: str = ""
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret, which is never stored and never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError(
            {"name": [gettext("Give the key a name, such as the store it is for.")]}
        )
    if scope not in ApiKey.Scope.values:
        choices = ", ".join(ApiKey.Scope.values)
        raise ValidationError(
            {"scope": [gettext("Choose one of: %(choices)s.") % {"choices": choices}]}
        )
    prefix = secrets.token_hex(6)
    raw = f"dsp_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        tenant=tenant,
        name=name[:100],
        prefix=prefix,
        secret_sha256=_digest(raw),
        scope=scope,
        created_by_email=created_by_email,
    )
    _audit(tenant, "api_key.created", target=f"{key.name} ({prefix})", scope=scope)
    return key, raw


def _audit(tenant: Tenant, action: str, **fields) -> None:
    """Record `action` in `tenant`'s own audit log (whatever schema the caller is in)."""

    with schema_context(tenant.schema_name):
        record(action, **fields)


def api_key_revoke(*, tenant: Tenant, key_id: int) -> ApiKey:
    """Revoke one of `tenant`'s keys; revoking twice is harmless."""
    key = ApiKey.objects.get(tenant=tenant, pk=key_id)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _audit(tenant, "api_key.revoked", target=f"{key.name} ({key.prefix})")
    return key


def api_key_authenticate(*, raw_key: str, tenant: Tenant) -> ApiKey | None:
    """The active key of `tenant` that `raw_key` is, or None.

    A key of another tenant is refused like an unknown one. The digest is compared in
    constant time; `last_used_at` is written at most once a minute per key.
    """
    match = API_KEY_PATTERN.fullmatch(raw_key)
    if not match:
        return None
    key = ApiKey.objects.filter(prefix=match.group(1)).select_related("tenant").first()
    if key is None or not hmac.compare_digest(key.secret_sha256, _digest(raw_key)):
        return None
    if key.tenant_id != tenant.pk or not key.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > API_KEY_TOUCH_INTERVAL:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
