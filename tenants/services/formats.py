"""Times and dates as the tenant's customers read them: in the tenant's time zone and in
the tenant's locale's own format (CLDR data through Babel): "14:05" for a business in
Britain, "2:05 PM" for one in the United States.

Every text a customer reads about when their order comes (SMS, email, tracking page,
socket messages) is written with these, so that the same instant reads the same on all
of them. Texts stay within GSM-7 (plain spaces, hyphens), so an SMS is not split for a
narrow no-break space that CLDR puts before "PM".
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time, match_skeleton
from babel.numbers import format_decimal
from django.utils import translation

#: Between a number and its unit on a page, so that "103.0 km" never breaks in two.
NBSP = "\u00a0"

#: Characters CLDR formats use that an SMS cannot carry in GSM-7, and their stand-ins.
_PLAIN = str.maketrans({"\u202f": " ", "\u00a0": " ", "\u2009": " ", "\u2013": "-"})


@lru_cache(maxsize=256)
def babel_locale(locale: str, country: str) -> Locale:
    """The CLDR locale for a tenant's language (`en`, `en-gb`, `de`) and country (`GB`):
    the language as spoken in the country when CLDR knows it ("en" in GB: en_GB), else
    the language as given, else British English."""
    language, _, region = (locale or "en").replace("-", "_").partition("_")
    tries = [f"{language}_{region.upper()}"] if region else []
    tries += [f"{language}_{country.upper()}"] if country else []
    tries += [language, "en_GB"]
    for name in tries:
        try:
            return Locale.parse(name)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en_GB")


class Formats:
    """One tenant's way of writing times: `Formats.of(tenant)`."""

    def __init__(self, *, time_zone: str, locale: str, country: str) -> None:
        self.zone = ZoneInfo(time_zone)
        self.locale = babel_locale(locale, country)
        self.country = (country or "").upper()
        self._short: dict[tuple[int, int], str] = {}  # (hour, minute) → "14:05"

    @classmethod
    def of(cls, tenant) -> Formats:
        """The tenant's formats (one shared object per zone, locale and country: a page
        of a thousand times asks for it a thousand times)."""
        return _formats_for(tenant.time_zone, tenant.locale, tenant.country)

    @property
    def language_tag(self) -> str:
        """The locale as browsers name it ("en-GB"), for `Intl.DateTimeFormat`."""
        return str(self.locale).replace("_", "-")

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.zone)

    def time(self, at: dt.datetime | dt.time) -> str:
        """A time of day: "14:05" (en_GB), "2:05 PM" (en_US)."""
        value = self.local(at).time() if isinstance(at, dt.datetime) else at
        key = (value.hour, value.minute)
        text = self._short.get(key)
        if text is None:  # CLDR's short times have no seconds: 1,440 of them at most
            text = format_time(value, "short", locale=self.locale).translate(_PLAIN)
            self._short[key] = text
        return text

    def words(self) -> Locale:
        """The locale of the words in a date (weekday and month names): the active
        language (an order's, a user's: core.i18n), as spoken in the tenant's country when
        CLDR knows that; the tenant's own locale when it is that language. Times and
        numbers keep the tenant's locale ("14:05" in Britain whatever the language)."""
        active = translation.get_language()
        if not active or active.split("-")[0] == self.locale.language:
            return self.locale
        return babel_locale(active, self.country)

    def date(self, day: dt.date) -> str:
        """A day: "Tuesday 1 December" (en_GB), "Tue, Dec 1" (en_US); in Finnish (the
        active language) "tiistai 1. joulukuuta"."""
        words = self.words()
        if words is self.locale:
            return format_skeleton("MMMMEEEEd", day, locale=self.locale).translate(_PLAIN)
        return format_date(day, _full_weekday(words, "MMMMEEEEd"), locale=words).translate(_PLAIN)

    def span(self, start: dt.datetime | dt.time, end: dt.datetime | dt.time) -> str:
        """A window of time: "10:15-11:15" (a hyphen: a dash is not GSM-7)."""
        return f"{self.time(start)}-{self.time(end)}"

    # --- the dashboard's pages: the same locale, with units and the year -------------

    def clock(self, at: dt.datetime | dt.time, *, seconds: bool = False) -> str:
        """A time of day for a page, to the second when asked ("14:05:09", "2:05:09 PM")."""
        if not seconds:
            return self.time(at)
        value = self.local(at).time() if isinstance(at, dt.datetime) else at
        return format_time(value, "medium", locale=self.locale).translate(_PLAIN)

    def day(self, day: dt.date | dt.datetime, *, style: str = "long") -> str:
        """A calendar day with its year: "Sunday, 6 December 2026" ("long"), "Sun, 6 Dec
        2026" ("short", for tables), "6 Dec 2026" ("date"); a datetime's day in the zone."""
        if isinstance(day, dt.datetime):
            day = self.local(day).date()
        words = self.words()
        if style == "long":
            return format_date(day, "full", locale=words)
        skeleton = "yMMMEd" if style == "short" else "yMMMd"
        return format_skeleton(skeleton, day, locale=words)

    def stamp(self, at: dt.datetime, *, seconds: bool = False) -> str:
        """An instant in a history: "6 Dec 2026, 14:05" (en_GB), "Dec 6, 2026, 2:05 PM"."""
        return f"{self.day(at, style='date')}, {self.clock(at, seconds=seconds)}"

    def number(self, value: float, places: int = 0) -> str:
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return format_decimal(value, pattern, locale=self.locale)

    def distance(self, metres: float) -> str:
        """A distance people read: "850 m" under a kilometre, else "103.0 km"."""
        if abs(metres) < 999.5:
            return f"{self.number(round(metres))}{NBSP}m"
        return f"{self.number(metres / 1000, 1)}{NBSP}km"

    def window(self, window: dict) -> str:
        """A booked window ({"start": "HH:MM", "end": "HH:MM"}) for a page: "09:00-12:00"
        (with an en dash)."""
        start, end = (dt.time.fromisoformat(window[k]) for k in ("start", "end"))
        return f"{self.time(start)}\u2013{self.time(end)}"

    def duration(self, seconds: float) -> str:
        """A length of time people read, to the minute: "28 min", "2 h 05 min", "3 h";
        under half a minute, "under 1 min" (never "1712 s")."""
        minutes = round(seconds / 60)
        if minutes == 0:
            return "0" + NBSP + "min" if seconds <= 0 else f"under 1{NBSP}min"
        hours, minutes = divmod(minutes, 60)
        if not hours:
            return f"{minutes}{NBSP}min"
        return f"{hours}{NBSP}h" + (f" {minutes:02d}{NBSP}min" if minutes else "")

    def phone(self, number: str) -> str:
        """A stored (E.164) number as the business's country writes it: nationally for
        its own numbers ("020 7946 0958" in GB), internationally for others'; as stored
        when it does not parse. No-break spaces: a number never wraps in two."""
        try:
            parsed = phonenumbers.parse(number, self.country or None)
        except phonenumbers.NumberParseException:
            return number
        own = parsed.country_code == phonenumbers.country_code_for_region(self.country)
        style = (
            phonenumbers.PhoneNumberFormat.NATIONAL
            if own
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return phonenumbers.format_number(parsed, style).replace(" ", NBSP)


@lru_cache(maxsize=64)
def _full_weekday(locale: Locale, skeleton: str) -> str:
    """The locale's pattern closest to `skeleton`, with weekday and month in full: CLDR
    has no "weekday, day and month" pattern in every language (Finnish has "ccc d. MMMM",
    which reads "ti 1. joulukuuta"), and Babel does not widen the field it matched."""
    key = match_skeleton(skeleton, locale.datetime_skeletons)
    pattern = str(locale.datetime_skeletons[key].pattern) if key else "EEEE d MMMM"
    parts = pattern.split("'")  # odd parts are quoted literals
    for i in range(0, len(parts), 2):
        text = re.sub(r"E{1,4}", "EEEE", parts[i])
        text = re.sub(r"c{1,4}", "cccc", text)
        parts[i] = re.sub(r"(?<![ML])([ML])\1\1(?![ML])", r"\1\1\1\1", text)  # "déc." → "décembre"
    return "'".join(parts)


@lru_cache(maxsize=256)
def _formats_for(time_zone: str, locale: str, country: str) -> Formats:
    return Formats(time_zone=time_zone, locale=locale, country=country)
