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
import re
from email.mime.image import MIMEImage
from email.utils import formataddr, parseaddr
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_q.models import Schedule

from core import metrics
from core.i18n import order_language
from dispatch.models import Order, OrderStatus
from notifications import tasks
from notifications.models import Notification, NotificationAttempt, NotificationSettings, SmsOptOut
from notifications.services.messages import DEFAULTS, SAMPLE, context_for, render, template_for
from notifications.services.senders import Permanent, Transient, sms_sender
from notifications.signals import eta_window_changed
from routing.models import PlanRoute
from routing.selectors import published_stop
from routing.services.routes import route_timeline
from tenants.selectors import current_tenant
from tenants.services.formats import Formats
from tenants.services.tracking_host import tracking_base_url
from tenants.tasks import enqueue_after_commit, job_path, run_in_schema
from tracking.models import EtaPromise
from tracking.selectors import NOT_TOLD, Eta, customer_promise, tracking_settings
from tracking.services.brand import LOGO_CID, current_brand, logo_bytes
from tracking.services.day import tracking_link_for
from tracking.services.settings import FIELDS as TRACKING_FIELDS
from tracking.services.settings import tracking_settings_update

log = logging.getLogger(__name__)

#: Statuses nothing moves a message out of (a late "sent" callback after "delivered", say).
FINAL = frozenset({"delivered", "undelivered", "failed", "skipped"})
#: The order in which provider statuses happen; a callback never moves a message back.
PROGRESS = {
    "pending": 0,
    "sending": 1,
    "queued": 1,
    "accepted": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "skipped": 3,
}
#: What customers text to stop and restart messages (Twilio's standard keywords).
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})
#: News that is worthless later: during quiet hours it is skipped, not postponed.
TIME_SENSITIVE = frozenset({"out_for_delivery", "arriving_soon", "eta_changed"})


def notify(
    *,
    order: Order,
    event: str,
    channel: str,
    body: str,
    at: dt.datetime | None = None,
    occasion: str = "",
) -> Notification:
    """Queue one message (at `at`: after quiet hours); calling it again for the same
    order, event, channel and occasion returns the first record and sends nothing more."""
    to = order.customer_phone if channel == Notification.Channel.SMS else order.customer_email
    notification, created = Notification.objects.get_or_create(
        order=order,
        event=event,
        channel=channel,
        occasion=occasion,
        defaults={"to": to or "", "body": body},
    )
    notification.fresh = created  # made by this call (callers record what it told)
    if created:
        if not to:
            _finish(notification, "skipped", "no address for this channel")
        else:
            _queue(notification, at=at)
    return notification


