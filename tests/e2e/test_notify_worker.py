"""A worker killed while it hands a message to Twilio: the customer still gets exactly one
message (the job, run again, does not send a second: Twilio lists a message to the number
and its status report, carrying the message's key, names it)."""

from __future__ import annotations

import datetime as dt
import os
import signal
from urllib.parse import urlencode

from django.test import override_settings
from django_tenants.utils import schema_context

from notifications import tasks as notifications_tasks
from tests.e2e.conftest import wait_until
from tests.e2e.test_worker import running_worker
from tests.notifications.fake_twilio import running_fake_twilio


def twilio_reports(host: str, message: dict, token: str) -> int:
    """What Twilio does once it has a message: a signed POST of its status to the message's
    status callback URL (which carries the message's own key)."""
    from twilio.request_validator import RequestValidator

    from tests.conftest import host_client

    url = message["StatusCallback"]
    params = {"MessageSid": message["sid"], "MessageStatus": "sent"}
    return (
        host_client(host)
        .post(
            url,
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=RequestValidator(token).compute_signature(url, params),
        )
        .status_code
    )


def test_a_worker_killed_mid_send_never_sends_twice(django_db_setup, django_db_blocker):
    from dispatch.models import Order
    from notifications.models import Notification
    from notifications.services import sending as services
    from tenants.tasks import enqueue_for_tenant

    schema = django_db_setup["alpha"].tenant.schema_name
    world_host = django_db_setup["alpha"].host
    with running_fake_twilio() as (fake, url):
        env = {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "secret-token",
            "TWILIO_FROM": "+447700900000",
            "TWILIO_API_URL": url,
            "NOTIFY_SEND_TIMEOUT_S": "2",
            "TWILIO_CALLBACK_BASE": "http://{host}",
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
            # Twilio reports the message's status to the URL it was given, carrying the
            # message's key: the record learns its id though its worker never heard it
            (message,) = fake.messages
            with (
                override_settings(
                    TWILIO_AUTH_TOKEN=env["TWILIO_AUTH_TOKEN"], TWILIO_CALLBACK_BASE="http://{host}"
                ),
                django_db_blocker.unblock(),
            ):
                assert twilio_reports(world_host, message, env["TWILIO_AUTH_TOKEN"]) == 204
            with running_worker(**env), django_db_blocker.unblock(), schema_context(schema):
                wait_until(
                    lambda: Notification.objects.get(pk=note.pk).status != "sending",
                    timeout=60,
                    interval=0.2,
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
