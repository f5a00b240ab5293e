"""Recurring orders, through their services: the rule checked in the dispatcher's words,
days across the tenants' next daylight-saving change, each day's order made exactly once
lead_days ahead, exceptions (skip, move), edits and cancelling."""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import Order, RecurringOccurrence
from dispatch.selectors.recurring import recurring_next, rule_check
from dispatch.services import recurring as services
from dispatch.services.orders import order_transition
from tenants.tasks import run_in_schema
from tests.conftest import TENANT_ZONE, tenant_today

pytestmark = pytest.mark.django_db

TEMPLATE = {
    "customer_name": "Café Rosa",
    "customer_phone": "020 7946 0000",
    "address_line1": "1 High St",
    "lat": 51.5,
    "lng": -0.1,
    "time_windows": [{"start": "09:00", "end": "12:00"}],
    "weight_kg": 12.5,
}


def next_dst_change(after: dt.date) -> dt.date:
    """The first day after `after` on which the tenants' zone changes its UTC offset (the
    day whose noon has another offset than the day before's)."""
    day = after
    noon = dt.time(12)
    for _ in range(400):
        following = day + dt.timedelta(days=1)
        before = dt.datetime.combine(day, noon, TENANT_ZONE).utcoffset()
        if dt.datetime.combine(following, noon, TENANT_ZONE).utcoffset() != before:
            return following
        day = following
    raise AssertionError("no daylight-saving change within 400 days")


def _create(**overrides) -> object:
    values = {
        "name": "Weekly café",
        "template": TEMPLATE,
        "rule": "FREQ=WEEKLY",
        "starts_on": tenant_today(1),
        "lead_days": 7,
    }
    return services.recurring_create(**(values | overrides))


def _orders(recurring) -> dict[dt.date, Order]:
    return {
        o.delivery_date: o
        for o in Order.objects.filter(occurrence__recurring=recurring).order_by("delivery_date")
    }


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("", "Write a rule"),
        ("FREQ=WEEKLY;BYDAY=XX", "Not a rule we can read"),
        ("FREQ=FORTNIGHTLY", "not one of DAILY"),
        ("BYDAY=MO", "Say how often"),
        ("DTSTART:20300101T000000\nRRULE:FREQ=DAILY", "Leave DTSTART out"),
        ("FREQ=DAILY;DTSTART=20300101", "Leave DTSTART out"),
        ("FREQ=HOURLY", "more than once a day"),
        ("FREQ=MINUTELY;INTERVAL=30", "more than once a day"),
        ("FREQ=SECONDLY", "more than once a day"),
        ("FREQ=DAILY;BYHOUR=9", "times go in the order's time windows"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20991231", "COUNT or UNTIL, not both"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT must be a whole number"),
        ("FREQ=WEEKLY;INTERVAL=0", "INTERVAL must be a whole number"),
        ("FREQ=WEEKLY;UNTIL=2027", "UNTIL must be a date"),
        ("FREQ=WEEKLY;;BYDAY", "is not NAME=VALUE"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "gives no day"),
        ("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31", "gives no day"),
    ],
)
def test_a_bad_rule_is_refused_with_a_field_error(tenants, rule, words):
    with schema_context("alpha"):
        recurrence, errors = rule_check(rule, starts_on=tenant_today(1), ends_on=None)
    assert recurrence is None
    assert list(errors) == ["rule"]
    assert words in errors["rule"][0]


def test_a_rule_that_never_gives_a_day_is_found_out_quickly(tenants):
    """dateutil alone walks ~8,000 years of days (seconds) before giving up on it."""
    started = time.process_time()
    _, errors = rule_check(
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", starts_on=tenant_today(), ends_on=None
    )
    assert "gives no day" in errors["rule"][0]
    assert time.process_time() - started < 1.5  # a bound on work, not a timing of a wait


def test_count_and_until_end_the_days_and_until_before_the_start_gives_none(tenants):
    start = tenant_today(1)
    with schema_context("alpha"):
        counted, errors = rule_check("rrule:freq=weekly;count=3", starts_on=start, ends_on=None)
        assert not errors
        assert counted.rule == "FREQ=WEEKLY;COUNT=3"
        assert counted.days_from(start, 10) == [start + dt.timedelta(weeks=w) for w in range(3)]
        last = start + dt.timedelta(weeks=2)
        until, errors = rule_check(
            f"FREQ=WEEKLY;UNTIL={last:%Y%m%d}", starts_on=start, ends_on=None
        )
        assert not errors and until.days_from(start, 10)[-1] == last
        _, errors = rule_check(
            f"FREQ=WEEKLY;UNTIL={start - dt.timedelta(days=1):%Y%m%d}",
            starts_on=start,
            ends_on=None,
        )
        assert "gives no day from" in errors["rule"][0]
        _, errors = rule_check("FREQ=WEEKLY", starts_on=start, ends_on=start + dt.timedelta(days=3))
        assert not errors  # the start itself is a day


