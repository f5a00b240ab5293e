"""The sweeps against real workers: a plan whose worker is killed (SIGKILL) mid-solve is
marked failed with its reason, and only once its worker is really gone; a message whose
job never reached the queue is queued again once by two sweeps running at once, and a
real worker sends it once."""

from __future__ import annotations

import datetime as dt
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

import tenants.tasks
from tests.conftest import login_client, tenant_today
from tests.e2e.conftest import live_tenant, wait_until
from tests.e2e.test_worker import running_worker

LATER = dt.timedelta(hours=1)  # past any budget and sweep wait: only the worker's life counts


def _plan_status(schema: str, plan_id: int) -> str:
    from routing.models import Plan

    with schema_context(schema):
        return Plan.objects.values_list("status", flat=True).get(pk=plan_id)


def test_a_plan_whose_worker_is_killed_mid_solve_is_failed_by_the_sweep(
    django_db_setup, django_db_blocker
):
    from routing.models import Plan
    from routing.services import plans, recovery
    from tests.routing.test_conversion import DAY, make_day

    tenant = live_tenant(django_db_blocker, "http://localhost:8000", "killed")
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        make_day("killed", orders=12)
        plan = plans.plan_create(date=DAY, seconds=120)  # committed, so queued at once
    with running_worker(Q_SCHEDULER="0") as worker, django_db_blocker.unblock():
        wait_until(lambda: _plan_status(tenant.schema, plan.pk) == "solving", timeout=90)
        with schema_context(tenant.schema):  # its worker is alive: left to it, however late
            assert recovery.plans_recover(timezone.now() + LATER) == 0
        os.killpg(worker.pid, signal.SIGKILL)  # the cluster and its workers, mid-solve
        worker.wait(timeout=10)
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert Plan.objects.get(pk=plan.pk).status == Plan.Status.SOLVING  # stuck, as before
        assert recovery.plans_recover() == 0  # within its budget: not yet
        # PostgreSQL lets go of the dead worker's lock when it notices the connection closed
        wait_until(lambda: recovery.plans_recover(timezone.now() + LATER), timeout=30)
        failed = Plan.objects.get(pk=plan.pk)
        assert (failed.status, failed.error) == (Plan.Status.FAILED, recovery.WORKER_LOST)
        assert recovery.plans_recover(timezone.now() + LATER) == 0
        page = login_client(tenant.provisioned.domain.domain, tenant.owner_email).get(
            f"/plans/{plan.pk}/"
        )
        connection.set_schema_to_public()
    assert page.status_code == 200
    assert "The optimiser stopped before it finished" in page.content.decode()


def test_a_message_whose_job_was_never_queued_is_sent_once_after_the_sweep(
    django_db_setup, django_db_blocker, monkeypatch
):
    from dispatch.models import Order
    from notifications.models import Notification, NotificationAttempt
    from notifications.services import sending

    def refused(*args, **kwargs):
        raise ConnectionError("the queue is away")

    tenant = live_tenant(django_db_blocker, "http://localhost:8000", "stranded")
    monkeypatch.setattr(tenants.tasks, "async_task", refused)
    monkeypatch.setattr(tenants.tasks, "_defer", refused)  # and the database refused it too
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        order = Order.objects.create(
            customer_name="Stranded", customer_phone="+447700900123", delivery_date=tenant_today(1)
        )
        notification = sending.notify(order=order, event="confirmed", channel="sms", body="Booked")
        assert Notification.objects.get(pk=notification.pk).status == "pending"  # no job
    monkeypatch.undo()
    swept_at = timezone.now() + dt.timedelta(seconds=2 * 300)

    def sweep(_: int) -> int:
        try:
            with schema_context(tenant.schema):
                return sending.pending_requeue(swept_at)
        finally:
            connection.close()

    with django_db_blocker.unblock():
        with ThreadPoolExecutor(2) as pool:  # two schedulers' sweeps at once
            assert sorted(pool.map(sweep, range(2))) == [0, 1]
        with running_worker(Q_SCHEDULER="0"):
            wait_until(
                lambda: _status(tenant.schema, notification.pk) == "sent", timeout=90, interval=0.5
            )
        with schema_context(tenant.schema):
            attempts = list(
                NotificationAttempt.objects.filter(notification_id=notification.pk)
                .order_by("pk")
                .values_list("outcome", flat=True)
            )
        connection.set_schema_to_public()
    assert attempts == ["re-queued", "sent"]


def _status(schema: str, notification_id: int) -> str:
    from notifications.models import Notification

    with schema_context(schema):
        return Notification.objects.values_list("status", flat=True).get(pk=notification_id)
