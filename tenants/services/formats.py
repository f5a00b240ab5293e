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
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, format_time

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

    @classmethod
    def of(cls, tenant) -> Formats:
        return cls(time_zone=tenant.time_zone, locale=tenant.locale, country=tenant.country)

    @property
    def language_tag(self) -> str:
        """The locale as browsers name it ("en-GB"), for `Intl.DateTimeFormat`."""
        return str(self.locale).replace("_", "-")

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.zone)

    def time(self, at: dt.datetime | dt.time) -> str:
        """A time of day: "14:05" (en_GB), "2:05 PM" (en_US)."""
        value = self.local(at).time() if isinstance(at, dt.datetime) else at
        return format_time(value, "short", locale=self.locale).translate(_PLAIN)

    def date(self, day: dt.date) -> str:
        """A day: "Tuesday 1 December" (en_GB), "Tue, Dec 1" (en_US)."""
        return format_skeleton("MMMMEEEEd", day, locale=self.locale).translate(_PLAIN)

    def span(self, start: dt.datetime | dt.time, end: dt.datetime | dt.time) -> str:
        """A window of time: "10:15-11:15" (a hyphen: a dash is not GSM-7)."""
        return f"{self.time(start)}-{self.time(end)}"
