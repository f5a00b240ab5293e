"""Issue 23's review, routing: an urgent insert never splits a pickup-and-delivery pair;
the nightly plan is published after midnight and on a day the clocks go forward; a plan
someone else left for tomorrow is said, a failed one planned over; a new pair alerts once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Depot, Order, OrderStatus, PickupDelivery
from routing import selectors
from routing.models import DispatchAlert, Plan, PlanStop, PlanUnassigned
from routing.services import auto_dispatch, live, plans
from routing.services.auto_dispatch import Outcome, PlanTick, order_auto_dispatch
from tenants.models import Tenant
from tests.conftest import TENANT_ZONE, api_client, tenant_today
from tests.routing.test_auto_dispatch import (
    NORTH,
    SOUTH,
    alerts,
    alpha_user,
    auto,
    crew,
    order_at,
    running_day,
)
from tests.routing.test_plan_live import freeze


def new_pair(prefix: str) -> tuple[Order, Order]:
    """A pickup-and-delivery pair for today, come in after the plan was published."""
    pickup = order_at(prefix, NORTH, n=30, kind=Order.Kind.PICKUP)
    delivery = order_at(prefix, SOUTH, n=31)
    PickupDelivery.objects.create(pickup=pickup, delivery=delivery)
    return pickup, delivery


def assert_pooled_whole(plan: Plan, pair: tuple[Order, Order]) -> None:
    for order in pair:
        assert not PlanStop.objects.filter(order=order).exists()
        assert PlanUnassigned.objects.get(plan=plan, order=order).reason == "urgent"
        assert Order.objects.get(pk=order.pk).status == OrderStatus.UNASSIGNED


# --- 1. an urgent insert never splits a pair ---------------------------------------------


@pytest.mark.django_db
def test_an_urgent_insert_of_either_end_of_a_pair_pools_the_whole_pair(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _, _ = running_day(monkeypatch, "upair")
        pickup, delivery = new_pair("upair")
        plain = order_at("upair", NORTH, n=32)
        candidates = set(selectors.urgent_candidates(plan).values_list("pk", flat=True))
        assert plain.pk in candidates
        assert not {pickup.pk, delivery.pk} & candidates  # never offered alone

        assert live.order_insert_urgent(plan=plan, order=delivery, actor="x") is None
        assert_pooled_whole(plan, (pickup, delivery))
        # the other end, and a retry: the same, nothing placed
        assert live.order_insert_urgent(plan=plan, order=pickup, actor="x") is None
        assert live.order_insert_urgent(plan=plan, order=delivery, actor="x") is None
        assert_pooled_whole(plan, (pickup, delivery))
        assert PlanUnassigned.objects.filter(plan=plan, order__in=[pickup, delivery]).count() == 2


@pytest.mark.django_db
def test_the_urgent_endpoint_answers_no_route_for_a_pair_end(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _, _ = running_day(monkeypatch, "apair")
        pickup, delivery = new_pair("apair")
    client = api_client(alpha.host, alpha.api_key)
    for order in (delivery, pickup):
        body = {"order": order.pk}
        response = client.post(f"/api/v1/plans/{plan.pk}/urgent", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json() == {"route": None}
    with schema_context(alpha.tenant.schema_name):
        assert_pooled_whole(plan, (pickup, delivery))


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """`day`'s local time in the test tenants' zone (days fixed before the clock moves)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TENANT_ZONE)


# --- 2. the nightly plan: after midnight, and on the day the clocks go forward ------------


def nightly_fleet(prefix: str, day: dt.date) -> list[Order]:
    depot = Depot.objects.create(name=f"{prefix} depot", lat=51.5, lng=-0.12)
    crew(prefix, depot, 1)
    return [order_at(prefix, NORTH, n=n, day=day) for n in range(2)]


@pytest.mark.django_db
def test_a_nightly_plan_solved_after_midnight_is_published_by_the_next_tick(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    today, tomorrow = tenant_today(), tenant_today(1)
    with schema_context(alpha.tenant.schema_name):
        orders = nightly_fleet("late", tomorrow)
        auto(alpha.tenant, on=False, plan_at=dt.time(23, 58))
        freeze(monkeypatch, at(today, 23, 59))
        with django_capture_on_commit_callbacks():
            assert auto_dispatch.auto_plan_tick() == PlanTick.QUEUED
        (plan,) = Plan.objects.all()
        assert plan.date == tomorrow and plan.auto

        freeze(monkeypatch, at(tomorrow, 0, 2))  # the optimiser finishes after midnight
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        freeze(monkeypatch, at(tomorrow, 0, 5))
        assert auto_dispatch.auto_plan_tick() == PlanTick.PUBLISHED
        plan.refresh_from_db()
        assert plan.is_published and plan.published_by == auto_dispatch.PLANNER
        assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {
            OrderStatus.DISPATCHED
        }
        freeze(monkeypatch, at(tomorrow, 0, 10))
        assert auto_dispatch.auto_plan_tick() == PlanTick.NOT_YET
        assert Plan.objects.count() == 1 and not DispatchAlert.objects.exists()


@pytest.mark.django_db
def test_a_nightly_plan_that_failed_after_midnight_alerts_once(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    today, tomorrow = tenant_today(), tenant_today(1)
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant, on=False, plan_at=dt.time(23, 58))
        freeze(monkeypatch, at(today, 23, 59))
        with django_capture_on_commit_callbacks():
            assert auto_dispatch.auto_plan_tick() == PlanTick.QUEUED
        freeze(monkeypatch, at(tomorrow, 0, 5))
        assert auto_dispatch.auto_plan_tick() == PlanTick.SOLVING
        plan = Plan.objects.get()
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.FAILED, error="Boom")
        assert auto_dispatch.auto_plan_tick() == PlanTick.FAILED
        assert auto_dispatch.auto_plan_tick() == PlanTick.NOT_YET  # said once
        (alert,) = DispatchAlert.objects.all()
        assert alert.kind == DispatchAlert.Kind.AUTO_PLAN_FAILED and alert.plan == plan
        assert "Boom" in alert.message
        assert Plan.objects.count() == 1


