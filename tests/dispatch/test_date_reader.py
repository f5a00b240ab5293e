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
#: Locales that write the year first (y-MM-dd, y/MM/dd, y. MM. dd.): they say nothing
#: about whether 06/12/2026 is the 6th of December or the 12th of June.
YEAR_FIRST = [
    date_reader(locale=locale, country=country)
    for locale, country in [
        ("sv", "SE"),
        ("en", "CA"),
        ("ja", "JP"),
        ("zh", "CN"),
        ("hu", "HU"),
        ("ko", "KR"),
        ("lt", "LT"),
    ]
]
READERS = [DAY_FIRST, MONTH_FIRST, GERMAN, date_reader(locale="fr", country="FR"), *YEAR_FIRST]

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


@given(day=dates, separator=st.sampled_from(["/", "-"]), zeros=st.booleans())
def test_a_year_first_locale_reads_day_and_month_in_numbers_only_when_the_numbers_decide(
    day, separator, zeros
):
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if zeros else (str(day.day), str(day.month))
    for text in (separator.join([d, m, str(day.year)]), separator.join([m, d, str(day.year)])):
        for reader in YEAR_FIRST:
            if day.day > 12 or day.day == day.month:
                assert reader.read(text) == day, text
            else:  # 06/12/2026 in Sweden: the order needs a date, never a guessed one
                assert reader.read(text) is None, text


def test_a_swedish_store_s_06_12_2026_is_not_read_as_june_12():
    swedish = date_reader(locale="sv", country="SE")
    assert swedish.read("06/12/2026") is None
    assert swedish.read("2026-12-06") == dt.date(2026, 12, 6)
    assert swedish.read("06.12.2026") == dt.date(2026, 12, 6)  # dots: day first everywhere
    assert swedish.read("6 december 2026") == dt.date(2026, 12, 6)


@given(day=dates, off_by=st.integers(min_value=1, max_value=6), long=st.booleans())
def test_a_date_whose_weekday_is_not_its_own_is_not_read(day, off_by, long):
    wrong = day + dt.timedelta(days=off_by)
    weekday = wrong.strftime("%A" if long else "%a")
    text = f"{weekday}, {day:%B} {day.day}, {day.year}"
    for reader in READERS:
        assert reader.read(text) is None, text
    german = f"{day.day}. {GERMAN_MONTHS[day.month - 1]} {day.year}"
    assert GERMAN.read(f"{GERMAN_WEEKDAYS[day.weekday()]}, {german}") == day
    assert GERMAN.read(f"{GERMAN_WEEKDAYS[wrong.weekday()]}, {german}") is None


def test_mon_dec_6_2026_is_not_read_dec_6_2026_being_a_sunday():
    assert DAY_FIRST.read("Sun, Dec 6, 2026") == dt.date(2026, 12, 6)
    for reader in READERS:
        assert reader.read("Mon, Dec 6, 2026") is None


GERMAN_WEEKDAYS = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
]


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
