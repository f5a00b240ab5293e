"""A re-solve ("re-optimise the rest of the day") only plans the plan's own day: an order
rebooked for another day stays off the plan's routes and is never dispatched by it
(issue 17: the customer had just been texted the new day)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderEvent, OrderStatus, Vehicle
from dispatch.services.orders import order_reschedule
from routing.models import Plan, PlanStop, PlanUnassigned
from routing.optimiser import solver
from routing.services import plans, publish
from routing.services.routes import midnight_of
from tests.routing.factories import make_fleet_day
from tests.routing.test_plan_edits import orders_on, resolve
from tests.routing.test_plan_live import ACTOR, busy_routes, freeze

pytestmark = pytest.mark.django_db


def _today_plan(monkeypatch, prefix: str, *, publish_it: bool) -> Plan:
    """A solved plan of today (the clock at 07:00 on it, when the shifts start), published
    or still a draft."""
    today = timezone.localdate()
    day = make_fleet_day(prefix, orders=10, day=today)
    Vehicle.objects.filter(pk__in=[v.pk for v in day.vans]).update(max_stops=6)
    plan = plans.plan_create(date=today, depot=day.depot, seconds=1)
    freeze(monkeypatch, midnight_of(plan) + dt.timedelta(hours=7))
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    plan.refresh_from_db()
    if publish_it:
        publish.plan_publish(plan=plan, actor=ACTOR)
        plan.refresh_from_db()
    return plan


def _assert_left_for_good(plan: Plan, order_id: int, status: str) -> None:
    order = Order.objects.get(pk=order_id)
    assert order.delivery_date != plan.date
    assert order.status == status
    assert not PlanStop.objects.filter(route__plan=plan, order_id=order_id).exists()
    assert PlanUnassigned.objects.get(plan=plan, order_id=order_id).reason == "rescheduled"


@pytest.mark.parametrize("publish_it", [True, False], ids=["published", "draft"])
def test_a_re_solve_leaves_an_order_rebooked_for_another_day_off_the_routes(
    alpha, monkeypatch, publish_it
):
    with schema_context(alpha.tenant.schema_name):
        plan = _today_plan(monkeypatch, f"rb{int(publish_it)}", publish_it=publish_it)
        route = busy_routes(plan)[0]
        moved = orders_on(route)[1]
        on_plan = {o for r in plan.routes.all() for o in orders_on(r)}
        tomorrow = plan.date + dt.timedelta(days=1)
        order = order_reschedule(
            order=Order.objects.get(pk=moved), delivery_date=tomorrow, actor=ACTOR
        )
        assert order.status == OrderStatus.UNASSIGNED
        _assert_left_for_good(plan, moved, OrderStatus.UNASSIGNED)

        dispatched = OrderEvent.objects.filter(order_id=moved, to_status="dispatched").count()

        resolve(plan, allow_reassign=True)

        _assert_left_for_good(plan, moved, OrderStatus.UNASSIGNED)
        assert OrderEvent.objects.filter(order_id=moved, to_status="dispatched").count() == (
            dispatched
        )
        placed = {o for r in plan.routes.all() for o in orders_on(r)}
        assert placed == on_plan - {moved}  # the plan's own orders are all still planned
        if publish_it:
            statuses = set(Order.objects.filter(pk__in=placed).values_list("status", flat=True))
            assert statuses == {OrderStatus.DISPATCHED}


def test_an_order_rebooked_while_the_day_is_re_solved_is_not_dispatched(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan = _today_plan(monkeypatch, "rbs", publish_it=True)
        moved = orders_on(busy_routes(plan)[0])[0]
        tomorrow = plan.date + dt.timedelta(days=1)
        solve = solver.solve

        def rebooked_during_the_search(problem, **options):
            order_reschedule(order=Order.objects.get(pk=moved), delivery_date=tomorrow, actor=ACTOR)
            return solve(problem, **options)

        monkeypatch.setattr(solver, "solve", rebooked_during_the_search)
        resolve(plan, allow_reassign=True)

        _assert_left_for_good(plan, moved, OrderStatus.UNASSIGNED)
        placed = {o for r in plan.routes.all() for o in orders_on(r)}
        statuses = set(Order.objects.filter(pk__in=placed).values_list("status", flat=True))
        assert moved not in placed and statuses == {OrderStatus.DISPATCHED}


def test_a_stop_found_booked_for_another_day_leaves_its_route_on_re_solve(alpha, monkeypatch):
    # the day written straight to the table (no signal): the re-solve still drops the stop
    with schema_context(alpha.tenant.schema_name):
        plan = _today_plan(monkeypatch, "rbt", publish_it=False)
        moved = orders_on(busy_routes(plan)[0])[0]
        Order.objects.filter(pk=moved).update(delivery_date=plan.date + dt.timedelta(days=2))

        resolve(plan, allow_reassign=True)

        _assert_left_for_good(plan, moved, OrderStatus.UNASSIGNED)
