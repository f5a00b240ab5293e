from importlib import import_module

import pytest
from django.db import connection
from django_q.models import Task
from django_q.tasks import result

from tenants.tasks import enqueue_for_tenant
from tests import jobs


def test_job_runs_in_the_schema_it_was_enqueued_for(alpha, beta):
    task_id = enqueue_for_tenant(jobs.where_am_i, "x", schema_name="beta", q_options={"sync": True})
    outcome = result(task_id)
    assert outcome["schema"] == "beta"
    assert beta.owner_email in outcome["emails"]
    assert alpha.owner_email not in outcome["emails"]
    assert Task.objects.get(id=task_id).name == "beta:where_am_i"
    assert connection.schema_name == "public"  # the worker left the schema again


def test_unknown_schema_is_refused_before_queueing(tenants):
    with pytest.raises(ValueError, match="no schema"):
        enqueue_for_tenant(jobs.where_am_i, "x", schema_name="nope")


def test_housekeeping_runs_in_every_active_tenant_and_purges_old_keys(alpha, beta):
    import datetime as dt

    from django.utils import timezone
    from django_q.models import Schedule
    from django_tenants.utils import schema_context

    from dispatch.models import IdempotencyRecord
    from tenants.services.provisioning import tenant_set_status
    from tenants.tasks import run_for_every_tenant, schedules_ensure

    for schema in ("alpha", "beta"):
        with schema_context(schema):
            old = IdempotencyRecord.objects.create(
                principal="p", key="old", endpoint="e", request_sha256="x"
            )
            IdempotencyRecord.objects.filter(pk=old.pk).update(
                created_at=timezone.now() - dt.timedelta(days=2)
            )
            IdempotencyRecord.objects.create(
                principal="p", key="new", endpoint="e", request_sha256="x"
            )
    tenant_set_status(tenant=beta.tenant, status="suspended")
    from django_q.conf import Conf

    original_sync, Conf.SYNC = Conf.SYNC, True  # run the queued jobs inline
    try:
        assert run_for_every_tenant("dispatch.tasks.idempotency_records_purge") == 1
    finally:
        Conf.SYNC = original_sync
    with schema_context("alpha"):
        assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    with schema_context("beta"):  # suspended: left alone
        assert IdempotencyRecord.objects.count() == 2
    schedules_ensure()
    schedules_ensure()
    assert Schedule.objects.filter(name="purge old idempotency keys").count() == 1


@pytest.mark.django_db
def test_a_job_runs_in_its_tenants_time_zone(alpha):
    """Today, quiet hours and message times in a job are the tenant's, not the server's."""
    from tenants.tasks import run_in_schema

    name = run_in_schema(
        alpha.tenant.schema_name, "django.utils.timezone.get_current_timezone_name"
    )
    assert name == alpha.tenant.time_zone == "Europe/London"


def test_a_job_queued_by_the_release_before_the_move_still_runs(alpha, monkeypatch):
    """Jobs queued (or scheduled for after quiet hours) under their old dotted paths run
    as the job that replaced them, for one release."""
    from tenants.tasks import MOVED, run_in_schema
    from tracking import tasks as tracking_tasks

    ran = []
    monkeypatch.setattr(tracking_tasks, "locations_purge", lambda: ran.append(1) or 7)
    assert run_in_schema(alpha.tenant.schema_name, "tracking.services.locations_purge") == 7
    assert ran == [1]
    for old, new in MOVED.items():  # every new path is a job that exists
        module, name = new.rsplit(".", 1)
        assert module.endswith(".tasks") and callable(getattr(import_module(module), name)), old
