"""The sweep of plans whose job was lost: a plan still queued is queued again; a plan
solving with no live worker (nobody holds its lock) is marked failed with the reason on
its page; a plan a worker holds, or one within its budget, or another tenant's, is left be.
(tests/e2e/test_sweeps.py kills a real worker mid-solve.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

import tenants.tasks
from config.database import url_of
from routing.models import Plan
from routing.services import plans, recovery
from tests.conftest import login_client
from tests.routing.test_conversion import DAY, make_day

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(hours=1)  # well past any budget and PLAN_SWEEP_AFTER_S


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    jobs: list[tuple] = []
    monkeypatch.setattr(
        tenants.tasks, "async_task", lambda *a, **kw: jobs.append((a, kw.get("allow_reassign")))
    )
    return jobs


@contextmanager
def worker_holding(plan: Plan) -> Iterator[None]:
    """Another database session holding the plan's lock, as a live worker solving it does."""
    name = f"routing.plan:{connection.schema_name}:{plan.pk}"
    with psycopg.connect(url_of(connection.settings_dict), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [name])
        yield


def solving(prefix: str, *, started: dt.datetime) -> Plan:
    make_day(prefix)
    plan = plans.plan_create(date=DAY, seconds=10)
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.SOLVING, started_at=started)
    plan.refresh_from_db()
    return plan


def test_a_plan_solving_with_no_live_worker_fails_with_the_reason_on_its_page(alpha, queued):
    with schema_context(alpha.tenant.schema_name):
        plan = solving("dead", started=timezone.now())
        revision = plan.revision
        assert recovery.plans_recover() == 0  # still within its budget
        assert recovery.plans_recover(timezone.now() + LATER) == 1
        plan.refresh_from_db()
        assert (plan.status, plan.error) == (Plan.Status.FAILED, recovery.WORKER_LOST)
        assert plan.revision == revision + 1  # an open board hears of it
        assert recovery.plans_recover(timezone.now() + LATER) == 0
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/plans/{plan.pk}/")
    assert page.status_code == 200
    assert "The optimiser stopped before it finished" in page.content.decode()
    assert queued == []  # not solved again by itself


def test_a_plan_a_live_worker_holds_is_left_to_it(alpha, queued):
    with schema_context(alpha.tenant.schema_name):
        plan = solving("alive", started=timezone.now() - LATER)
        with worker_holding(plan):
            assert recovery.plans_recover(timezone.now() + LATER) == 0
            assert plans.plan_solve(plan.pk) == Plan.Status.SOLVING  # a duplicate job: no-op
        plan.refresh_from_db()
        assert plan.status == Plan.Status.SOLVING


def test_a_plan_queued_with_no_job_is_queued_again_once_per_wait(
    alpha, queued, django_capture_on_commit_callbacks
):
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        make_day("lost")
        plan = plans.plan_create(date=DAY, seconds=1)  # its job lost (on_commit never ran)
        assert recovery.plans_recover() == 0  # just asked for: its job may be on its way
        soon = timezone.now() + LATER
        with django_capture_on_commit_callbacks(execute=True):
            assert recovery.plans_recover(soon) == 1
            assert recovery.plans_recover(soon) == 0  # stamped: given its time again
        assert queued == [
            (("tenants.tasks.run_in_schema", schema, "routing.tasks.plan_solve", plan.pk), True)
        ]
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE  # what the job does


def test_a_published_plans_lost_re_plan_keeps_stops_on_their_drivers(
    alpha, queued, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        make_day("kept")
        plan = plans.plan_create(date=DAY, seconds=1)
        plans.plan_solve(plan.pk)
        Plan.objects.filter(pk=plan.pk).update(
            status=Plan.Status.QUEUED, published_at=timezone.now(), queued_at=timezone.now()
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert recovery.plans_recover(timezone.now() + LATER) == 1
    assert [allow_reassign for _, allow_reassign in queued] == [False]


def test_a_tenants_sweep_leaves_other_tenants_plans_alone(alpha, beta, queued):
    with schema_context(beta.tenant.schema_name):
        theirs = solving("theirs", started=timezone.now() - LATER)
    with schema_context(alpha.tenant.schema_name):
        assert recovery.plans_recover(timezone.now() + LATER) == 0
    with schema_context(beta.tenant.schema_name):
        assert Plan.objects.get(pk=theirs.pk).status == Plan.Status.SOLVING
        assert recovery.plans_recover(timezone.now() + LATER) == 1
        assert Plan.objects.get(pk=theirs.pk).status == Plan.Status.FAILED
