"""Webhooks' jobs (django-q2, run in one tenant's schema by tenants.tasks)."""

from __future__ import annotations

import datetime as dt

from tenants.tasks import every_tenant
from webhooks import services


def deliver(delivery_id: int) -> str:
    """Send one delivery (and schedule its retry when the receiver fails)."""
    return services.deliver(delivery_id)


# webhook retries that are due (and any first try whose job was lost)
@every_tenant("send due webhooks", "I", 1)
def deliveries_due(now: dt.datetime | None = None) -> int:
    return services.deliveries_due(now)
