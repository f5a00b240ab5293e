"""The day's jobs (django-q2, run in one tenant's schema by tenants.tasks)."""

from __future__ import annotations

from tenants.tasks import every_tenant
from tracking.services import day


@every_tenant("purge old GPS history", "D")
def locations_purge() -> int:
    """Nightly: GPS history older than the tenant's retention setting goes."""
    return day.locations_purge()