def test_until_in_utc_is_read_as_the_tenants_local_day(tenants):
    """23:30 UTC is already the next day in London during summer time, the same day in
    winter: UNTIL ends on the local day (whichever it is where the tenant is)."""
    start = tenant_today(1)
    change = next_dst_change(start)
    summer_day = (
        change
        if dt.datetime.combine(change, dt.time(12), TENANT_ZONE).dst()
        else (next_dst_change(change))
    )
    until = f"{summer_day:%Y%m%d}T233000Z"
    recurrence, errors = rule_check(
        f"FREQ=DAILY;UNTIL={until}", starts_on=start, ends_on=None, zone=TENANT_ZONE
    )
    assert not errors
    assert recurrence.rule.endswith(f"UNTIL={summer_day + dt.timedelta(days=1):%Y%m%d}")


def test_a_weekly_schedule_keeps_its_weekday_and_local_windows_across_daylight_saving(tenants):
    """The tenants' next UTC offset change (London): a weekly schedule on the change's
    weekday gives that weekday every week before and after, and every order made has the
    template's local windows, so the window's UTC time moves by the hour the clock moved."""
    change = next_dst_change(tenant_today(1))
    starts_on = change - dt.timedelta(weeks=3)
    with schema_context("alpha"):
        recurring = services.recurring_create(
            name="Sunday flowers",
            template=TEMPLATE,
            rule=f"FREQ=WEEKLY;BYDAY={change.strftime('%a')[:2].upper()}",
            starts_on=starts_on,
            lead_days=60,
        )
        # the job as it runs a month before the change (or today, when that is later)
        job_day = max(tenant_today(), change - dt.timedelta(days=30))
        services.recurring_materialise(recurring=recurring, today=job_day)
        orders = _orders(recurring)
    days = sorted(orders)
    assert change in days
    assert any(d < change for d in days) and any(d > change for d in days)
    assert {d.weekday() for d in days} == {change.weekday()}
    assert all(
        later - earlier == dt.timedelta(weeks=1) for earlier, later in itertools.pairwise(days)
    )
    assert all(o.time_windows == TEMPLATE["time_windows"] for o in orders.values())
    before, after = change - dt.timedelta(weeks=1), change + dt.timedelta(weeks=1)
    offsets = {
        dt.datetime.combine(day, dt.time(9), TENANT_ZONE).utcoffset() for day in (before, after)
    }
    assert len(offsets) == 2, "the schedule's days straddle a change of UTC offset"


def test_a_daily_schedule_has_exactly_one_day_on_the_change_day(tenants):
    change = next_dst_change(tenant_today(1))
    with schema_context("alpha"):
        recurrence, _ = rule_check(
            "FREQ=DAILY", starts_on=change - dt.timedelta(days=2), ends_on=None
        )
        days = recurrence.days_between(change - dt.timedelta(days=2), change + dt.timedelta(days=2))
    assert days == [change + dt.timedelta(days=n) for n in range(-2, 3)]


def test_orders_are_made_lead_days_ahead_exactly_once(tenants):
    start = tenant_today(1)
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=DAILY", lead_days=3, starts_on=start)
        orders = _orders(recurring)
        assert sorted(orders) == [start + dt.timedelta(days=n) for n in range(3)]
        assert recurring.created_through == tenant_today(3)
        assert services.recurring_materialise(recurring=recurring) == 0
        assert services.recurring_materialise(recurring=recurring) == 0
        assert Order.objects.filter(occurrence__recurring=recurring).count() == 3
        order = orders[start]
        assert order.source == "recurring"
        assert order.external_id.startswith(f"recurring-{recurring.pk}-{start:%Y%m%d}-")
        assert order.customer_phone == "+442079460000"  # the order schema's reading
        assert order.events.get().actor == f"recurring:{recurring.pk}"
        # the next day, the job makes one more
        later = services.recurring_materialise(recurring=recurring, today=tenant_today(1))
        assert later == 1 and tenant_today(4) in _orders(recurring)


