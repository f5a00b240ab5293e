"""The learning jobs (tracking.tasks): nightly in every tenant, each learning only from its
own drivers; days past the GPS retention left to the purge; "learn now" queued once;
`manage.py learn`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from routing.models import (
    LearningDay,
    LearningRun,
    LegObservation,
    ServiceObservation,
    ServiceTime,
    TravelFactor,
)
from routing.services import corrections, learning
from tenants.models import Tenant
from tenants.tasks import Schedule, run_in_schema, schedules
from tests.conftest import tenant_today
from tests.tracking.test_observations import crafted_day
from tracking import tasks
from tracking.services import observations

pytestmark = pytest.mark.django_db


def _history(days: int = 20) -> None:
    """Ten legs a day at Monday 03:00 in one area, each 1.5x the road model (no crafted
    day's leg sets off then); three visits to a slow door."""
    LegObservation.objects.bulk_create(
        [
            LegObservation(
                date=tenant_today(-k),
                hour_of_week=3,
                cell="2861:-3",
                estimate_s=400,
                observed_s=600,
            )
            for k in range(10, 10 + days)
            for _ in range(10)
        ]
    )
    ServiceObservation.objects.bulk_create(
        [
            ServiceObservation(
                date=tenant_today(-12),
                address_key="51.9000:-0.1000",
                size=0,
                configured_s=300,
                observed_s=300 + extra,
            )
            for extra in (400, 420, 380)
        ]
    )


def test_the_nightly_job_is_scheduled_for_every_tenant():
    assert schedules()["learn from the drivers' days"] == Schedule(
        "tracking.tasks.learn_nightly", "D", None
    )


def test_each_tenant_learns_only_from_its_own_drivers(alpha, beta):
    beta_schema, alpha_schema = beta.tenant.schema_name, alpha.tenant.schema_name
    with schema_context(beta_schema):
        crafted_day("beta", tenant_today(-2))
        _history()
    run_in_schema(beta_schema, "tracking.tasks.learn_nightly")
    run_in_schema(alpha_schema, "tracking.tasks.learn_nightly")
    with schema_context(beta_schema):
        assert list(LearningDay.objects.values_list("date", "legs", "stops")) == [
            (tenant_today(-2), 3, 2)
        ]
        run = LearningRun.objects.get()
        assert run.status == LearningRun.Status.DONE
        assert (run.legs, run.visits) == (20 * 10 + 3, 3 + 2)
        hour = TravelFactor.objects.get(kind="hour", key="3")
        assert hour.legs == 200 and 1.2 < hour.factor < 1.5  # one area shares the slowness
        assert TravelFactor.objects.filter(kind="hour").count() == 1  # the day's 3 legs: thin
        assert ServiceTime.objects.get(level="address", key="51.9000:-0.1000").delta_s == 400
        # the held-out day (2 days ago) was replayed, without and with what was learned
        assert run.eval_days == 1 and run.eval_stops == 3
        assert run.mae_before_s is not None and run.mae_after_s is not None
        corrections.forget()
        assert corrections.corrections().hours[3] == (hour.factor, 200)
    with schema_context(alpha_schema):
        # alpha's rows are empty: nothing of beta's is seen, not even through equal ids
        assert not LearningDay.objects.exists()
        assert not LegObservation.objects.exists()
        assert not TravelFactor.objects.exists() and not ServiceTime.objects.exists()
        run = LearningRun.objects.get()
        assert (run.status, run.legs, run.visits, run.first_date) == ("done", 0, 0, None)
        corrections.forget()
        assert corrections.corrections().is_empty
    assert connection.schema_name == "public"


def test_days_past_the_gps_retention_are_left_to_the_purge(alpha):
    with schema_context(alpha.tenant.schema_name):
        Tenant.objects.filter(pk=alpha.tenant.pk).update(location_retention_days=30)
        old = tenant_today(-40)
        crafted_day("old", old, gps=False)
        recent = crafted_day("recent", tenant_today(-3)).day
        run = observations.learn_run(held_out=0)
        assert list(LearningDay.objects.values_list("date", flat=True)) == [recent]
        assert observations.days_unread(tenant_today(-1)) == [old]
        assert run.status == LearningRun.Status.DONE and run.legs == 3
        assert run.days_read == 1


def test_today_is_not_read_before_it_is_over(alpha):
    with schema_context(alpha.tenant.schema_name):
        crafted_day("today", tenant_today())
        observations.learn_run(held_out=0)
        assert not LearningDay.objects.exists()


def test_learn_now_is_queued_once_while_a_run_is_running(alpha, monkeypatch):
    queued = []
    monkeypatch.setattr(
        observations,
        "enqueue_after_commit",
        lambda job, *args, **kwargs: queued.append((job, args, kwargs)),
    )
    with schema_context(alpha.tenant.schema_name):
        assert observations.learn() is True
        assert queued == [(tasks.learn_now, (learning.DAYS,), {"task_name": "learn-now"})]
        LearningRun.objects.create()  # running
        assert observations.learn() is False
        assert len(queued) == 1


def test_learn_now_runs_a_refresh(alpha):
    with schema_context(alpha.tenant.schema_name):
        _history()
    run_id = run_in_schema(alpha.tenant.schema_name, "tracking.tasks.learn_now", 60)
    with schema_context(alpha.tenant.schema_name):
        run = LearningRun.objects.get(pk=run_id)
        assert (run.status, run.legs, run.visits) == ("done", 200, 3)
        assert run.first_date == tenant_today(-29)


def test_the_learn_command(beta):
    with schema_context(beta.tenant.schema_name):
        _history()
    out = io.StringIO()
    call_command("learn", "--schema", beta.tenant.schema_name, "--days", "25", stdout=out)
    # 25 days back: the days 10 to 25 before today only
    assert "160 legs, 3 visits" in out.getvalue() and "Learned." in out.getvalue()
    with schema_context(beta.tenant.schema_name):
        assert LearningRun.objects.get().legs == 160
    with pytest.raises(CommandError):
        call_command("learn", "--schema", "nobody", stdout=io.StringIO())
