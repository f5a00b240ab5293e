"""A multi-day plan's choice of day is a draft: the customers whose order it moves hear of
their day when that day's plan is published, not while it is being planned."""

from __future__ import annotations

import pytest
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from dispatch.models import Order
from routing.models import Plan, PlanStop
from routing.services import plans, publish
from tests.routing.test_multi_day import _solved, _week

pytestmark = pytest.mark.django_db


def _queued(schema: str) -> set[str]:
    return {q.name() for q in OrmQ.objects.all() if q.name().startswith(f"{schema}:notify-resch")}


def test_moved_orders_are_told_their_day_when_it_is_published(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        fixed, _, flexible, _ = _week("mm")
        Order.objects.filter(pk__in=[o.pk for o in flexible]).update(customer_phone="+447700900444")
        with django_capture_on_commit_callbacks(execute=True):
            multi, _ = _solved(monkeypatch)
        moved = {o.pk for o in flexible}
        for order in flexible:  # no room on the first day: each went to a later one
            order.refresh_from_db()
            assert order.delivery_date > fixed[0].delivery_date
        assert _queued(schema) == set(), "told of a draft's day"
        days = list(multi.plans.order_by("date"))
        for plan in days:
            on_it = set(
                PlanStop.objects.filter(route__plan=plan, order__isnull=False).values_list(
                    "order_id", flat=True
                )
            )
            before = _queued(schema)
            with django_capture_on_commit_callbacks(execute=True):
                publish.plan_publish(plan=plan, actor="user:test")
            told = _queued(schema) - before
            assert told == {f"{schema}:notify-rescheduled-{pk}" for pk in on_it & moved}
        assert _queued(schema) == {f"{schema}:notify-rescheduled-{pk}" for pk in moved}


def test_moved_orders_are_told_when_their_day_is_planned_again_without_the_draft(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    """The dispatcher discards the multi-day draft and plans each day as usual: the
    orders it moved stay on their new day, and publishing that day tells their customers
    (once: a second publish of the day queues nothing the job has not already sent)."""
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        fixed, second, flexible, _ = _week("md2")
        Order.objects.filter(pk__in=[o.pk for o in flexible]).update(customer_phone="+447700900444")
        with django_capture_on_commit_callbacks(execute=True):
            multi, _ = _solved(monkeypatch)
        moved = {o.pk for o in flexible}
        days = sorted({o.delivery_date for o in Order.objects.filter(pk__in=moved)})
        Plan.objects.filter(multi_day=multi).delete()  # the draft discarded
        assert _queued(schema) == set()
        for day in [fixed[0].delivery_date, *days]:
            plan = plans.plan_create(date=day, seconds=1)
            assert plans.plan_solve(plan.pk) == Plan.Status.DONE
            plan.refresh_from_db()
            assert plan.multi_day_id is None
            on_it = set(
                PlanStop.objects.filter(route__plan=plan, order__isnull=False).values_list(
                    "order_id", flat=True
                )
            )
            before = _queued(schema)
            with django_capture_on_commit_callbacks(execute=True):
                publish.plan_publish(plan=plan, actor="user:test")
            told = _queued(schema) - before
            # the fixed orders and the one booked for the second day were never moved
            assert told == {f"{schema}:notify-rescheduled-{pk}" for pk in on_it & moved}
        assert _queued(schema) == {f"{schema}:notify-rescheduled-{pk}" for pk in moved}
        assert f"{schema}:notify-rescheduled-{second.pk}" not in _queued(schema)
