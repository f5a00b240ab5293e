"""The business's own pages write times as its locale does, in its zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django_tenants.utils import schema_context

from tenants.models import Tenant

pytestmark = pytest.mark.django_db

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
