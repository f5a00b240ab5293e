"""Reading the dates, times and durations people and shops write, into the order input."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale

from tenants.services.formats import babel_locale

TIME_PATTERN = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.IGNORECASE)
WINDOW_PATTERN = re.compile(r"^\s*(.+?)\s*(?:-|\u2013|\u2014|to|until)\s*(.+?)\s*$", re.IGNORECASE)


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


#: A time of day after a date ("2026-12-06T10:00:00Z", "06/12/2026 10:00 AM", "... 0:00"),
#: which says nothing about the day and is left out.
TIME_AFTER_DATE = re.compile(
    r"(?:T|\s+(?:at\s+|@\s*)?)\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?\s*(?:[ap]\.?m\.?)?"
    r"\s*(?:z|utc|gmt|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
#: Not core.json_types.ISO_DATE: the API takes YYYY-MM-DD only; a store writes 2026/12/6.
YEAR_FIRST = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})\.?$")
YEAR_LAST = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})$")
DIGITS_ONLY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
#: Words between the parts of a written date that say nothing ("the 6th of December").
FILLER_WORDS = frozenset({"the", "of"})
WORD_SEPARATORS = re.compile(r"[\s,]+")
#: The longest text read as a date: store apps write at most "Wednesday, September 30th, 2026".
MAX_DATE_TEXT = 100


def _names(locale: Locale, kind: str) -> dict[str, frozenset[int]]:
    """Month (or weekday) names of `locale`, wide and abbreviated, lower case, without
    dots ("dec", "december", "dez", "dezember"), with English's always included, each
    with the numbers it names (a weekday abbreviation may name two days in two languages)."""
    names: dict[str, set[int]] = {}
    for source in (Locale.parse("en"), locale):
        table = getattr(source, kind)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in table[context][width].items():
                    names.setdefault(name.lower().rstrip("."), set()).add(number)
    if kind == "months":
        names.setdefault("sept", {9})  # "Sept 6, 2026", as some apps abbreviate it
    return {name: frozenset(numbers) for name, numbers in names.items()}


def _months(locale: Locale) -> dict[str, int]:
    """Month names of `locale` (and English), each read as one month: English's first."""
    english = _names(Locale.parse("en"), "months")
    return {
        name: min(english.get(name) or numbers)
        for name, numbers in _names(locale, "months").items()
    }


@dataclass(frozen=True)
class DateReader:
    """Reads a delivery date as store apps and spreadsheets write it: ISO (2026-12-06),
    2026/12/06, 2026.12.06, 20261206, 06/12/2026 and 12/06/2026 (day or month first as
    the tenant's locale writes dates, unless the numbers decide it: 31/12/2026 is read
    either way; a locale that writes the year first reads only those), 06.12.2026 (always
    day first), and with the month named: "December 6, 2026", "6 Dec 2026", "Sun, Dec 6,
    2026" (a weekday written must be the date's), "6. Dezember 2026". A time after the
    date is left out. `read` answers None for anything else: the caller never guesses a
    day."""

    #: None: the locale writes the year first and says nothing about 06/12/2026.
    day_first: bool | None
    months: dict[str, int]
    #: Weekday names, each with the days it names (0 is Monday, as date.weekday()).
    weekdays: dict[str, frozenset[int]]

    def read(self, value: str) -> dt.date | None:
        text = (value or "").strip()[: MAX_DATE_TEXT + 1]
        if not text or len(text) > MAX_DATE_TEXT:
            return None
        text = TIME_AFTER_DATE.sub("", text).strip()
        try:
            if match := YEAR_FIRST.match(text) or DIGITS_ONLY.match(text):
                year, month, day = (int(g) for g in match.groups() if g.isdigit())
                return dt.date(year, month, day)
            if match := YEAR_LAST.match(text):
                return self._numeric(match)
            return self._named(text)
        except ValueError:  # the 31st of a 30-day month, month 13, year 0
            return None

    def _numeric(self, match: re.Match[str]) -> dt.date | None:
        first, separator, second, year = match.groups()
        first_n, second_n = int(first), int(second)
        day_first = True if separator == "." else self.day_first
        if first_n > 12 >= second_n or first_n == second_n:
            day_first = True
        elif second_n > 12 >= first_n:
            day_first = False
        if day_first is None:  # both could be the month, and the locale does not say
            return None
        day, month = (first_n, second_n) if day_first else (second_n, first_n)
        return dt.date(int(year), month, day)

    def _named(self, text: str) -> dt.date | None:
        words = [w.rstrip(".") for w in WORD_SEPARATORS.split(text.lower()) if w]
        year = month = day = None
        weekdays: list[frozenset[int]] = []
        for word in words:
            ordinal = ORDINAL.match(word)
            if word in self.months and month is None:  # "mar" is March before a mardi
                month = self.months[word]
            elif word in self.weekdays:
                weekdays.append(self.weekdays[word])
            elif word in FILLER_WORDS or not word:
                continue
            elif len(word) == 4 and word.isdigit() and year is None:
                year = int(word)
            elif ordinal and day is None:
                day = int(ordinal.group(1))
            else:
                return None
        if year is None or month is None or day is None:
            return None
        date = dt.date(year, month, day)
        if any(date.weekday() not in named for named in weekdays):
            return None  # "Mon, Dec 6, 2026" (a Sunday): which of the two was meant?
        return date


def reads_day_first(locale: Locale) -> bool | None:
    """Whether people of `locale` write the day before the month (dd/MM/y, d.M.y); None
    where they write the year first (y-MM-dd: sv, en_CA, ja, zh, hu, ko, lt …), whose
    order of the two says nothing about a date written with the year last."""
    pattern = locale.date_formats["short"].pattern
    year, day, month = (pattern.find(letter) for letter in "ydM")
    if 0 <= year < min(day, month):
        return None
    return day < month


@lru_cache(maxsize=256)
def date_reader(*, locale: str, country: str) -> DateReader:
    """The date reader of a tenant of `locale` (Tenant.locale) and `country`."""
    babel = babel_locale(locale, country)
    return DateReader(
        day_first=reads_day_first(babel),
        months=_months(babel),
        weekdays=_names(babel, "days"),
    )


def minutes_as_seconds(value: str) -> int | None:
    """'4', '4.5' or '4,5' minutes → seconds (rounded); None for what is not a number
    of minutes ("abc", "nan", "inf")."""
    try:
        return round(float(value.strip().replace(",", ".")) * 60)
    except (ValueError, OverflowError):
        return None
