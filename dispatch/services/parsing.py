"""Reading the dates, times and durations people and shops write, into the order input."""

from __future__ import annotations

import datetime as dt
import re

TIME_PATTERN = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)
NUMERIC_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
WINDOW_PATTERN = re.compile(r"^\s*(.+?)\s*(?:-|\u2013|\u2014|to|until)\s*(.+?)\s*$", re.IGNORECASE)
WRITTEN_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%A, %B %d, %Y")


def time_of_day(value: str) -> str:
    """'9', '9:30', '9am', '2:30 PM', '14h30' → 'HH:MM'. Anything else is returned as
    it came, for the order input schema to refuse with its own message."""
    match = TIME_PATTERN.match(value or "")
    if not match:
        return (value or "").strip()
    hour, minute, meridiem = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if meridiem:
        if not 1 <= hour <= 12:
            return value.strip()
        hour = hour % 12 + (12 if meridiem.lower().startswith("p") else 0)
    return f"{hour:02d}:{minute:02d}" if hour < 24 and minute < 60 else value.strip()


def time_window(value: str) -> dict[str, str] | None:
    """'09:00-12:00', '9 AM - 12 PM', '9am to 12pm' → {"start": "09:00", "end": "12:00"}."""
    match = WINDOW_PATTERN.match(value or "")
    if not match:
        return None
    return {"start": time_of_day(match.group(1)), "end": time_of_day(match.group(2))}


def calendar_date(value: str, *, month_first: bool = False) -> str:
    """ISO dates pass; 25/12/2026 (12/25/2026 where months come first) and 'December 25,
    2026' become ISO. Anything else is returned as it came."""
    value = (value or "").strip()
    match = NUMERIC_DATE.match(value)
    if match:
        first, second, year = (int(g) for g in match.groups())
        month, day = (first, second) if month_first else (second, first)
        try:
            return dt.date(year, month, day).isoformat()
        except ValueError:
            return value
    for pattern in WRITTEN_DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            continue
    return value


def minutes_as_seconds(value: str) -> int | None:
    """'4', '4.5' or '4,5' minutes → seconds (rounded); None for what is not a number
    of minutes ("abc", "nan", "inf")."""
    try:
        return round(float(value.strip().replace(",", ".")) * 60)
    except (ValueError, OverflowError):
        return None
