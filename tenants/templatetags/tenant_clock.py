"""Times, days, distances and phone numbers on the business's pages as its locale writes
them (`tenants.services.formats`), in its time zone: `{{ stop.starts_at|clock }}` gives
"14:05" in Britain and "2:05 PM" in the United States, `{{ window|window_span }}` a booked
window {"start": "09:00", "end": "12:00"} likewise, `{{ event.at|stamp }}` "6 Dec 2026,
14:05", `{{ plan.date|day }}` "Sunday, 6 December 2026", `{{ route.distance_m|km }}`
"103.0 km", `{{ route.waiting_s|duration }}` "28 min", `{{ order.customer_phone|phone }}`
"020 7946 0958". Pages use these, never Django's `date`/`time` formats or raw units."""

from __future__ import annotations

import datetime as dt

from django import template

from tenants.selectors import current_tenant
from tenants.services.formats import Formats

register = template.Library()


def _formats() -> Formats:
    return Formats.of(current_tenant())


@register.filter
def clock(value: dt.datetime | dt.time | None, precision: str = "") -> str:
    """A time of day in the tenant's zone and format ("" for none); `clock:"seconds"`
    to the second."""
    return _formats().clock(value, seconds=precision == "seconds") if value else ""


@register.filter
def stamp(value: dt.datetime | None, precision: str = "") -> str:
    """An instant in a history, day and time ("" for none); `stamp:"seconds"` to the
    second."""
    return _formats().stamp(value, seconds=precision == "seconds") if value else ""


@register.filter
def day(value: dt.date | dt.datetime | None, style: str = "long") -> str:
    """A calendar day with its year: `day` long, `day:"short"` for tables, `day:"date"`
    day, month and year only ("" for none)."""
    return _formats().day(value, style=style or "long") if value else ""


@register.filter
def km(metres: float | None) -> str:
    """A distance in metres as people read it: "850 m", "103.0 km" ("" for none)."""
    return "" if metres is None or metres == "" else _formats().distance(float(metres))


@register.filter
def duration(seconds: float | None) -> str:
    """A length of time in seconds as people read it: "28 min", "2 h 05 min"."""
    return "" if seconds is None or seconds == "" else _formats().duration(float(seconds))


@register.filter
def phone(number: str | None) -> str:
    """A stored phone number as the tenant's country writes it ("" for none)."""
    return _formats().phone(number) if number else ""


@register.filter
def window_span(window: dict | None) -> str:
    """A booked window ({"start": "HH:MM", "end": "HH:MM"}) as "09:00-12:00" (with an en dash)."""
    return _formats().window(window) if window else ""
