"""Times on the business's pages as its locale writes them (`tenants.services.formats`):
`{{ stop.starts_at|clock }}` gives "14:05" in Britain and "2:05 PM" in the United States,
`{{ window|window_span }}` a booked window {"start": "09:00", "end": "12:00"} likewise."""

from __future__ import annotations

import datetime as dt

from django import template

from tenants.selectors import current_tenant
from tenants.services.formats import Formats

register = template.Library()


def _formats() -> Formats:
    return Formats.of(current_tenant())


@register.filter
def clock(value: dt.datetime | dt.time | None) -> str:
    """A time of day in the tenant's zone and format ("" for none)."""
    return _formats().time(value) if value else ""


@register.filter
def window_span(window: dict | None) -> str:
    """A booked window ({"start": "HH:MM", "end": "HH:MM"}) as "09:00-12:00" (with an en dash)."""
    if not window:
        return ""
    formats = _formats()
    start, end = (dt.time.fromisoformat(window[k]) for k in ("start", "end"))
    return f"{formats.time(start)}\u2013{formats.time(end)}"