def spring_forward(zone: ZoneInfo) -> tuple[dt.date, dt.time]:
    """The zone's next day the clocks go forward, and a local time that day does not have."""
    day = timezone.now().astimezone(zone).date()
    for _ in range(400):
        day += dt.timedelta(days=1)
        for hour in range(24):
            wall = dt.datetime.combine(day, dt.time(hour, 30), tzinfo=zone)
            if wall.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != wall.replace(
                tzinfo=None
            ):
                return day, wall.time()
    raise AssertionError(f"{zone.key} never goes forward")


@pytest.mark.django_db
def test_a_planning_hour_the_clocks_skip_makes_one_plan(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    zone = ZoneInfo("Europe/Berlin")
    day, missing = spring_forward(zone)
    with schema_context(alpha.tenant.schema_name):
        Tenant.objects.filter(pk=alpha.tenant.pk).update(time_zone=zone.key)
        auto(alpha.tenant, on=False, plan_at=missing)
        # the first instant after the gap, and every few minutes after it
        after = dt.datetime.combine(day, missing, tzinfo=zone).astimezone(dt.UTC)
        after = (after - dt.timedelta(minutes=30)).astimezone(zone)
        assert after.time() > missing  # the wall clock jumped over the planning hour
        freeze(monkeypatch, after + dt.timedelta(minutes=5))
        with django_capture_on_commit_callbacks():
            assert auto_dispatch.auto_plan_tick() == PlanTick.QUEUED
        for minutes in (10, 15, 40):
            freeze(monkeypatch, after + dt.timedelta(minutes=minutes))
            with django_capture_on_commit_callbacks():
                assert auto_dispatch.auto_plan_tick() == PlanTick.SOLVING
        (plan,) = Plan.objects.all()
        assert plan.date == day + dt.timedelta(days=1) and plan.auto


# --- 3. a plan someone else left for tomorrow -------------------------------------------


@pytest.mark.django_db
def test_a_failed_plan_of_someone_else_is_planned_over_and_a_waiting_one_is_said_once(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    today, tomorrow, after = tenant_today(), tenant_today(1), tenant_today(2)
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant, on=False, plan_at=dt.time(18, 0))
        freeze(monkeypatch, at(today, 17))
        with django_capture_on_commit_callbacks():
            theirs = plans.plan_create(date=tomorrow, seconds=1, created_by=alpha_user(alpha))
        Plan.objects.filter(pk=theirs.pk).update(status=Plan.Status.FAILED, error="Boom")
        freeze(monkeypatch, at(today, 18, 5))
        with django_capture_on_commit_callbacks():
            assert auto_dispatch.auto_plan_tick() == PlanTick.QUEUED
        assert Plan.objects.filter(auto=True, date=tomorrow).count() == 1
        assert not DispatchAlert.objects.exists()

        # the next day: a dispatcher's plan of the day after waits, unpublished
        freeze(monkeypatch, at(tomorrow, 12))
        with django_capture_on_commit_callbacks():
            waiting = plans.plan_create(date=after, seconds=1, created_by=alpha_user(alpha))
        for minute in (0, 5, 10):
            freeze(monkeypatch, at(tomorrow, 18, minute))
            assert auto_dispatch.auto_plan_tick() == PlanTick.DISPATCHER
        (alert,) = DispatchAlert.objects.all()
        assert alert.kind == DispatchAlert.Kind.AUTO_PLAN_FAILED and alert.plan == waiting
        assert alert.date == after and alert.seen_at is None
        assert "18:00" in alert.message and "someone else" in alert.message
        assert not Plan.objects.filter(auto=True, date=after).exists()


# --- 4. a new pair alerts once ----------------------------------------------------------


@pytest.mark.django_db
def test_a_new_pair_is_pooled_whole_and_alerts_once_on_its_delivery(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        plan, _, _ = running_day(monkeypatch, "apair1")
        pickup, delivery = new_pair("apair1")
        assert auto_dispatch.orders_auto_dispatch([pickup.pk, delivery.pk]) == {
            pickup.pk: Outcome.POOLED,
            delivery.pk: Outcome.POOLED,
        }
        assert order_auto_dispatch(order_id=pickup.pk) == Outcome.POOLED  # a repeat
        assert_pooled_whole(plan, (pickup, delivery))
        assert alerts(pickup) == []
        (alert,) = alerts(delivery)
        assert alert.kind == DispatchAlert.Kind.NOT_PLACED and alert.plan == plan
        assert "pickup-and-delivery pair" in alert.message
        assert DispatchAlert.objects.count() == 1
