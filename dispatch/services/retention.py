"""Housekeeping of intake records that are only useful for a while."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from dispatch.models import IdempotencyRecord

IDEMPOTENCY_KEY_LIFETIME = dt.timedelta(hours=24)


def idempotency_records_purge(*, older_than: dt.timedelta = IDEMPOTENCY_KEY_LIFETIME) -> int:
    """Forget idempotency keys older than `older_than` (clients retry within minutes, not
    days); returns how many were removed. Runs in the current tenant schema."""
    deleted, _ = IdempotencyRecord.objects.filter(
        created_at__lt=timezone.now() - older_than
    ).delete()
    return deleted
