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
#: about whether 06/12/YYYY is the 6th of December or the 12th of June.
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


def _ambiguous_day() -> dt.date:
    """A date about a year from today whose day could be a month too, and is not its month
    (the reader keeps no clock: the examples follow the calendar, not one year's)."""
    ahead = dt.date.today() + dt.timedelta(days=365)
    return ahead.replace(day=1 if ahead.month != 1 else 2)


DAY = _ambiguous_day()
YEAR = DAY.year
#: DAY as "dd/mm/yyyy", and the other date the same digits are, read month first
DMY = f"{DAY.day:02d}/{DAY.month:02d}/{YEAR}"
SWAPPED = dt.date(YEAR, DAY.day, DAY.month)


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
    assert DAY_FIRST.read(DMY) == DAY
    assert MONTH_FIRST.read(DMY) == SWAPPED
    assert date_reader(locale="en-us", country="GB").read(DMY) == SWAPPED
    # dots are written day first everywhere
    assert MONTH_FIRST.read(DMY.replace("/", ".")) == DAY


@given(day=dates, separator=st.sampled_from(["/", "-"]), zeros=st.booleans())
def test_a_year_first_locale_reads_day_and_month_in_numbers_only_when_the_numbers_decide(
    day, separator, zeros
):
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if zeros else (str(day.day), str(day.month))
    for text in (separator.join([d, m, str(day.year)]), separator.join([m, d, str(day.year)])):
        for reader in YEAR_FIRST:
            if day.day > 12 or day.day == day.month:
                assert reader.read(text) == day, text
            else:  # 06/12/YYYY in Sweden: the order needs a date, never a guessed one
                assert reader.read(text) is None, text


def test_a_swedish_store_s_day_and_month_in_numbers_are_not_guessed():
    swedish = date_reader(locale="sv", country="SE")
    assert swedish.read(DMY) is None
    assert swedish.read(DAY.isoformat()) == DAY
    assert swedish.read(DMY.replace("/", ".")) == DAY  # dots: day first everywhere
    assert swedish.read(f"{DAY.day} {DAY:%B} {YEAR}".lower()) == DAY


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


def test_a_written_weekday_that_is_not_the_dates_is_not_read():
    written = f"{DAY:%b} {DAY.day}, {YEAR}"
    assert DAY_FIRST.read(f"{DAY:%a}, {written}") == DAY
    for reader in READERS:
        assert reader.read(f"{DAY + dt.timedelta(days=1):%a}, {written}") is None


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
        f"{YEAR}/13/01",
        f"31/02/{YEAR}",
        f"{YEAR}-02-30",
        f"13/13/{YEAR}",
        DMY[:-4] + DMY[-2:],  # a two-digit year
        f"December {YEAR}",
        "December 6",
        f"6 6 {YEAR}",
        f"Dec 6, {YEAR}, Dec 7, {YEAR}",
        "0000-01-01",
        f"{DAY.isoformat()} and then",
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
