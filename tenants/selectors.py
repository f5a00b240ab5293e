"""Read-only queries of the public tables."""

from django.db.models import QuerySet

from tenants.models import ApiKey, Tenant


def api_keys_of(*, tenant: Tenant) -> QuerySet[ApiKey]:
    """A tenant's keys, newest first; never another tenant's."""
    return ApiKey.objects.filter(tenant=tenant).order_by("-created_at")
