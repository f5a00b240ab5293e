"""The tenant's promise and tracking-page settings (`TrackingSettings`, one row)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from tracking.models import TrackingSettings
from tracking.selectors import tracking_settings

#: Changed only by tracking.services.brand.brand_update, which checks them (the logo's
#: file, the colours' contrast).
BRAND_ONLY = frozenset({"accent_colour", "logo", "logo_width", "logo_height"})
#: The fields a settings form may change.
FIELDS = frozenset(
    f.name
    for f in TrackingSettings._meta.concrete_fields
    if f.name not in ("id",) and f.name not in BRAND_ONLY
)


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
