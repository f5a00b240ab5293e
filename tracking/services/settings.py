"""The tenant's promise and tracking-page settings (`TrackingSettings`, one row)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from tracking.models import TrackingSettings
from tracking.selectors import tracking_settings

#: The fields a settings form may change.
FIELDS = frozenset(f.name for f in TrackingSettings._meta.concrete_fields if f.name not in ("id",))


def tracking_settings_update(**values: Any) -> TrackingSettings:
    """Save the given fields (names in FIELDS); every invalid one is reported by name and
    nothing is saved."""
    unknown = set(values) - FIELDS
    if unknown:
        raise ValidationError({name: ["Not a tracking setting."] for name in sorted(unknown)})
    row = tracking_settings()
    for name, value in values.items():
        setattr(row, name, value)
    row.full_clean()
    row.save()
    return row