def test_the_hourly_job_makes_the_orders_in_each_tenant_once(tenants):
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=DAILY", lead_days=2)
        RecurringOccurrence.objects.filter(recurring=recurring).delete()
        Order.objects.filter(source="recurring").delete()
        type(recurring).objects.filter(pk=recurring.pk).update(created_through=None)
    first = run_in_schema("alpha", "dispatch.tasks.recurring_orders_materialise")
    again = run_in_schema("alpha", "dispatch.tasks.recurring_orders_materialise")
    assert first == {"schedules": 1, "orders": 2, "failed": 0}
    assert again == {"schedules": 0, "orders": 0, "failed": 0}
    with schema_context("beta"):
        assert not Order.objects.filter(source="recurring").exists()


def test_a_bad_template_gives_field_errors_under_template(tenants):
    with schema_context("alpha"), pytest.raises(ValidationError) as raised:
        _create(
            template={
                "customer_name": "",
                "address_line1": "1 High St",
                "delivery_date": "2030-01-01",
                "weight_kg": "heavy",
                "colour": "red",
            }
        )
    errors = raised.value.message_dict
    assert set(errors) >= {
        "template.customer_name",
        "template.delivery_date",
        "template.weight_kg",
        "template.colour",
    }
    with schema_context("alpha"), pytest.raises(ValidationError) as raised:
        _create(template=["not", "an", "object"], lead_days=99, name=" ")
    assert set(raised.value.message_dict) == {"template", "lead_days", "name"}


def test_skipping_a_day_cancels_its_unplanned_order_and_undoing_it_makes_a_new_one(tenants):
    start = tenant_today(1)
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=DAILY", lead_days=4, starts_on=start)
        skipped_day = start + dt.timedelta(days=1)
        first_order = _orders(recurring)[skipped_day]
        _, outcome = services.recurring_exception_set(
            recurring=recurring, date=skipped_day, action="skip"
        )
        assert outcome.cancelled == 1
        first_order.refresh_from_db()
        assert first_order.status == "cancelled"
        assert services.recurring_materialise(recurring=recurring) == 0
        assert skipped_day not in _orders(recurring)
        nexts = recurring_next(recurring, count=3)
        assert [(o.date, o.exception) for o in nexts][1] == (skipped_day, "skip")
        # a repeat is harmless
        services.recurring_exception_set(recurring=recurring, date=skipped_day, action="skip")
        services.recurring_exception_remove(recurring=recurring, date=skipped_day)
        again = _orders(recurring)[skipped_day]
        assert again.pk != first_order.pk and again.status == "unassigned"
        assert (
            services.recurring_exception_remove(recurring=recurring, date=skipped_day).created == 0
        )


def test_skipping_a_planned_day_leaves_its_order_and_says_so(tenants):
    start = tenant_today(1)
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=DAILY", lead_days=2, starts_on=start)
        order = order_transition(order=_orders(recurring)[start], to="planned", actor="t")
        _, outcome = services.recurring_exception_set(
            recurring=recurring, date=start, action="skip"
        )
        order.refresh_from_db()
        assert order.status == "planned"
        assert outcome.kept == [order.pk]
        assert "already planned" in " ".join(outcome.notes()).lower()


def test_moving_a_day_reschedules_its_order_or_makes_it_on_the_new_day(tenants):
    start = tenant_today(1)
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=WEEKLY", lead_days=3, starts_on=start)
        order = _orders(recurring)[start]
        moved_to = start + dt.timedelta(days=2)
        services.recurring_exception_set(
            recurring=recurring, date=start, action="move", moved_to=moved_to
        )
        order.refresh_from_db()
        assert order.delivery_date == moved_to
        assert order.events.exists()
        # a day beyond the lead time, moved into it: made at once, on its new day
        far = start + dt.timedelta(weeks=1)
        services.recurring_exception_set(
            recurring=recurring, date=far, action="move", moved_to=start + dt.timedelta(days=1)
        )
        made = RecurringOccurrence.objects.get(recurring=recurring, date=far)
        assert made.order.delivery_date == start + dt.timedelta(days=1)
        # undoing the first move puts the order back on its own day
        services.recurring_exception_remove(recurring=recurring, date=start)
        order.refresh_from_db()
        assert order.delivery_date == start


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "offset:2"}, "date"),  # not a day of a weekly schedule
        ({"date": "offset:-7"}, "date"),  # past
        ({"action": "move"}, "moved_to"),
        ({"action": "move", "moved_to": "offset:-2"}, "moved_to"),  # yesterday
        ({"action": "move", "moved_to": "offset:7"}, "moved_to"),  # the next occurrence's day
        ({"action": "skip", "moved_to": "offset:3"}, "moved_to"),
        ({"action": "later"}, "action"),
        ({"date": "not a date"}, "date"),
        ({"date": "offset:735"}, "date"),  # a weekly day, but too far ahead
        ({"action": "move", "moved_to": "offset:800"}, "moved_to"),
    ],
)
def test_a_bad_exception_is_refused_with_a_field_error(tenants, change, field):
    start = tenant_today(1)

    def value(text):
        if isinstance(text, str) and text.startswith("offset:"):
            return start + dt.timedelta(days=int(text.split(":")[1]))
        return text

    with schema_context("alpha"):
        recurring = _create(starts_on=start - dt.timedelta(weeks=2))
        values = {"date": start, "action": "skip"} | {k: value(v) for k, v in change.items()}
        with pytest.raises(ValidationError) as raised:
            services.recurring_exception_set(recurring=recurring, **values)
    assert field in raised.value.message_dict