def _queue(notification: Notification, *, at: dt.datetime | None = None, name: str = "") -> None:
    schema, pk = connection.schema_name, notification.pk
    name = f"notify-{pk}-{notification.attempts}{'-' + name if name else ''}"
    if at is None:
        enqueue_after_commit(tasks.deliver, pk, task_name=name)
        return
    transaction.on_commit(
        lambda: Schedule.objects.create(
            name=f"{schema}:{name}",
            func=job_path(run_in_schema),
            args=repr((schema, job_path(tasks.deliver), pk)),
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
    metrics.NOTIFICATIONS.labels(notification.channel, status).inc()


def status_callback_url(notification: Notification) -> str | None:
    """Where Twilio reports this message's fate (the tenant's own host), with the
    message's key: its reports name it even before its provider id is known here."""
    domain = current_tenant().get_primary_domain()
    if domain is None or not settings.TWILIO_CALLBACK_BASE:
        return None
    base = settings.TWILIO_CALLBACK_BASE.format(host=domain.domain)
    key = f"?{urlencode({'key': notification.send_key})}" if notification.send_key else ""
    return f"{base}/notifications/twilio/status{key}"


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
            wait = notification.updated_at + dt.timedelta(seconds=settings.NOTIFY_SEND_TIMEOUT_S)
            if wait > timezone.now():  # its worker may still be waiting for the answer
                _queue(notification, at=wait + dt.timedelta(seconds=1), name="check")
                return notification.status
            # the job that handed it over died before recording the answer
            outcome = _reconcile(notification)
            if outcome != Notification.Status.PENDING:
                return outcome
        if notification.status != Notification.Status.PENDING:
            return notification.status  # a duplicate job: already done
        stale = _stale(notification)
        if stale:
            _finish(notification, "skipped", stale)
            return notification.status
        if (
            notification.channel == Notification.Channel.SMS
            and SmsOptOut.objects.filter(phone=notification.to).exists()
        ):
            _finish(notification, "skipped", "the customer replied STOP")
            return notification.status
        if notification.channel == Notification.Channel.SMS and not _sms_rate_allows():
            later = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
            NotificationAttempt.objects.create(
                notification=notification,
                outcome="rate limited",
                detail=f"over {settings.SMS_RATE_PER_MINUTE} SMS a minute: sent from {later:%H:%M}",
            )
            _queue(notification, at=later, name=f"rate-{later:%H%M}")
            return notification.status
        notification.status = Notification.Status.SENDING
        notification.attempts += 1
        notification.save(update_fields=["status", "attempts", "updated_at"])
    try:
        # the email's subject and wrapper in the customer's language, as its body is
        with translation.override(order_language(notification.order)):
            provider_id = _send(notification)
    except Transient as exc:
        return _retry_later(notification, str(exc))
    except Permanent as exc:
        _finish(notification, "failed", str(exc))
        return notification.status
    marked = Notification.objects.filter(pk=notification.pk, status="sending").update(
        status="sent", provider_id=provider_id, updated_at=timezone.now()
    )
    NotificationAttempt.objects.create(
        notification=notification, outcome="sent", detail=provider_id
    )
    if marked:  # not when a status callback got there first
        metrics.NOTIFICATIONS.labels(notification.channel, "sent").inc()
    return "sent"


def _stale(notification: Notification) -> str:
    """Why news about when an order comes is no longer worth sending (it was delivered,
    failed or moved to another day while the message waited), else ""."""
    if notification.event not in TIME_SENSITIVE:
        return ""
    order = Order.objects.filter(pk=notification.order_id).only("status", "delivery_date").first()
    if order is None:
        return "the order is gone"
    if order.status in ("delivered", "failed", "cancelled"):
        return f"the order was {order.status} before this could be sent"
    if notification.occasion and not notification.occasion.startswith(str(order.delivery_date)):
        return "the order moved to another day"
    return ""


def _sms_rate_allows() -> bool:
    """At most SMS_RATE_PER_MINUTE SMS a minute per tenant (the cache's keys carry the
    schema), so that a runaway import or a bug cannot flood customers or the bill."""
    key = f"sms-rate:{timezone.now():%Y%m%d%H%M}"
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key) <= settings.SMS_RATE_PER_MINUTE
    except ValueError:  # expired in between
        cache.set(key, 1, timeout=120)
        return True


#: Looks at the provider's list (a send timeout apart) that must all miss a message before
#: it counts as never handed over: the list lags behind the messages the provider has.
LIST_LOOKS = 3
#: Looks after which a message the list has, that nobody here claims, and whose report
#: (which would name this message by its key) never came, is given up as "outcome unknown".
MAX_LOOKS = 6


def _reconcile(notification: Notification) -> str:
    """A message found `sending` (under its row lock): its worker died with it in hand.
    Its identity is its key, never its text: a status report carrying the key named it
    (sent, with that id); else the provider's list is looked at, LIST_LOOKS times before
    "it never got it, send it now" (the list lags). A message there that no record here
    claims may be this one: its report is waited for, then it is failed as "outcome
    unknown" for the dispatcher, as it is where nobody can tell (email; a provider with
    no list): a customer texted twice is worse off than one texted not at all."""
    finder = sms_sender() if notification.channel == Notification.Channel.SMS else None
    if finder is None or not hasattr(finder, "listed"):
        _finish(notification, "failed", "outcome unknown: the worker stopped while sending")
        return notification.status
    if notification.provider_id:  # its report came, carrying its key
        return _reconciled(notification, notification.provider_id, "its status report named it")
    try:
        listed = finder.listed(
            to=notification.to,
            since=notification.updated_at - dt.timedelta(minutes=1),  # clocks differ a little
        )
    except Transient as exc:  # ask again on the next sweep
        NotificationAttempt.objects.create(
            notification=notification, outcome="look-up failed", detail=str(exc)[:500]
        )
        return notification.status
    key = notification.send_key
    mine = next((m for m in listed if key and m.key == key), None)
    if mine is not None:
        return _reconciled(notification, mine.provider_id, "the provider lists it by its key")
    ids = [m.provider_id for m in listed]
    known = Notification.objects.filter(provider_id__in=ids).values_list("provider_id", flat=True)
    claimed = set(known)
    unclaimed = [m.provider_id for m in listed if m.key is None and m.provider_id not in claimed]
    looked = notification.attempts_made.filter(outcome="looked", at__gte=notification.updated_at)
    looks = 1 + looked.count()
    if unclaimed and looks >= MAX_LOOKS:
        _finish(
            notification,
            "failed",
            f"outcome unknown: the worker stopped while sending; the provider has "
            f"{', '.join(unclaimed)} to this number, which may be this message",
        )
        return notification.status
    if not unclaimed and looks >= LIST_LOOKS:
        notification.status = Notification.Status.PENDING
        notification.save(update_fields=["status", "updated_at"])
        NotificationAttempt.objects.create(
            notification=notification,
            outcome="reconciled",
            detail=f"the provider never got it ({looks} looks): sending it now",
        )
        return notification.status
    seen = f"{', '.join(unclaimed)} to this number, perhaps this" if unclaimed else "not listed"
    NotificationAttempt.objects.create(
        notification=notification, outcome="looked", detail=f"look {looks}: {seen}"[:500]
    )
    later = timezone.now() + dt.timedelta(seconds=settings.NOTIFY_SEND_TIMEOUT_S)
    _queue(notification, at=later, name=f"look-{looks}")
    return notification.status


def _reconciled(notification: Notification, provider_id: str, how: str) -> str:
    notification.status, notification.provider_id = "sent", provider_id
    notification.save(update_fields=["status", "provider_id", "updated_at"])
    NotificationAttempt.objects.create(
        notification=notification, outcome="reconciled", detail=f"{how}: {provider_id}"
    )
    return notification.status


def sending_reconcile(now: dt.datetime | None = None) -> int:
    """The scheduled sweep: messages `sending` for longer than any send takes lost their
    worker; each is reconciled (and sent if the provider never got it)."""
    cutoff = (now or timezone.now()) - dt.timedelta(seconds=2 * settings.NOTIFY_SEND_TIMEOUT_S)
    stuck = Notification.objects.filter(status="sending", updated_at__lt=cutoff)
    return sum(1 for pk in stuck.values_list("pk", flat=True) if deliver(pk) != "sending")


def pending_requeue(now: dt.datetime | None = None) -> int:
    """The scheduled sweep: messages pending for NOTIFY_PENDING_SWEEP_S with no schedule
    holding them (quiet hours, a retry, the SMS rate, a job kept while the broker was
    away) lost their job; each is queued again. Each is stamped (updated_at) and noted
    under its row lock, so two sweeps at once queue it once; `deliver` sends it once
    whatever number of jobs it gets. Returns how many were queued again."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.NOTIFY_PENDING_SWEEP_S)
    schema = connection.schema_name
    prefix = f"{schema}:notify-"
    held = {
        name[len(prefix) :].split("-", 1)[0]
        for name in Schedule.objects.filter(name__startswith=prefix).values_list("name", flat=True)
    }
    with transaction.atomic():
        stranded = [
            n
            for n in Notification.objects.select_for_update(skip_locked=True).filter(
                status=Notification.Status.PENDING, updated_at__lt=cutoff
            )
            if str(n.pk) not in held
        ]
        for notification in stranded:
            Notification.objects.filter(pk=notification.pk).update(updated_at=now)
            NotificationAttempt.objects.create(
                notification=notification,
                outcome="re-queued",
                detail="its job was lost (the queue was away); queued again",
            )
            _queue(notification, name=f"requeued-{int(now.timestamp())}")
    metrics.SWEEP_RECOVERED.labels("notification").inc(len(stranded))
    return len(stranded)


def _send(notification: Notification) -> str:
    if notification.channel == Notification.Channel.SMS:
        sent = sms_sender().send(
            to=notification.to,
            body=notification.body,
            status_callback=status_callback_url(notification),
            sender=notification_settings().sms_sender or None,
        )
        return sent.provider_id

    row = notification_settings()
    business = current_tenant().name
    subject = f"{business}: {notification.get_event_display()}"
    sender = settings.DEFAULT_FROM_EMAIL
    if row.email_from_name:
        sender = formataddr((row.email_from_name, parseaddr(sender)[1]))
    link = re.search(r"https?://\S+/t/\S+", notification.body)
    brand = current_brand(business=business)
    logo = logo_bytes(brand)
    html = render_to_string(
        "notifications/email.html",
        {
            "subject": subject,
            "business": business,
            "brand": brand,
            "logo_cid": LOGO_CID if logo else "",
            "paragraphs": [p for p in notification.body.split("\n\n") if p.strip()],
            "link": link.group(0) if link else "",
        },
    )
    message = EmailMultiAlternatives(
        subject=subject, body=notification.body, from_email=sender, to=[notification.to]
    )
    message.attach_alternative(html, "text/html")
    if logo:  # inline (cid:): shown without "load remote images", and no public URL
        message.mixed_subtype = "related"
        picture = MIMEImage(logo, "png")
        picture.add_header("Content-ID", f"<{LOGO_CID}>")
        picture.add_header("Content-Disposition", "inline", filename="logo.png")
        message.attach(picture)
    try:
        message.send()
    except OSError as exc:
        raise Transient(f"mail server: {exc}") from exc
    return ""


def _retry_later(notification: Notification, detail: str) -> str:
    """Back to pending, and a job later: NOTIFY_RETRY_BASE_S doubled each time, until
    NOTIFY_MAX_ATTEMPTS; then failed."""
    NotificationAttempt.objects.create(
        notification=notification, outcome="retry", detail=detail[:500]
    )
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


def provider_status(
    *, provider_id: str, status: str, error_code: str = "", key: str = ""
) -> Notification | None:
    """A status the provider reported: applied only when it moves the message forward
    (callbacks arrive out of order), never out of a final status. `key` (from the
    callback URL) names the message whose provider id is not known here yet."""
    notification = Notification.objects.filter(provider_id=provider_id).first()
    if notification is None and key and provider_id:
        notification = _provider_id_learnt(key=key, provider_id=provider_id)
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
        NotificationAttempt.objects.create(
            notification=notification, outcome=status, detail=error_code
        )
    if status in ("failed", "undelivered"):
        metrics.NOTIFICATIONS.labels(notification.channel, "undelivered").inc()
    return notification


def _provider_id_learnt(*, key: str, provider_id: str) -> Notification | None:
    """The message with this key, now known by the provider's id (a key already bound
    to another id is left alone: that is not this report's message)."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(send_key=key).first()
        if notification is None or notification.provider_id not in ("", provider_id):
            return None
        if not notification.provider_id:  # updated_at kept: when it was handed over
            Notification.objects.filter(pk=notification.pk).update(provider_id=provider_id)
            notification.provider_id = provider_id
            NotificationAttempt.objects.create(
                notification=notification, outcome="reported", detail=provider_id
            )
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


# --- events -------------------------------------------------------------------------------


def notification_settings():
    row, _ = NotificationSettings.objects.get_or_create(pk=1)
    return row


def tracking_url(order: Order) -> str:
    """The order's tracking link: on the business's own tracking host when it has one."""
    return f"{tracking_base_url()}/t/{tracking_link_for(order)}"


def _sms_allowed(row, now: dt.datetime) -> tuple[bool, dt.datetime | None, str]:
    """(may send, postpone until, why not): the monthly cap and the quiet hours."""
    if row.monthly_sms_cap:
        month = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        used = Notification.objects.filter(
            channel="sms",
            created_at__gte=month,
            status__in=["sending", "sent", "delivered", "undelivered"],
        ).count()
        if used >= row.monthly_sms_cap:
            return False, None, f"monthly SMS cap of {row.monthly_sms_cap} reached"
    if row.quiet_start is not None and row.quiet_end is not None:
        local = timezone.localtime(now)
        start, end, t = row.quiet_start, row.quiet_end, local.time()
        quiet = start <= t < end if start < end else (t >= start or t < end)
        if quiet:
            until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
            if until <= local:
                until += dt.timedelta(days=1)
            return True, until, ""
    return True, None, ""


#: An "ETA changed" waits this long after the last message about when the order comes
#: (the next look says it).
TIMING_GAP = dt.timedelta(minutes=10)


def _timing_sent(order: Order):
    """The order's messages about when it comes that went (or go) out, for its day."""
    return Notification.objects.filter(
        order=order, event__in=TIME_SENSITIVE, occasion__startswith=str(order.delivery_date)
    ).exclude(status="skipped")


def _too_soon(order: Order, now: dt.datetime) -> bool:
    """The customer heard about when their order comes less than `TIMING_GAP` ago."""
    return _timing_sent(order).filter(created_at__gt=now - TIMING_GAP).exists()


def _timing_refusal(order: Order, channel: str, row) -> str:
    """Why a message about when `order` comes must not go by `channel` ("" if it may)."""
    if order.status in ("delivered", "failed", "cancelled"):
        return f"the order is {order.status} already"
    limit = row.order_messages_max
    if limit and _timing_sent(order).filter(channel=channel).count() >= limit:
        return f"{limit} messages about this order's timing today already"
    return ""


def notify_event(
    order: Order, event: str, *, occasion: str = "", promise=None, **context
) -> list[Notification]:
    """Render and queue `event` for `order` on every channel the tenant chose for it
    (`occasion`: which time of an event that may come again). Messages about when the
    order comes say what `promise` (`tracking.selectors.customer_promise`) says, within
    the order's daily budget."""
    row = notification_settings()
    now = timezone.now()
    made = []
    # the customer's language (core.i18n): its words, dates and weekday names
    language = translation.override(order_language(order))
    with language:
        values = context_for(
            order, link=tracking_url(order), shown=tracking_settings(), promise=promise, **context
        )
    for channel, events in (("sms", row.sms_events), ("email", row.email_events)):
        if event not in events:
            continue
        try:
            pickup = order.kind == Order.Kind.PICKUP  # a collection: its own wording
            with language:  # a default template is in the customer's language too
                source = template_for(row, event, channel, pickup=pickup)
                body = render(source, values, one_line=channel == "sms")
        except ValueError as exc:  # a broken template: the dispatcher sees why
            log.warning("template %s.%s: %s", event, channel, exc)
            with language:
                body = render(DEFAULTS[f"{event}.{channel}"], values, one_line=channel == "sms")
        postpone, why = None, ""
        if event in TIME_SENSITIVE:
            why = _timing_refusal(order, channel, row)
        if channel == "sms" and not why:
            _allowed, postpone, why = _sms_allowed(row, now)
            if postpone is not None and event in TIME_SENSITIVE:
                # "two stops away" at 08:00 for a van that came at 21:30 would mislead
                why = "quiet hours: this news would be stale by morning"
        if why:
            notification, created = Notification.objects.get_or_create(
                order=order,
                event=event,
                channel=channel,
                occasion=occasion,
                defaults={
                    "to": order.customer_phone if channel == "sms" else order.customer_email,
                    "body": body,
                },
            )
            if created:
                _finish(notification, "skipped", why)
            made.append(notification)
            continue
        made.append(
            notify(
                order=order, event=event, channel=channel, body=body, at=postpone, occasion=occasion
            )
        )
    return made


def notify_orders(order_ids: list[int], event: str) -> int:
    """The job behind a batch of orders (an import, a route setting off)."""
    count = 0
    for order in Order.objects.filter(pk__in=order_ids):
        count += len(notify_event(order, event))
    return count


def on_order_status(order_id: int, status: str) -> int:
    """The job after an order's status changed: delivered and failed to its customer;
    a driver setting off tells everyone on the route (out for delivery, once each, with
    the window promised) and the next customers that the van is close; and any stop on
    the route whose ETA has left its promised window hears so."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return 0
    count = 0
    if status == OrderStatus.DELIVERED:
        proof = order.proofs.filter(outcome="delivered").order_by("-created_at").first()
        count += len(
            notify_event(order, "delivered", recipient=proof.recipient_name if proof else "")
        )
    elif status == OrderStatus.FAILED:
        last = order.events.filter(to_status="failed").order_by("-created_at").first()
        count += len(
            notify_event(
                order,
                "failed",
                occasion=str(order.delivery_date),
                reason=last.reason if last else "",
            )
        )
    route = _published_route_of(order)
    if route is not None:
        # "on the way" only while it still is: a phone that was offline sends its en route
        # and its delivered together, and the customer must not hear of the first after
        setting_off = status == OrderStatus.EN_ROUTE and order.status == OrderStatus.EN_ROUTE
        count += route_watch(route, setting_off=order if setting_off else None)
    return count


def _published_route_of(order: Order):
    stop = published_stop(order.pk)
    return stop.route if stop else None


#: Orders still to be delivered on a route that set off.
_WAITING = ("dispatched", "en_route")


def route_watch(route, *, setting_off: Order | None = None, now: dt.datetime | None = None) -> int:
    """Time `route` as it stands now and tell its customers what changed for them:
    out for delivery (when the driver sets off to `setting_off`), arriving soon (within
    N stops of `setting_off`, or expected within M minutes), and ETA changed (the live
    ETA left the window last promised; at most `eta_changes_max` times per order).
    Every message is once per order, event and occasion, so running it again is harmless;
    what each says is the order's `customer_promise`, as the tracking page shows it."""
    row, shown = notification_settings(), tracking_settings()
    formats = Formats.of(current_tenant())
    now = now or timezone.now()
    timeline = route_timeline(route, now=now)
    driver = route.driver.name
    on_route = route.stops.filter(order__isnull=False).select_related("order").order_by("sequence")
    stops = [s for s in on_route if s.pk not in timeline.behind and s.order.status in _WAITING]
    told = {
        p.order_id: p for p in EtaPromise.objects.filter(order_id__in=[s.order_id for s in stops])
    }
    start = next(
        (k for k, s in enumerate(stops) if setting_off and s.order_id == setting_off.pk), None
    )
    # "arriving soon" is not sent on top of an "out for delivery" that said the time since
    # the driver set off (or, on a timed look, within the last TIMING_GAP)
    since = now - TIMING_GAP
    if setting_off is not None:
        set_off = setting_off.events.filter(to_status="en_route").order_by("-created_at").first()
        since = set_off.created_at if set_off is not None else now
    count = 0
    for position, stop in enumerate(stops):
        order, times = stop.order, timeline.stops.get(stop.pk)
        live = Eta(
            order=order.pk,
            status=order.status,
            plan=route.plan_id,
            route=route.pk,
            route_version=route.version,
            driver=driver,
            stops_before=position,
            eta=times.starts_at if times else None,
        )
        promise = customer_promise(
            order,
            now=now,
            live=live,
            settings_row=shown,
            told=told.get(order.pk, NOT_TOLD),
            formats=formats,
        )
        day = str(order.delivery_date)  # an order tried again another day is news again
        if setting_off is not None:
            sent = notify_event(order, "out_for_delivery", occasion=day, promise=promise)
            count += len(sent)
            _record_told(order, promise, sent, told)
        ahead = position - start if start is not None else -1
        near = 0 <= ahead < row.arriving_soon_stops
        minutes = dt.timedelta(minutes=row.arriving_soon_minutes)
        soon = bool(minutes and promise.eta is not None and promise.eta - now <= minutes)
        if (near or soon) and not _told_out_since(order, since):
            sent = notify_event(
                order,
                "arriving_soon",
                occasion=day,
                promise=promise,
                stops_before=ahead if near else position,
            )
            count += len(sent)
            _record_told(order, promise, sent, told)
        promised = told.get(order.pk)
        eta = promise.eta
        if eta is None or promised is None or promised.starts_at <= eta <= promised.ends_at:
            continue
        count += _eta_changed(promised, order, promise, row, now)
    return count


def _record_told(order: Order, promise, sent: list[Notification], told: dict) -> None:
    """A message sent just now carried `promise`'s window: it is what the customer was told
    (the window first told is kept for the punctuality report)."""
    if promise.window is None or not any(
        getattr(n, "fresh", False) and n.status != "skipped" for n in sent
    ):
        return
    starts_at, ends_at = promise.window
    row = told.get(order.pk)
    if row is None:
        told[order.pk], _ = EtaPromise.objects.get_or_create(
            order=order,
            defaults={
                "starts_at": starts_at,
                "ends_at": ends_at,
                "first_starts_at": starts_at,
                "first_ends_at": ends_at,
            },
        )
    elif (row.starts_at, row.ends_at) != (starts_at, ends_at):
        row.starts_at, row.ends_at = starts_at, ends_at
        row.save(update_fields=["starts_at", "ends_at", "updated_at"])
        eta_window_changed.send(
            sender=EtaPromise,
            order=order,
            starts_at=starts_at,
            ends_at=ends_at,
            eta=promise.eta,
            changes=row.changes,
        )


def _told_out_since(order: Order, since: dt.datetime) -> bool:
    return (
        Notification.objects.filter(
            order=order,
            event="out_for_delivery",
            created_at__gte=since,
            occasion=str(order.delivery_date),
        )
        .exclude(status="skipped")
        .exists()
    )


def _eta_changed(promised, order: Order, promise, row, now: dt.datetime) -> int:
    """The live ETA left the promised window: say the new one (not within `TIMING_GAP` of
    the last message about it: a later look says it then). The window counts as promised,
    and its webhook goes, only once a message carrying it went out; one the budget or a
    missing address stops is recorded once (skipped, with why), not every minute."""
    if promised.changes >= row.eta_changes_max or _too_soon(order, now):
        return 0
    with transaction.atomic():
        promised = EtaPromise.objects.select_for_update().get(pk=promised.pk)
        eta = promise.eta
        if promised.starts_at <= eta <= promised.ends_at or promised.changes >= row.eta_changes_max:
            return 0  # another job promised a window that holds it
        occasion = f"{order.delivery_date}:{promised.changes + 1}"
        sent = notify_event(order, "eta_changed", occasion=occasion, promise=promise)
        if not any(getattr(n, "fresh", False) and n.status != "skipped" for n in sent):
            return 0
        promised.starts_at, promised.ends_at = promise.window
        promised.changes += 1
        promised.save()
        eta_window_changed.send(
            sender=EtaPromise,
            order=order,
            starts_at=promised.starts_at,
            ends_at=promised.ends_at,
            eta=eta,
            changes=promised.changes,
        )
        return len(sent)


def eta_watch(now: dt.datetime | None = None) -> int:
    """The scheduled job (every minute, per tenant): `route_watch` for today's published
    routes that have set off and still have customers waiting."""
    row = notification_settings()
    if not (row.arriving_soon_minutes or row.eta_changes_max):
        return 0
    now = now or timezone.now()
    routes = (
        PlanRoute.objects.filter(
            plan__published_at__isnull=False,
            plan__date=timezone.localdate(now),
            stops__order__status__in=["en_route", "arrived", "delivered", "failed"],
        )
        .filter(stops__order__status__in=_WAITING)
        .select_related("plan", "driver", "vehicle")
        .distinct()
    )
    return sum(route_watch(route, now=now) for route in routes)


def route_watch_by_id(route_id: int) -> int:
    """The job behind `on_route_version`: only a route that has set off has promises to keep."""
    route = PlanRoute.objects.filter(pk=route_id).select_related("plan", "driver").first()
    return route_watch(route) if route is not None and route.plan.is_published else 0


def notify_rescheduled(order_id: int) -> int:
    """The job behind `on_rescheduled`; the occasion is the day and window as they are now
    (a second reschedule to another day is another message; the job run twice is not)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None or order.status in ("delivered", "cancelled", "en_route", "arrived"):
        return 0
    EtaPromise.objects.filter(order=order).delete()  # a new day: a new promise when it sets off
    windows = ",".join(f"{w['start']}-{w['end']}" for w in order.time_windows or [])
    return len(notify_event(order, "rescheduled", occasion=f"{order.delivery_date}|{windows}"[:64]))


@transaction.atomic
def settings_update(**values) -> object:
    """Save the tenant's notification settings, and the tracking settings the same form
    shows (`tracking.services.settings`); every template is tried on sample data first,
    and every problem is reported by name (nothing is saved)."""
    row = notification_settings()
    templates = {k: v for k, v in (values.pop("templates", None) or {}).items() if v.strip()}
    shown = {name: values.pop(name) for name in list(values) if name in TRACKING_FIELDS}
    errors = {}
    for key, source in templates.items():
        try:
            render(source, SAMPLE)
        except ValueError as exc:
            errors[f"template_{key.replace('.', '_')}"] = str(exc)
    for name, value in values.items():
        setattr(row, name, value)
    row.templates = templates
    try:
        row.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:  # undone with the rest when anything is refused (atomic)
        tracking_settings_update(**shown)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    row.save()
    return row
