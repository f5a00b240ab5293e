"""Plans: a day's orders solved in the background and stored in the tenant's own schema."""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

import tenants.tasks
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
from routing.services import plans
from tests.routing.test_conversion import DAY, make_day


@pytest.mark.django_db
def test_a_plan_is_solved_and_stored_with_times_and_reasons(alpha):
    with schema_context(alpha.tenant.schema_name):
        _, _, driver, orders, lost = make_day("p")
        plan = plans.plan_create(date=DAY, seconds=1)  # queued after commit (not here)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE  # what the worker runs
        plan.refresh_from_db()
        assert plan.status == Plan.Status.DONE, plan.error
        route = PlanRoute.objects.get(plan=plan)
        assert route.driver == driver and route.distance_m == plan.distance_m > 0
        stops = list(PlanStop.objects.filter(route=route))
        assert sorted(s.order_id for s in stops if not s.is_break) == sorted(o.pk for o in orders)
        assert [s.is_break for s in stops].count(True) == 1  # the driver's lunch
        assert all(a.departs_at <= b.arrives_at for a, b in itertools.pairwise(stops))
        first = next(s for s in stops if s.order_id == orders[0].pk)
        assert first.starts_at.astimezone(ZoneInfo("Europe/London")).hour >= 9  # opens at 09:00
        left = PlanUnassigned.objects.get(plan=plan)
        assert (left.order, left.reason) == (lost, "not_geocoded")
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE  # a second delivery: no-op
        assert PlanRoute.objects.filter(plan=plan).count() == 1


@pytest.mark.django_db
def test_a_plan_is_queued_as_the_routing_job_once_committed(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tenants.tasks, "async_task", lambda *args, **kw: queued.append((args, kw)))
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        make_day("q")
        with django_capture_on_commit_callbacks() as callbacks:
            plan = plans.plan_create(date=DAY, seconds=1)
        assert not queued  # nothing before the commit
        for callback in callbacks:
            callback()
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        plan.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            plans.plan_resolve(plan=plan, allow_reassign=False)
    (first, first_kw), (again, again_kw) = queued
    assert first == ("tenants.tasks.run_in_schema", schema, "routing.tasks.plan_solve", plan.pk)
    assert first_kw == {"q_options": {"task_name": f"{schema}:plan-{plan.pk}"}}
    assert again == first and again_kw["allow_reassign"] is False


@pytest.mark.django_db
def test_a_plan_budget_outside_the_range_is_refused(alpha):
    with schema_context(alpha.tenant.schema_name), pytest.raises(ValidationError) as exc:
        plans.plan_create(date=DAY, seconds=0)
    assert "seconds" in exc.value.message_dict
