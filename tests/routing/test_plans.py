"""Plans: a day's orders solved in the background and stored in the tenant's own schema."""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from routing import services
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
from tests.routing.test_conversion import DAY, make_day


@pytest.mark.django_db
def test_a_plan_is_solved_and_stored_with_times_and_reasons(alpha):
    with schema_context(alpha.tenant.schema_name):
        _, _, driver, orders, lost = make_day("p")
        plan = services.plan_create(date=DAY, seconds=1)  # queued after commit (not here)
        assert services.plan_solve(plan.pk) == Plan.Status.DONE  # what the worker runs
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
        assert services.plan_solve(plan.pk) == Plan.Status.DONE  # a second delivery: no-op
        assert PlanRoute.objects.filter(plan=plan).count() == 1


@pytest.mark.django_db
def test_a_plan_budget_outside_the_range_is_refused(alpha):
    with schema_context(alpha.tenant.schema_name), pytest.raises(ValidationError) as exc:
        services.plan_create(date=DAY, seconds=0)
    assert "seconds" in exc.value.message_dict
