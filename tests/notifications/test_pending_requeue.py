"""The sweep of messages left pending with no job (their job was lost while the broker was
away): queued again once, never when a schedule holds them, never another tenant's.
(tests/e2e/test_sweeps.py runs it against a real worker, two sweeps at once.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_tenants.utils import schema_context

import tenants.tasks
from dispatch.models import Order
from notifications import tasks
from notifications.models import Notification, NotificationAttempt
from notifications.services import sending
from tests.conftest import tenant_today

pytestmark = pytest.mark.django_db


def stranded(prefix: str, *, minutes_ago: float = 30) -> Notification:
    """A pending SMS whose job never reached the queue, `minutes_ago` old."""
    order = Order.objects.create(
        customer_name=f"{prefix} customer",
        customer_phone="+447700900123",
        delivery_date=tenant_today(1),
    )
    notification = Notification.objects.create(
        order=order, event="confirmed", channel="sms", to=order.customer_phone, body="Booked"
    )
    then = timezone.now() - dt.timedelta(minutes=minutes_ago)
    Notification.objects.filter(pk=notification.pk).update(updated_at=then)
    return notification


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    jobs: list[tuple] = []
    monkeypatch.setattr(tenants.tasks, "async_task", lambda *a, **kw: jobs.append(a) or "id")
    return jobs


def test_a_message_pending_with_no_job_is_queued_again_once(
    alpha, queued, memory_sms, django_capture_on_commit_callbacks
):
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        lost = stranded("lost")
        fresh = stranded("fresh", minutes_ago=1)  # its job may still be on its way
        with django_capture_on_commit_callbacks(execute=True):
            assert sending.pending_requeue() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert sending.pending_requeue() == 0  # stamped: the next sweep leaves it be
        assert queued == [
            ("tenants.tasks.run_in_schema", schema, "notifications.tasks.deliver", lost.pk)
        ]
        assert NotificationAttempt.objects.get(notification=lost).outcome == "re-queued"
        assert not NotificationAttempt.objects.filter(notification=fresh).exists()
        # what the job does with it: sends it, once, whatever number of jobs it gets
        assert tasks.deliver(lost.pk) == "sent"
        assert tasks.deliver(lost.pk) == "sent"
        assert NotificationAttempt.objects.filter(notification=lost, outcome="sent").count() == 1
    assert [sms["body"] for sms in memory_sms] == ["Booked"]


def test_a_message_a_schedule_holds_is_left_to_it(
    alpha, queued, django_capture_on_commit_callbacks
):
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        quiet = stranded("quiet")
        Schedule.objects.create(
            name=f"{schema}:notify-{quiet.pk}-0",  # sent after quiet hours, as _queue names it
            func="tenants.tasks.run_in_schema",
            args=repr((schema, "notifications.tasks.deliver", quiet.pk)),
            schedule_type=Schedule.ONCE,
            next_run=timezone.now() + dt.timedelta(hours=8),
        )
        kept = stranded("kept")
        Schedule.objects.create(  # kept by enqueue_or_defer while the broker was away
            name=f"{schema}:notify-{kept.pk}-0:deferred-0123abcd",
            func="tenants.tasks.run_in_schema",
            args=repr((schema, "notifications.tasks.deliver", kept.pk)),
            schedule_type=Schedule.ONCE,
            next_run=timezone.now(),
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert sending.pending_requeue() == 0
    assert queued == []


def test_a_tenants_sweep_leaves_other_tenants_messages_alone(
    alpha, beta, queued, django_capture_on_commit_callbacks
):
    with schema_context(beta.tenant.schema_name):
        theirs = stranded("theirs")
    with (
        schema_context(alpha.tenant.schema_name),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sending.pending_requeue() == 0
    assert queued == []
    with schema_context(beta.tenant.schema_name):
        assert Notification.objects.get(pk=theirs.pk).status == "pending"
        with django_capture_on_commit_callbacks(execute=True):
            assert sending.pending_requeue() == 1
    assert queued == [
        (
            "tenants.tasks.run_in_schema",
            beta.tenant.schema_name,
            "notifications.tasks.deliver",
            theirs.pk,
        )
    ]
