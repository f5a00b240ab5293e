"""Reading recurring schedules: their rule (RFC 5545 RRULE, read by dateutil, checked
for what a schedule of days can use), their days, exceptions and the orders made.

Days are the tenant's calendar days. A rule is expanded from `starts_on` at local
midnight as a *naive* datetime, deliberately: a schedule is a list of days and the
clock's hour never enters, so a change of UTC offset (daylight saving) cannot move an
occurrence to another day, and the template's time windows stay local times on that day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule
from django.core.exceptions import ValidationError
from django.db.models import DateField, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Value
from django.utils import timezone

from dispatch.models import RecurrenceException, RecurringOccurrence, RecurringOrder
from tenants.selectors import current_tenant

Errors = dict[str, list[str]]

MAX_INTERVAL = 366
#: A rule is walked from its first day: a start centuries back would cost seconds a read
#: (a form's live preview included), so a schedule starts from this day...
EARLIEST_START = dt.date(2000, 1, 1)
#: ...to this many days from today.
LATEST_START_DAYS = 366 * 10
MAX_COUNT = 5000
#: A rule must give a day within this many years of its start (and a rule that never
#: gives one is found out in bounded time: see `_first_day`).
WITHIN_YEARS = 10
KNOWN_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYSETPOS",
    "WKST",
}
DAY_FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
UNTIL_PATTERN = re.compile(r"(\d{8})(T\d{6}(Z?))?")
WEEKDAYS = [
    ("MO", "Mon"),
    ("TU", "Tue"),
    ("WE", "Wed"),
    ("TH", "Thu"),
    ("FR", "Fri"),
    ("SA", "Sat"),
    ("SU", "Sun"),
]


# --- the rule --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recurrence:
    """A checked rule from its first day: the days it gives, as local dates."""

    rule: str  # normalised: upper case, without "RRULE:", UNTIL as a date
    starts_on: dt.date
    ends_on: dt.date | None
    _rrule: rrule.rrule = field(repr=False, compare=False)

    def days_between(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """The rule's days from `start` to `end`, both included."""
        start = max(start, self.starts_on)
        if self.ends_on:
            end = min(end, self.ends_on)
        if end < start:
            return []
        found = self._rrule.between(_midnight(start), _midnight(end), inc=True)
        return [moment.date() for moment in found]

    def days_from(self, start: dt.date, count: int) -> list[dt.date]:
        """The first `count` days of the rule from `start` (included)."""
        days = []
        for moment in self._rrule.xafter(_midnight(max(start, self.starts_on)), inc=True):
            if (self.ends_on and moment.date() > self.ends_on) or len(days) >= count:
                break
            days.append(moment.date())
        return days

    def is_day(self, day: dt.date) -> bool:
        return bool(self.days_between(day, day))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def starts_on_check(starts_on: dt.date, *, today: dt.date) -> list[str]:
    """The first day's errors: a day from EARLIEST_START to ten years from `today`."""
    if EARLIEST_START <= starts_on <= today + dt.timedelta(days=LATEST_START_DAYS):
        return []
    return [f"Choose a day from {EARLIEST_START} to ten years from now."]