def test_editing_changes_unplanned_orders_and_cancels_days_no_longer_in_the_rule(tenants):
    start = tenant_today(1)
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=DAILY", lead_days=3, starts_on=start)
        orders = _orders(recurring)
        planned = order_transition(order=orders[start], to="planned", actor="t")
        weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][
            (start + dt.timedelta(days=1)).weekday()
        ]
        recurring, outcome = services.recurring_update(
            recurring=recurring,
            rule=f"FREQ=WEEKLY;BYDAY={weekday}",
            template=TEMPLATE | {"customer_name": "Café Rosa (new owner)"},
        )
        kept = start + dt.timedelta(days=1)
        gone = start + dt.timedelta(days=2)
        assert Order.objects.get(pk=orders[kept].pk).customer_name == "Café Rosa (new owner)"
        assert Order.objects.get(pk=orders[gone].pk).status == "cancelled"
        planned.refresh_from_db()
        assert (planned.status, planned.customer_name) == ("planned", "Café Rosa")
        assert outcome.kept == [planned.pk]
        assert (outcome.updated, outcome.cancelled) == (1, 1)
        with pytest.raises(ValidationError) as raised:
            services.recurring_update(recurring=recurring, rule="FREQ=HOURLY", ends_on="soon")
        assert set(raised.value.message_dict) == {"ends_on"}


def test_cancelling_stops_the_schedule_and_cancels_its_unplanned_orders(tenants):
    start = tenant_today(1)
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=DAILY", lead_days=3, starts_on=start)
        orders = _orders(recurring)
        planned = order_transition(order=orders[start], to="planned", actor="t")
        recurring, outcome = services.recurring_cancel(recurring=recurring)
        assert recurring.cancelled_at is not None
        assert (outcome.cancelled, outcome.kept) == (2, [planned.pk])
        assert services.recurring_cancel(recurring=recurring)[1].cancelled == 0
        assert services.recurring_materialise(recurring=recurring, today=tenant_today(2)) == 0
        statuses = dict(Order.objects.filter(source="recurring").values_list("pk", "status"))
        assert statuses[planned.pk] == "planned"
        with pytest.raises(ValidationError):
            services.recurring_exception_set(recurring=recurring, date=start, action="skip")


def test_a_template_with_a_pickup_makes_a_pickup_and_delivery_pair_each_day(tenants):
    from dispatch.models import PickupDelivery

    pickup = {"name": "Bakery", "address_line1": "2 Mill Lane", "lat": 51.51, "lng": -0.11}
    with schema_context("alpha"):
        recurring = _create(rule="FREQ=DAILY", lead_days=2, template=TEMPLATE | {"pickup": pickup})
        assert recurring.template["pickup"] == pickup  # kept as sent, read again each day
        orders = _orders(recurring)
        assert len(orders) == 2
        pairs = PickupDelivery.objects.filter(delivery__in=orders.values())
        assert sorted(p.pickup.customer_name for p in pairs) == ["Bakery", "Bakery"]


def test_a_day_is_the_tenants_day_not_utcs(tenants, time_machine):
    """At 23:30 UTC in summer it is already tomorrow in London: the job makes tomorrow's
    order of a schedule with no lead time, as the tenant's calendar says."""
    summer_day = tenant_today(1)  # the first summer-time day from tomorrow
    while not dt.datetime.combine(summer_day, dt.time(12), TENANT_ZONE).dst():
        summer_day += dt.timedelta(days=1)
    time_machine.move_to(dt.datetime.combine(summer_day, dt.time(23, 30), dt.UTC), tick=False)
    london_day = summer_day + dt.timedelta(days=1)
    with schema_context("alpha"):
        assert services.tenant_today() == london_day
        recurring = _create(rule="FREQ=DAILY", starts_on=london_day, lead_days=0)
        assert sorted(_orders(recurring)) == [london_day]
