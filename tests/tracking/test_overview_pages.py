"""The dashboard's home, the operations overview: today's numbers, late and at-risk stops,
each driver's progress, failures to rebook, tomorrow; every item a link into the board;
dispatchers only, each tenant its own."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from routing.models import Plan
from routing.services.overview import day_outlook, day_overview
from tests.conftest import login_client, tenant_today
from tests.tracking.overview_day import EXPECTED, make_overview_day

pytestmark = pytest.mark.django_db


def stats(page: str) -> dict[str, int]:
    """The big numbers on the page, by name."""
    return {k: int(v) for k, v in re.findall(r'data-stat="([\w-]+)">(\d+)<', page)}


def overview(fixture, email: str | None = None) -> str:
    response = login_client(fixture.host, email or fixture.dispatcher_email).get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_overview_counts_todays_orders_routes_done_late_at_risk_and_failures(alpha):
    with schema_context(alpha.tenant.schema_name):
        make_overview_day("ops", day=tenant_today())
        make_overview_day("next", day=tenant_today(1))  # tomorrow's orders are not today's
    assert stats(overview(alpha)) == EXPECTED


def test_the_day_overview_selector_splits_the_pool_and_the_orders_in_no_plan(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = make_overview_day("sel", day=tenant_today())
        seen = day_overview(tenant_today(), now=timezone.now())
        assert seen.plan == day.plan
        assert [u.order for u in seen.waiting] == [day.orders["waiting"]]
        assert seen.not_planned == [day.orders["in no plan"]]
        assert seen.failed == [day.orders["failed"]]
        assert seen.failed_in_pool == {day.orders["failed"].pk}
        assert (seen.on_routes, seen.percent_done) == (6, 17)


def test_late_and_at_risk_stops_are_listed_latest_first_each_opening_the_board_on_it(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = make_overview_day("warn", day=tenant_today())
    page = overview(alpha)
    alerts = page[page.index('id="ov-alerts"') : page.index('id="ov-drivers"')]
    board = f"/plans/{day.plan.pk}/board"
    links = re.findall(rf'href="{board}\?focus=(\d+)"', alerts)
    roles = ("late", "late too", "at-risk")  # 60 min late, 20 min late, 10 min to spare
    assert links == [str(day.orders[r].pk) for r in roles]
    assert "warn driver 1" in alerts and "warn driver 2" in alerts
    assert "11:00" in alerts and "09:00\u201310:00" in alerts  # the ETA and its window
    nbsp = "\u00a0"
    assert f"1{nbsp}h late" in alerts and f"20{nbsp}min late" in alerts
    assert f"10{nbsp}min to spare" in alerts
    assert "warn on time" not in alerts and "warn delivered" not in alerts


def test_each_driver_shows_progress_next_stop_and_end_and_follows_on_the_board(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = make_overview_day("prog", day=tenant_today())
    page = overview(alpha)
    drivers = page[page.index('id="ov-drivers"') : page.index('id="ov-failed"')]
    for driver in day.drivers:
        assert f'href="/plans/{day.plan.pk}/board?follow={driver.pk}"' in drivers
    assert "<strong>1/4</strong> done" in drivers and "<strong>0/2</strong> done" in drivers
    assert "Next: prog late" in drivers  # the first stop not yet served
    assert "Ends <strong>13:10</strong>" in drivers  # the route's end, as planned
    assert 'aria-valuenow="1"' in drivers and "width: 25%" in drivers


def test_failed_deliveries_link_to_their_order_and_to_the_board(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = make_overview_day("fail", day=tenant_today())
    page = overview(alpha)
    failed = page[page.index('id="ov-failed"') :]
    order = day.orders["failed"]
    assert f'href="/orders/{order.pk}/"' in failed
    assert f'href="/plans/{day.plan.pk}/board?focus={order.pk}"' in failed


def test_without_a_plan_today_the_page_calls_to_plan_it_and_shows_tomorrow(alpha):
    with schema_context(alpha.tenant.schema_name):
        tomorrow = make_overview_day("tmrw", day=tenant_today(1), published=True)
        # today's orders, none planned yet
        for role in ("a", "b"):
            order = tomorrow.orders["in no plan"]
            order.pk, order.external_id, order.delivery_date = None, f"today-{role}", tenant_today()
            order.save()
    page = overview(alpha)
    today = tenant_today().isoformat()
    assert "No plan for today yet" in page
    assert f'href="/board/?date={today}">Plan today</a>' in page
    # without routes, only what waits to be planned or rebooked is counted
    assert stats(page) == {"orders": 2, "unassigned": 2, "failed": 0}
    assert 'id="ov-alerts"' not in page and 'id="ov-drivers"' not in page
    side = page[page.index('id="ov-tomorrow-title"') :]
    assert "Published" in side and "6 on 2 routes" in side
    assert f'href="/board/?date={tenant_today(1).isoformat()}"' in side


def test_tomorrow_shows_whether_it_is_planned_or_published(alpha):
    with schema_context(alpha.tenant.schema_name):
        assert day_outlook(tenant_today(1)).state == "none"
        day = make_overview_day("draft", day=tenant_today(1))
        outlook = day_outlook(tenant_today(1))
        assert (outlook.state, outlook.orders, outlook.routes, outlook.stops) == ("draft", 9, 2, 6)
        assert outlook.unassigned == 2
        Plan.objects.filter(pk=day.plan.pk).update(published_at=timezone.now())
        assert day_outlook(tenant_today(1)).state == "published"
    page = overview(alpha)
    assert "Tomorrow" in page and "Published" in page


def test_an_unpublished_plan_for_today_says_so(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = make_overview_day("unpub", day=tenant_today())
    page = overview(alpha)
    assert "the drivers do not have today" in page
    assert f'href="/plans/{day.plan.pk}/board">Review and publish' in page


def test_a_running_day_is_timed_from_the_drivers_progress(alpha):
    """A published plan of today: the board's live timing runs (no error, same counts of
    what is done and on routes; what is late then depends on the clock)."""
    with schema_context(alpha.tenant.schema_name):
        make_overview_day("live", day=tenant_today(), published=True)
    seen = stats(overview(alpha))
    assert (seen["orders"], seen["routes"], seen["done"], seen["failed"]) == (9, 2, 1, 1)
    assert "the drivers do not have today" not in overview(alpha)


def test_the_checklist_shows_while_set_up_is_incomplete_and_folds_once_a_plan_exists(alpha):
    from tenants.models import ApiKey

    assert "Getting started" not in overview(alpha)  # alpha is set up
    ApiKey.objects.filter(tenant=alpha.tenant).update(revoked_at=timezone.now())
    page = overview(alpha, alpha.owner_email)
    assert '<h2 id="ov-setup-title">Getting started</h2>' in page
    assert 'href="/settings/api-keys/"' in page or "api-keys" in page
    with schema_context(alpha.tenant.schema_name):
        make_overview_day("setup", day=tenant_today(3))
    page = overview(alpha, alpha.owner_email)
    assert '<details class="card ov-card ov-setup">' in page and "Getting started" in page


def test_drivers_and_visitors_cannot_open_the_overview(alpha):
    assert login_client(alpha.host, alpha.driver_email).get("/").status_code == 403
    from tests.conftest import host_client

    response = host_client(alpha.host).get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_another_tenants_day_never_shows_on_the_overview(alpha, beta):
    with schema_context(beta.tenant.schema_name):
        make_overview_day("beta-secret", day=tenant_today())
    page = overview(alpha)
    assert "beta-secret" not in page
    assert "No plan for today yet" in page and stats(page)["orders"] == 0
    with schema_context(alpha.tenant.schema_name):
        mine = make_overview_day("alpha-own", day=tenant_today())
    page = overview(alpha)
    assert "beta-secret" not in page and "alpha-own" in page
    assert stats(page) == EXPECTED
    assert f"/plans/{mine.plan.pk}/board" in page
    # and the other way round
    assert "alpha-own" not in overview(beta)
