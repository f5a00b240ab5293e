"""Sending customer messages: one record per (order, event, channel), delivered by a
tenant-aware django-q2 job, retried with backoff on transient errors, never on permanent
ones; provider status callbacks and STOP / START keywords.

Exactly once: the record is created once (a unique constraint), a job sends only a record
still `pending` (taken under a row lock and marked `sending` in the same transaction), and a
record found `sending` by a later job (the worker died after handing the message over, or
before) is not sent again blindly: it is marked failed with "outcome unknown" for the
dispatcher, since sending it twice is worse for a customer than once not at all.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dispatch.models import Order
from notifications.models import Notification, NotificationAttempt, SmsOptOut
from notifications.senders import Permanent, Transient, sms_sender

log = logging.getLogger(__name__)

#: Statuses nothing moves a message out of (a late "sent" callback after "delivered", say).
FINAL = frozenset({"delivered", "undelivered", "failed", "skipped"})
#: The order in which provider statuses happen; a callback never moves a message back.
PROGRESS = {"pending": 0, "sending": 1, "queued": 1, "accepted": 1, "sent": 2,
            "delivered": 3, "undelivered": 3, "failed": 3, "skipped": 3}  # fmt: skip
#: What customers text to stop and restart messages (Twilio's standard keywords).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                        "OPTOUT"})  # fmt: skip
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})


def notify(*, order: Order, event: str, channel: str, body: str) -> Notification:
    """Queue one message; calling it again for the same order, event and channel returns
    the first record and sends nothing more."""
    to = order.customer_phone if channel == Notification.Channel.SMS else order.customer_email
    notification, created = Notification.objects.get_or_create(
        order=order, event=event, channel=channel, defaults={"to": to or "", "body": body}
    )
    if created:
        if not to:
            _finish(notification, "skipped", "no address for this channel")
        else:
            _queue(notification)
    return notification


def _queue(notification: Notification, *, at: dt.datetime | None = None) -> None:
    from django_q.models import Schedule

    from tenants.tasks import enqueue_for_tenant

    schema, pk = connection.schema_name, notification.pk
    name = f"notify-{pk}-{notification.attempts}"
    if at is None:
        transaction.on_commit(
            lambda: enqueue_for_tenant(
                "notifications.services.deliver", pk, schema_name=schema, task_name=name
            )
        )
        return
    transaction.on_commit(
        lambda: Schedule.objects.create(
            name=f"{schema}:{name}",
            func="tenants.tasks.run_in_schema",
            args=repr((schema, "notifications.services.deliver", pk)),
            schedule_type=Schedule.ONCE,
            next_run=at,
        )
    )


def _finish(notification: Notification, status: str, detail: str = "") -> None:
    notification.status = status
    notification.error = detail[:500] if status in ("failed", "skipped") else notification.error
    notification.save(update_fields=["status", "error", "updated_at"])
    NotificationAttempt.objects.create(
        notification=notification, outcome=status, detail=detail[:500]
    )


def status_callback_url(notification: Notification) -> str | None:
    """Where Twilio reports this message's fate (the tenant's own host)."""
    from tenants.selectors import current_tenant

    domain = current_tenant().get_primary_domain()
    if domain is None or not settings.TWILIO_CALLBACK_BASE:
        return None
    return f"{settings.TWILIO_CALLBACK_BASE.format(host=domain.domain)}/notifications/twilio/status"


def deliver(notification_id: int) -> str:
    """The job: hand a pending message to the provider, once. Returns the new status."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id)
            .first()
        )
        if notification is None:
            return "locked"  # another worker has it right now
        if notification.status == Notification.Status.SENDING:
            # an earlier job handed it over and died before recording the answer
            _finish(notification, "failed", "outcome unknown: the worker stopped while sending")
            return notification.status
        if notification.status != Notification.Status.PENDING:
            return notification.status  # a duplicate job: already done
        if (
            notification.channel == Notification.Channel.SMS
            and SmsOptOut.objects.filter(phone=notification.to).exists()
        ):
            _finish(notification, "skipped", "the customer replied STOP")
            return notification.status
        notification.status = Notification.Status.SENDING
        notification.attempts += 1
        notification.save(update_fields=["status", "attempts", "updated_at"])
    try:
        provider_id = _send(notification)
    except Transient as exc:
        return _retry_later(notification, str(exc))
    except Permanent as exc:
        _finish(notification, "failed", str(exc))
        return notification.status
    Notification.objects.filter(pk=notification.pk, status="sending").update(
        status="sent", provider_id=provider_id, updated_at=timezone.now()
    )
    NotificationAttempt.objects.create(notification=notification, outcome="sent",
                                       detail=provider_id)  # fmt: skip
    return "sent"


def _send(notification: Notification) -> str:
    if notification.channel == Notification.Channel.SMS:
        sent = sms_sender().send(
            to=notification.to,
            body=notification.body,
            status_callback=status_callback_url(notification),
        )
        return sent.provider_id
    from django.core.mail import EmailMultiAlternatives

    message = EmailMultiAlternatives(
        subject=notification.get_event_display(),
        body=notification.body,
        to=[notification.to],
    )
    try:
        message.send()
    except OSError as exc:
        raise Transient(f"mail server: {exc}") from exc
    return ""


def _retry_later(notification: Notification, detail: str) -> str:
    """Back to pending, and a job later: NOTIFY_RETRY_BASE_S doubled each time, until
    NOTIFY_MAX_ATTEMPTS; then failed."""
    NotificationAttempt.objects.create(notification=notification, outcome="retry",
                                       detail=detail[:500])  # fmt: skip
    if notification.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        Notification.objects.filter(pk=notification.pk).update(status="sending")
        notification.refresh_from_db()
        _finish(notification, "failed", f"gave up after {notification.attempts} attempts: {detail}")
        return "failed"
    delay = settings.NOTIFY_RETRY_BASE_S * 2 ** (notification.attempts - 1)
    with transaction.atomic():
        Notification.objects.filter(pk=notification.pk).update(
            status="pending", error=detail[:500], updated_at=timezone.now()
        )
        notification.refresh_from_db()
        _queue(notification, at=timezone.now() + dt.timedelta(seconds=delay))
    return "pending"


def provider_status(*, provider_id: str, status: str, error_code: str = "") -> Notification | None:
    """A status the provider reported: applied only when it moves the message forward
    (callbacks arrive out of order), never out of a final status."""
    notification = Notification.objects.filter(provider_id=provider_id).first()
    if notification is None or status not in PROGRESS:
        return notification
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification.pk)
        current = notification.status
        if current in FINAL or PROGRESS[status] <= PROGRESS.get(current, 0):
            NotificationAttempt.objects.create(
                notification=notification, outcome=f"ignored {status}"
            )
            return notification
        notification.status = status if status in Notification.Status.values else current
        if error_code:
            notification.error = f"provider error {error_code}"
        notification.save(update_fields=["status", "error", "updated_at"])
        NotificationAttempt.objects.create(notification=notification, outcome=status,
                                           detail=error_code)  # fmt: skip
    return notification


def inbound_sms(*, phone: str, body: str) -> str | None:
    """STOP-like words opt the number out, START-like words back in; returns what changed."""
    word = (body or "").strip().upper()
    if word in STOP_WORDS:
        SmsOptOut.objects.get_or_create(phone=phone)
        return "opted_out"
    if word in START_WORDS:
        SmsOptOut.objects.filter(phone=phone).delete()
        return "opted_in"
    return None