def rule_check(
    rule: Any, *, starts_on: dt.date, ends_on: dt.date | None, zone: ZoneInfo | None = None
) -> tuple[Recurrence | None, Errors]:
    """Read an RRULE (without DTSTART) counted from `starts_on`: the recurrence, or field
    errors under "rule" (and "ends_on") in the dispatcher's words."""

    def refused(message: str) -> tuple[None, Errors]:
        return None, {"rule": [message]}

    if not isinstance(rule, str) or not rule.strip():
        return refused("Write a rule, e.g. FREQ=WEEKLY;BYDAY=MO,TH.")
    text = rule.strip().upper()
    text = text.removeprefix("RRULE:")
    if "DTSTART" in text:
        return refused("Leave DTSTART out: the schedule's start date is where it counts from.")
    if "\n" in text or "\r" in text or ":" in text:
        return refused(
            "One RRULE only (no DTSTART, EXDATE or RDATE lines): skip or move "
            "a day with an exception."
        )
    parts: dict[str, str] = {}
    for piece in filter(None, text.split(";")):
        name, sep, value = piece.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not value:
            return refused(f"'{piece}' is not NAME=VALUE.")
        if name not in KNOWN_PARTS:
            hint = " (times go in the order's time windows)" if name.startswith("BY") else ""
            return refused(f"'{name}' is not a part a schedule of days can use{hint}.")
        if name in parts:
            return refused(f"{name} is there twice.")
        parts[name] = value
    freq = parts.get("FREQ")
    if freq is None:
        return refused("Say how often: FREQ=DAILY, WEEKLY, MONTHLY or YEARLY.")
    if freq in {"HOURLY", "MINUTELY", "SECONDLY"}:
        return refused(
            f"FREQ={freq} is more than once a day: a schedule makes one order a "
            "day at most (use DAILY, WEEKLY, MONTHLY or YEARLY)."
        )
    if freq not in DAY_FREQUENCIES:
        return refused(f"FREQ={freq} is not one of DAILY, WEEKLY, MONTHLY, YEARLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        return refused("Use COUNT or UNTIL, not both (RFC 5545).")
    for name, top in (("INTERVAL", MAX_INTERVAL), ("COUNT", MAX_COUNT)):
        if name in parts and not (
            parts[name].isascii() and parts[name].isdigit() and 1 <= int(parts[name]) <= top
        ):
            return refused(f"{name} must be a whole number from 1 to {top}.")
    until = None
    if "UNTIL" in parts:
        until = _until_day(parts["UNTIL"], zone)
        if until is None:
            return refused("UNTIL must be a date, YYYYMMDD (or YYYYMMDDTHHMMSSZ).")
        parts["UNTIL"] = f"{until:%Y%m%d}"
    normalised = ";".join(f"{name}={value}" for name, value in parts.items())
    dateutil_text = ";".join(f"{n}={v}" for n, v in parts.items() if n != "UNTIL")
    try:
        # cache: the days found are kept, so a second walk (the next days, then their
        # orders) reads them instead of finding them again from `starts_on`
        parsed = rrule.rrulestr(dateutil_text, dtstart=_midnight(starts_on), cache=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        return refused(f"Not a rule we can read: {exc}.")
    if until is not None:
        parsed = parsed.replace(until=_midnight(until))
    end = min(filter(None, (ends_on, until)), default=None)
    recurrence = Recurrence(normalised, starts_on, ends_on, parsed)
    first = _first_day(parsed, starts_on, until)
    if first is None or (end is not None and first > end):
        where = (
            f"from {starts_on:%Y-%m-%d} to {end:%Y-%m-%d}"
            if end
            else (f"in the {WITHIN_YEARS} years from {starts_on:%Y-%m-%d}")
        )
        return refused(f"This rule gives no day {where}.")
    return recurrence, {}


def _until_day(value: str, zone: ZoneInfo | None) -> dt.date | None:
    """UNTIL as the tenant's local date: a UTC time (…Z) is read in the tenant's zone."""
    match = UNTIL_PATTERN.fullmatch(value)
    if not match:
        return None
    try:
        if match.group(3):
            moment = dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
            return moment.astimezone(zone or dt.UTC).date()
        return dt.datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def _first_day(parsed: rrule.rrule, starts_on: dt.date, until: dt.date | None) -> dt.date | None:
    """The rule's first day within WITHIN_YEARS of its start, or None.

    dateutil walks period by period until a day matches or the year passes 9999, so a
    rule that never matches (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30) would walk ~8,000 years
    of days (seconds of work). The Gregorian calendar repeats every 400 years (146,097
    days: whole weeks and whole months), so the same rule started 400·k years later gives
    the same days 400·k years later; started near the year 9999 it gives up within about
    400 years of days."""
    shift = 400 * ((9999 - WITHIN_YEARS - starts_on.year) // 400)
    late_start = _midnight(starts_on.replace(year=starts_on.year + shift))
    # an end past the years looked at changes nothing here (and could not be shifted)
    near = until is not None and until.year <= starts_on.year + WITHIN_YEARS
    late = parsed.replace(
        dtstart=late_start,
        until=_midnight(until.replace(year=until.year + shift)) if near else None,
    )
    found = late.after(late_start, inc=True)
    if found is None:
        return None
    day = found.date().replace(year=found.year - shift)
    return day if day.year < starts_on.year + WITHIN_YEARS + 1 else None


def rule_describe(rule: str) -> str:
    """The rule in words, for the dashboard (the RRULE text when it says more than this
    reads)."""
    try:
        parts = dict(p.split("=", 1) for p in rule.split(";") if "=" in p)
    except ValueError:
        return rule
    simple = set(parts) <= {"FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL"}
    unit = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
    if (
        not simple
        or parts.get("FREQ") not in unit
        or any(not d.isalpha() for d in parts.get("BYDAY", "").split(",") if d)
    ):
        return rule
    every = int(parts.get("INTERVAL", "1"))
    words = (
        f"Every {unit[parts['FREQ']]}" if every == 1 else (f"Every {every} {unit[parts['FREQ']]}s")
    )
    if parts.get("BYDAY"):
        names = dict(WEEKDAYS)
        words += " on " + ", ".join(names.get(d, d) for d in parts["BYDAY"].split(","))
    if "COUNT" in parts:
        words += f", {parts['COUNT']} times"
    if "UNTIL" in parts:
        words += f", until {parts['UNTIL'][:4]}-{parts['UNTIL'][4:6]}-{parts['UNTIL'][6:8]}"
    return words


# --- reading a schedule ----------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One day of a schedule: `date` is the rule's, `delivery_date` the order's (another
    day when moved); `exception` is "", "skip" or "move"."""

    date: dt.date
    delivery_date: dt.date
    exception: str = ""
    order_id: int | None = None
    order_status: str = ""

    @property
    def skipped(self) -> bool:
        return self.exception == RecurrenceException.Action.SKIP


def tenant_zone() -> ZoneInfo:
    return ZoneInfo(current_tenant().time_zone)


def tenant_today() -> dt.date:
    """Today in the tenant's time zone (a schedule's days are the tenant's days)."""
    return timezone.localdate(timezone=tenant_zone())


def recurrence_of(recurring: RecurringOrder) -> Recurrence:
    """The schedule's rule, read once per instance (a request reads its schedules once)
    and again only when its rule or days change."""
    zone = tenant_zone()
    key = (recurring.rule, recurring.starts_on, recurring.ends_on, zone.key)
    cached = recurring.__dict__.get("_recurrence")
    if cached is not None and cached[0] == key:
        return cached[1]
    recurrence, errors = rule_check(
        recurring.rule, starts_on=recurring.starts_on, ends_on=recurring.ends_on, zone=zone
    )
    if recurrence is None:  # stored rules were checked; a rule refused later is said so
        raise ValidationError(errors)
    recurring.__dict__["_recurrence"] = (key, recurrence)
    return recurrence


def recurring_occurrences(
    recurring: RecurringOrder,
    *,
    start: dt.date,
    end: dt.date,
    recurrence: Recurrence | None = None,
) -> list[Occurrence]:
    """The schedule's occurrences whose order is (or would be) for a day from `start` to
    `end`, with skipped days of that span too; in the order of their delivery days."""
    recurrence = recurrence or recurrence_of(recurring)
    exceptions = {e.date: e for e in recurring.exceptions.all()}
    found: list[Occurrence] = []
    days = set(recurrence.days_between(start, end))
    for exception in exceptions.values():  # moved here from a day outside the span
        moved_here = exception.moved_to and start <= exception.moved_to <= end
        if moved_here and exception.date not in days and recurrence.is_day(exception.date):
            days.add(exception.date)
    made = {
        o.date: (o.order_id, o.order.status if o.order_id else "")
        for o in _occurrences_made(recurring, days, start=start)
    }
    for day in days:
        exception = exceptions.get(day)
        order_id, status = made.get(day, (None, ""))
        if exception is None:
            found.append(Occurrence(day, day, "", order_id, status))
        elif exception.action == RecurrenceException.Action.SKIP:
            found.append(Occurrence(day, day, exception.action, order_id, status))
        elif start <= exception.moved_to <= end:
            found.append(Occurrence(day, exception.moved_to, exception.action, order_id, status))
    return sorted(found, key=lambda o: (o.delivery_date, o.date))


def _occurrences_made(recurring: RecurringOrder, days: set[dt.date], *, start: dt.date) -> list:
    """The schedule's occurrence rows of `days`: those `recurring_list` prefetched when they
    cover the span (its rows from `occurrences_from` on, and those of days moved there),
    else one query."""
    since = getattr(recurring, "occurrences_from", None)
    prefetched = getattr(recurring, "upcoming_occurrences", None)
    if since is not None and prefetched is not None and start >= since:
        return [o for o in prefetched if o.date in days]
    return list(recurring.occurrences.filter(date__in=days).select_related("order"))


def recurring_next(
    recurring: RecurringOrder, *, count: int = 5, today: dt.date | None = None
) -> list[Occurrence]:
    """The next `count` occurrences from today (skipped ones included, marked)."""
    today = today or tenant_today()
    recurrence = recurrence_of(recurring)
    days = recurrence.days_from(today, count + recurring.exceptions.count())
    if not days:
        return []
    return recurring_occurrences(recurring, start=today, end=days[-1], recurrence=recurrence)[
        :count
    ]


def rule_preview(
    *,
    rule: Any,
    starts_on: dt.date | None,
    ends_on: dt.date | None = None,
    count: int = 6,
    today: dt.date | None = None,
) -> tuple[list[dt.date], Errors]:
    """The next days a rule would give (for the form's live preview), or its errors; a
    first day the schedule could not have is refused before the rule is walked from it."""
    if starts_on is None:
        return [], {"starts_on": ["Choose the first day."]}
    today = today or tenant_today()
    wrong_start = starts_on_check(starts_on, today=today)
    if wrong_start:
        return [], {"starts_on": wrong_start}
    recurrence, errors = rule_check(rule, starts_on=starts_on, ends_on=ends_on, zone=tenant_zone())
    if recurrence is None:
        return [], errors
    return recurrence.days_from(max(today, starts_on), count), {}


def recurring_list(
    *, active: bool | None = None, today: dt.date | None = None
) -> QuerySet[RecurringOrder]:
    """Schedules by name, each with `last_created` (the latest day it has made an order
    for), its exceptions, and what `recurring_next` reads from `today` on: the occurrences
    (with their orders' status) of today or later and of days moved to today or later, as
    `upcoming_occurrences` (from `occurrences_from`). One query each for the whole page,
    however many schedules it holds."""
    today = today or tenant_today()
    moved_on = RecurrenceException.objects.filter(
        recurring_id=OuterRef("recurring_id"), date=OuterRef("date"), moved_to__gte=today
    )
    upcoming = (
        RecurringOccurrence.objects.filter(Q(date__gte=today) | Q(Exists(moved_on)))
        .select_related("order")
        .only("recurring", "date", "order", "order__status")
    )
    queryset = RecurringOrder.objects.annotate(
        last_created=Max("occurrences__date", filter=~_no_order()),
        occurrences_from=Value(today, output_field=DateField()),
    ).prefetch_related(
        Prefetch("exceptions", queryset=RecurrenceException.objects.all()),
        Prefetch("occurrences", queryset=upcoming, to_attr="upcoming_occurrences"),
    )
    if active is True:
        queryset = queryset.filter(cancelled_at__isnull=True)
    elif active is False:
        queryset = queryset.filter(cancelled_at__isnull=False)
    return queryset.order_by("name", "pk")


def _no_order() -> Q:
    return Q(occurrences__order__isnull=True)


def recurring_orders_made(recurring: RecurringOrder, *, limit: int = 20) -> QuerySet:
    """The orders a schedule has made, latest day first."""
    return (
        recurring.occurrences.filter(order__isnull=False)
        .select_related("order")
        .order_by("-date")[:limit]
    )
