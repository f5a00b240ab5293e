"""The business's own pages write times as its locale does, in its zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django_tenants.utils import schema_context

from tenants.models import Tenant

#: The instants these tests format lie in July 2027; the clock is pinned a day before them,
#: so that no filter can read them against a today that has moved past them.
READ_AT = dt.datetime(2027, 6, 30, 12, tzinfo=dt.UTC)

pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(READ_AT, tick=True)]

PAGE = Template(
    "{% load tenant_clock %}{{ at|clock }} · {{ window|window_span }} · {{ none|clock }}"
)


def _render(schema: str) -> str:
    at = dt.datetime(2027, 7, 1, 13, 5, tzinfo=dt.UTC)
    with schema_context(schema):
        return PAGE.render(Context({"at": at, "window": {"start": "09:00", "end": "12:30"}}))


def test_pages_write_times_in_the_tenants_zone_and_locale(alpha, beta):
    Tenant.objects.filter(pk=beta.tenant.pk).update(
        country="US", locale="en", time_zone="America/Chicago"
    )
    assert _render(alpha.tenant.schema_name) == "14:05 · 09:00\u201312:30 · "  # London, BST
    assert _render(beta.tenant.schema_name) == "8:05 AM · 9:00 AM\u201312:30 PM · "


NBSP = "\u00a0"
UNITS = Template(
    "{% load tenant_clock %}{{ a|km }}|{{ b|km }}|{{ c|km }}|{{ none|km }}|"
    "{{ s1|duration }}|{{ s2|duration }}|{{ s3|duration }}|{{ s4|duration }}|{{ s5|duration }}"
)


def test_distances_read_in_km_and_durations_in_minutes(alpha):
    values = {"a": 103014, "b": 850.4, "c": 999.6, "none": None}
    values.update(s1=1712, s2=7500, s3=7200, s4=20, s5=0)
    with schema_context(alpha.tenant.schema_name):
        text = UNITS.render(Context(values)).replace(NBSP, " ")
    assert text.split("|") == [
        "103.0 km",
        "850 m",
        "1.0 km",
        "",
        "29 min",
        "2 h 05 min",
        "2 h",
        "under 1 min",
        "0 min",
    ]


def test_a_german_business_writes_its_decimal_comma(beta):
    Tenant.objects.filter(pk=beta.tenant.pk).update(country="DE", locale="de")
    with schema_context(beta.tenant.schema_name):
        text = Template("{% load tenant_clock %}{{ d|km }}").render(Context({"d": 12345}))
    assert text == f"12,3{NBSP}km"


DAYS = Template(
    '{% load tenant_clock %}{{ at|stamp }} · {{ at|stamp:"seconds" }} · {{ at|clock:"seconds" }}'
    ' · {{ date|day }} · {{ date|day:"short" }} · {{ at|day:"date" }}'
)


def test_histories_and_days_in_the_tenants_zone_and_locale(alpha, beta):
    Tenant.objects.filter(pk=beta.tenant.pk).update(
        country="US", locale="en", time_zone="America/Chicago"
    )
    # 23:05 UTC on 1 July is already 2 July in London (BST) and still 1 July in Chicago
    context = {"at": dt.datetime(2027, 7, 1, 23, 5, 9, tzinfo=dt.UTC), "date": dt.date(2027, 7, 2)}
    with schema_context(alpha.tenant.schema_name):
        gb = DAYS.render(Context(context)).split(" · ")
    with schema_context(beta.tenant.schema_name):
        us = DAYS.render(Context(context)).split(" · ")
    assert gb == [
        "2 Jul 2027, 00:05",
        "2 Jul 2027, 00:05:09",
        "00:05:09",
        "Friday, 2 July 2027",
        "Fri, 2 Jul 2027",
        "2 Jul 2027",
    ]
    assert us == [
        "Jul 1, 2027, 6:05 PM",
        "Jul 1, 2027, 6:05:09 PM",
        "6:05:09 PM",
        "Friday, July 2, 2027",
        "Fri, Jul 2, 2027",
        "Jul 1, 2027",
    ]


def test_phone_numbers_national_at_home_international_abroad(alpha):
    page = Template("{% load tenant_clock %}{{ a|phone }} · {{ b|phone }} · {{ c|phone }}")
    numbers = {"a": "+447700900123", "b": "+358401234567", "c": "not a number"}
    with schema_context(alpha.tenant.schema_name):  # a business in Britain
        text = page.render(Context(numbers)).replace(NBSP, " ")
    assert text == "07700 900123 · +358 40 1234567 · not a number"
