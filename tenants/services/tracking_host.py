"""A business's own host for its customers' tracking pages (track.florist.example): a
`Domain` of the tenant marked `is_tracking_host`, at most one per tenant. Tracking links in
its messages and on its order pages then point there; the platform's link keeps working.

The host must be a proper DNS name (letters, digits and hyphens, dots between labels, no
IP address), not on the platform's own domains (PUBLIC_HOST, TENANT_BASE_DOMAIN), and not a
host any tenant (this one included) already has.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from tenants.models import Domain, Tenant

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def host_normal(value: str) -> str:
    """The host as stored: trimmed, lower case, no trailing dot, IDN as punycode."""
    host = (value or "").strip().lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        return host  # refused by host_problem as not a host name


def host_problem(host: str) -> str | None:
    """Why `host` (normalised) cannot be a tracking host, apart from who has it."""
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        return _("Enter a host name such as track.your-shop.com (no https://, no path).")
    for own in {settings.PUBLIC_HOST.split(":")[0], settings.TENANT_BASE_DOMAIN.split(":")[0]}:
        if own and (host == own or host.endswith(f".{own}")):
            return _("That is one of this platform's own hosts: use a host on your own domain.")
    return None


def tracking_host_of(tenant: Tenant) -> str:
    """The tenant's own tracking host ("" without one)."""
    domain = Domain.objects.filter(tenant=tenant, is_tracking_host=True).first()
    return domain.domain if domain is not None else ""


def tracking_base_url(schema: str | None = None) -> str:
    """Where the tracking links of the tenant of `schema` (default: the connection's)
    start: its own host over https when the deployment serves such hosts
    (TRACKING_CUSTOM_HOSTS), else the platform's PUBLIC_BASE_URL (the database is not
    asked then)."""
    if not settings.TRACKING_CUSTOM_HOSTS:
        return settings.PUBLIC_BASE_URL
    domain = Domain.objects.filter(
        tenant__schema_name=schema or connection.schema_name, is_tracking_host=True
    ).first()
    return f"https://{domain.domain}" if domain is not None else settings.PUBLIC_BASE_URL


@transaction.atomic
def tracking_host_set(*, tenant: Tenant, host: str) -> Domain | None:
    """Make `host` the tenant's tracking host (empty: none, back to the platform's links).
    Raises a ValidationError on `tracking_host`; setting the same host again is harmless."""
    host = host_normal(host)
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()  # one change at a time
    current = Domain.objects.filter(tenant=tenant, is_tracking_host=True).first()
    if current is not None and current.domain == host:
        return current
    if host:
        problem = host_problem(host)
        if problem is None and Domain.objects.filter(domain=host).exists():
            problem = _("That host is already in use.")
        if problem is not None:
            raise ValidationError({"tracking_host": [problem]})
    if current is not None:
        current.delete()
    if not host:
        return None
    try:
        with transaction.atomic():  # another tenant taking it at the same moment
            return Domain.objects.create(
                domain=host, tenant=tenant, is_primary=False, is_tracking_host=True
            )
    except IntegrityError:
        raise ValidationError({"tracking_host": [_("That host is already in use.")]}) from None


def tracking_host_schema(host: str) -> str | None:
    """The schema of the business whose own tracking host `host` is (None: it is not
    one); a tracking link of another business is not served there."""
    domain = (
        Domain.objects.filter(domain=host_normal(host), is_tracking_host=True)
        .select_related("tenant")
        .first()
    )
    return domain.tenant.schema_name if domain is not None else None
