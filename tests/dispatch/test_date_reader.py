"""The one reader of delivery dates as stores and spreadsheets write them (Shopify note
attributes, CSV cells): every format it takes, read back under every kind of locale, and
no guessed day for what it cannot read."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.services.parsing import date_reader

DAY_FIRST = date_reader(locale="en", country="GB")
MONTH_FIRST = date_reader(locale="en", country="US")
GERMAN = date_reader(locale="de", country="DE")
READERS = [DAY_FIRST, MONTH_FIRST, GERMAN, date_reader(locale="fr", country="FR")]

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31))


def _english(day: dt.date, pattern: str) -> str:
    return day.strftime(pattern.replace("{d}", str(day.day)))


# Formats whose meaning does not depend on the locale.
UNAMBIGUOUS = {
    "iso": lambda d: d.isoformat(),
    "slashes, year first": lambda d: d.strftime("%Y/%m/%d"),
    "dots, year first": lambda d: d.strftime("%Y.%m.%d"),
    "digits only": lambda d: d.strftime("%Y%m%d"),
    "dots, day first": lambda d: d.strftime("%d.%m.%Y"),
    "dots, day first, no zeros": lambda d: f"{d.day}.{d.month}.{d.year}",
    "month day, year": lambda d: _english(d, "%B {d}, %Y"),
    "day month year": lambda d: _english(d, "{d} %b %Y"),
    "weekday, month day, year": lambda d: _english(d, "%a, %b {d}, %Y"),
    "long weekday": lambda d: _english(d, "%A, %B {d}, %Y"),
    "iso with a time": lambda d: f"{d.isoformat()}T10:30:00Z",
    "slashes with a time": lambda d: d.strftime("%Y/%m/%d 00:00:00"),
    "month name with a time": lambda d: _english(d, "%B {d}, %Y 2:30 PM"),
}


@given(day=dates, fmt=st.sampled_from(sorted(UNAMBIGUOUS)))
def test_every_locale_reads_the_unambiguous_formats_back(day, fmt):
    text = UNAMBIGUOUS[fmt](day)
    for reader in READERS:
        assert reader.read(text) == day, (fmt, text)


@given(day=dates, separator=st.sampled_from(["/", "-"]), zeros=st.booleans())
def test_day_and_month_in_numbers_are_read_as_the_locale_writes_them(day, separator, zeros):
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if zeros else (str(day.day), str(day.month))
    day_first = separator.join([d, m, str(day.year)])
    month_first = separator.join([m, d, str(day.year)])
    assert DAY_FIRST.read(day_first) == day
    assert GERMAN.read(day_first) == day
    assert MONTH_FIRST.read(month_first) == day
    if day.day > 12:  # unambiguous: read right whatever the locale
        for reader in READERS:
            assert reader.read(day_first) == day
            assert reader.read(month_first) == day


def test_an_ambiguous_day_goes_by_the_locale():
    assert DAY_FIRST.read("06/12/2026") == dt.date(2026, 12, 6)
    assert MONTH_FIRST.read("06/12/2026") == dt.date(2026, 6, 12)
    assert date_reader(locale="en-us", country="GB").read("06/12/2026") == dt.date(2026, 6, 12)
    # dots are written day first everywhere
    assert MONTH_FIRST.read("06.12.2026") == dt.date(2026, 12, 6)


@given(day=dates)
def test_month_names_of_the_tenants_language_are_read_too(day):
    assert GERMAN.read(f"{day.day}. {GERMAN_MONTHS[day.month - 1]} {day.year}") == day


GERMAN_MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "next tuesday",
        "asap",
        "2026/13/01",
        "31/02/2026",
        "2026-02-30",
        "13/13/2026",
        "06/12/26",
        "December 2026",
        "December 6",
        "6 6 2026",
        "Dec 6, 2026, Dec 7, 2026",
        "0000-01-01",
        "2026-12-06 and then",
        "1" * 5000,
    ],
)
def test_what_cannot_be_read_is_none_never_a_guess(text):
    for reader in READERS:
        assert reader.read(text) is None


@given(text=st.text(max_size=60))
def test_any_text_is_a_date_or_none_and_never_an_error(text):
    for reader in READERS:
        assert reader.read(text) is None or isinstance(reader.read(text), dt.date)
