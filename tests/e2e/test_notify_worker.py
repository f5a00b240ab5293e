"""A worker killed while it hands a message to Twilio: the customer still gets exactly one
message (the job, run again, asks Twilio, finds it there and does not send a second)."""

from __future__ import annotations

import datetime as dt
import os
import signal

from django_tenants.utils import schema_context

from notifications import tasks as notifications_tasks
from tests.e2e.conftest import wait_until
from tests.e2e.test_worker import running_worker
from tests.notifications.fake_twilio import running_fake_twilio


def due_schedules_run() -> bool:
    """What the cluster's scheduler does every 30 seconds: queue the schedules now due."""
    from django_q.brokers import get_broker
    from django_q.scheduler import scheduler

    scheduler(broker=get_broker())
    return False


def settled(notification_id: int) -> bool:
    from notifications.models import Notification

    return Notification.objects.get(pk=notification_id).status != "sending"


def test_a_worker_killed_mid_send_never_sends_twice(django_db_setup, django_db_blocker):
    from dispatch.models import Order
    from notifications.models import Notification
    from notifications.services import sending as services
    from tenants.tasks import enqueue_for_tenant

    schema = django_db_setup["alpha"].tenant.schema_name
    with running_fake_twilio() as (fake, url):
        env = {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "secret-token",
            "TWILIO_FROM": "+447700900000",
            "TWILIO_API_URL": url,
            "NOTIFY_SEND_TIMEOUT_S": "2",
        }
        fake.hold.set()  # Twilio takes the message and is slow to answer
        with django_db_blocker.unblock(), schema_context(schema):
            order = Order.objects.create(
                customer_name="Kim Kill",
                customer_phone="+447700900777",
                delivery_date=dt.date.today(),
            )
            note = services.notify(order=order, event="delivered", channel="sms", body="Done")
        try:
            with running_worker(**env) as worker:
                wait_until(lambda: len(fake.messages) == 1, timeout=60, interval=0.2)
                os.killpg(worker.pid, signal.SIGKILL)  # mid-send: no answer recorded
                worker.wait(timeout=10)
            fake.release.set()
            fake.hold.clear()
            with django_db_blocker.unblock(), schema_context(schema):
                assert Notification.objects.get(pk=note.pk).status == "sending"
                # the broker hands an unacknowledged job out again (after Q_CLUSTER
                # "retry" seconds); here it is queued again at once, on a new worker
                enqueue_for_tenant(
                    notifications_tasks.deliver,
                    note.pk,
                    schema_name=schema,
                    task_name=f"notify-{note.pk}-again",
                )
            with running_worker(**env), django_db_blocker.unblock(), schema_context(schema):
                # Twilio lists the message, but its status report cannot reach this test:
                # the job looks again a few times (each a schedule) before it takes the one
                # message nobody here claims as this one. The schedules are run here as
                # soon as they are due, instead of on the cluster's 30-second round.
                wait_until(
                    lambda: due_schedules_run() or settled(note.pk),
                    timeout=90,
                    interval=0.5,
                )
                final = Notification.objects.get(pk=note.pk)
            assert len(fake.messages) == 1, "the customer got a second message"
            assert final.status == "sent" and final.provider_id == fake.messages[0]["sid"]
        finally:
            from django_q.models import OrmQ

            with django_db_blocker.unblock():
                for queued in OrmQ.objects.all():  # the job the killed worker held
                    if queued.name().startswith(f"{schema}:notify-{note.pk}"):
                        queued.delete()
                with schema_context(schema):
                    Notification.objects.filter(order=order).delete()
                    order.delete()
