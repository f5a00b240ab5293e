"""The recurring orders list (dashboard and API) reads its page's schedules, their
exceptions and their next days' orders in a fixed number of queries, however many
schedules the page holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from dispatch.selectors import recurring as selectors
from dispatch.services import recurring as services
from tests.conftest import api_client, login_client, tenant_today

pytestmark = pytest.mark.django_db

TEMPLATE = {"customer_name": "Café Rosa", "address_line1": "1 High St", "lat": 51.5, "lng": -0.1}


def _schedules(first: int, last: int) -> None:
    """Schedules of every other day with orders made for their next days, every other
    one with a day skipped and a day moved."""
    with schema_context("alpha"):
        for k in range(first, last):
            recurring = services.recurring_create(
                name=f"Schedule {k:03d}",
                template=TEMPLATE,
                rule="FREQ=DAILY;INTERVAL=2",
                starts_on=tenant_today(1),
                lead_days=3,
            )
            if k % 2:
                services.recurring_exception_set(
                    recurring=recurring, date=tenant_today(1), action="skip"
                )
                services.recurring_exception_set(
                    recurring=recurring,
                    date=tenant_today(3),
                    action="move",
                    moved_to=tenant_today(4),
                )


def _queries(client, url: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content


@pytest.mark.parametrize("surface", ["api", "dashboard"])
def test_the_list_reads_a_fixed_number_of_queries_however_many_schedules(
    alpha, surface, monkeypatch
):
    if surface == "api":
        client, url = api_client(alpha.host, alpha.api_key), "/api/v1/recurring-orders"
    else:
        client, url = login_client(alpha.host, alpha.dispatcher_email), "/recurring/"
    _schedules(0, 2)
    client.get(url)  # warm: a session, the tenant's settings, …
    few, _ = _queries(client, url)
    _schedules(2, 12)
    reads = []
    check = selectors.rule_check
    monkeypatch.setattr(selectors, "rule_check", lambda *a, **k: reads.append(1) or check(*a, **k))
    many, content = _queries(client, url)
    assert many == few, f"{few} queries for 2 schedules, {many} for 12"
    assert len(reads) == 12  # each schedule's rule read once
    if surface == "api":
        results = client.get(url).json()["results"]
        assert len(results) == 12
        moved = next(r for r in results if r["name"] == "Schedule 011")
        nexts = {o["date"]: o for o in moved["next_occurrences"]}
        assert nexts[tenant_today(1).isoformat()]["exception"] == "skip"
        assert nexts[tenant_today(3).isoformat()]["delivery_date"] == tenant_today(4).isoformat()
        assert nexts[tenant_today(3).isoformat()]["order_id"]  # made, and moved with its day
        plain = next(r for r in results if r["name"] == "Schedule 010")
        assert [bool(o["order_id"]) for o in plain["next_occurrences"][:3]] == [True, True, False]
    else:
        assert content.count(b"Schedule 0") >= 12


def test_a_schedules_rule_is_read_once_until_it_changes(alpha):
    with schema_context("alpha"):
        recurring = services.recurring_create(
            name="Weekly", template=TEMPLATE, rule="FREQ=WEEKLY", starts_on=tenant_today(1)
        )
        first = selectors.recurrence_of(recurring)
        assert selectors.recurrence_of(recurring) is first
        assert first.days_from(tenant_today(1), 2) == [tenant_today(1), tenant_today(8)]
        assert first.days_from(tenant_today(1), 2) == [tenant_today(1), tenant_today(8)]
        recurring.rule = "FREQ=DAILY"
        changed = selectors.recurrence_of(recurring)
        assert changed is not first
        assert changed.days_from(tenant_today(1), 2) == [tenant_today(1), tenant_today(2)]
