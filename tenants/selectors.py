"""Read-only queries of the public tables."""

from django.db import connection
from django.db.models import QuerySet

from tenants.models import ApiKey, Tenant


def api_keys_of(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """A tenant's keys, newest first; never another tenant's."""
    return ApiKey.objects.filter(tenant=tenant).order_by("-created_at")


def current_tenant() -> Tenant:
    """The Tenant whose schema the connection is in, wherever the code runs.

    In a request django-tenants puts the Tenant on the connection; `schema_context` (tasks,
    commands) puts a stand-in without the tenant's fields (country, time zone), so those
    are read from the table.
    """
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant):
        return tenant
    return Tenant.objects.get(schema_name=connection.schema_name)
