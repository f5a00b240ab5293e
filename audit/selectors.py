"""Reading the audit log."""

from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_events(*, action: str = "") -> QuerySet[AuditEvent]:
    """Newest first; only `action` when it names one (anything else: every event)."""
    events = AuditEvent.objects.all()
    if action in AuditEvent.Action.values:
        events = events.filter(action=action)
    return events
