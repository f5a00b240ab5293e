"""Conversations with customers: a text a customer sends to the tenant's number lands on
their order (STOP / START still opt them out and in, and are shown too); a dispatcher
answers from the order page, from the tenant's own sender, through the same SMS sender
as the automatic messages. Every change reaches the tenant's open dashboards once
committed (`{"type": "conversation", ...}` on the dispatchers' socket).

Exactly once: an inbound text is stored once per Twilio MessageSid (a unique constraint;
Twilio redelivers a webhook it did not see answered); an answer is stored once per key
(the answer form's, made when the page was rendered: a double click sends once).
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dispatch.models import Order, OrderStatus
from dispatch.services.phones import phone_e164
from notifications.models import CustomerMessage
from notifications.selectors import sms_opted_out, unread_count
from notifications.services.senders import Permanent, Transient, sms_sender
from notifications.services.sending import FINAL, PROGRESS, inbound_sms, notification_settings
from tenants.selectors import current_tenant
from tenants.services.formats import Formats
from tracking.services.hub import dispatch_group
from tracking.services.live import send_on_commit

log = logging.getLogger(__name__)

#: What Twilio (and a phone) carries at most in one message: ten concatenated parts.
MAX_ANSWER_CHARS = 1600
#: The answer form's key: what `new_send_key` makes (URL-safe base64).
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,32}$")
#: The labels of a message's status on the dashboard (the model's are not translated).
STATUS_LABELS = {
    "received": gettext_lazy("Received"),
    "pending": gettext_lazy("Sending"),
    "sent": gettext_lazy("Sent"),
    "delivered": gettext_lazy("Delivered"),
    "undelivered": gettext_lazy("Not delivered"),
    "failed": gettext_lazy("Failed"),
}
_DONE = (OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.CANCELLED)


def customer_phone(raw: str) -> str:
    """The sender's number as orders store it (E.164, read in the tenant's country);
    a number the phone helpers cannot read is kept as it came (a short code, say)."""
    try:
        return phone_e164(raw, region=current_tenant().country) or raw.strip()
    except ValidationError:
        return raw.strip()[:20]


def order_for_phone(phone: str, *, raw: str = "") -> Order | None:
    """The order a text from `phone` is about: one still to be delivered (today first,
    then the nearest coming day, then one with no day yet), else the most recent."""
    numbers = {n for n in (phone, raw.strip()) if n}
    if not numbers:
        return None
    orders = Order.objects.filter(customer_phone__in=numbers)
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(current_tenant().time_zone))
    waiting = orders.exclude(status__in=_DONE)
    return (
        waiting.filter(delivery_date__gte=today).order_by("delivery_date", "-created_at").first()
        or waiting.filter(delivery_date__isnull=True).order_by("-created_at").first()
        or orders.order_by("-created_at", "-pk").first()
    )


def message_payload(message: CustomerMessage) -> dict:
    """What the page's script shows of a message (the socket and the JSON answers)."""
    formats = Formats.of(current_tenant())
    sender = message.sent_by
    return {
        "id": message.pk,
        "order": message.order_id,
        "direction": message.direction,
        "body": message.body,
        "status": message.status,
        "status_label": str(STATUS_LABELS.get(message.status, message.status)),
        "error": message.error,
        "sent_by": sender.get_full_name() if sender is not None else "",
        "at": message.created_at.isoformat(),
        "at_text": formats.stamp(message.created_at),
        "read": message.read_at is not None,
    }


def _broadcast(message: CustomerMessage | None, *, order_id: int | None, **extra) -> None:
    """Every dispatcher of this tenant (the group carries the schema) hears of the change,
    with the unread count as it stands, once committed."""
    event = {
        "type": "conversation",
        "order": order_id,
        "message": message_payload(message) if message is not None else None,
        "unread": unread_count(),
        **extra,
    }
    send_on_commit([(dispatch_group(connection.schema_name), event)])


def inbound_received(*, raw_phone: str, body: str, provider_id: str = "") -> CustomerMessage | None:
    """A text from a customer (Twilio's inbound webhook): STOP / START keep their meaning
    (`sending.inbound_sms`), and every text, those included, is kept on the sender's order
    (or on none). Twilio delivering it again (the same MessageSid) changes nothing: not
    even the opt-out, so an old STOP delivered again cannot undo the START that followed
    it. A request with no sender (not a phone's text) keeps nothing: None."""
    raw_phone = (raw_phone or "").strip()
    if not raw_phone:
        return None
    provider_id = (provider_id or "")[:64]
    if provider_id:
        known = CustomerMessage.objects.filter(
            direction=CustomerMessage.Direction.INBOUND, provider_id=provider_id
        ).first()
        if known is not None:
            return known
    phone = customer_phone(raw_phone)
    order = order_for_phone(phone, raw=raw_phone)
    try:
        # the opt-out and the text together: the delivery that loses a race for the same
        # MessageSid (the constraint) applies neither
        with transaction.atomic():
            inbound_sms(phone=raw_phone, body=body)
            message = CustomerMessage.objects.create(
                order=order,
                direction=CustomerMessage.Direction.INBOUND,
                phone=phone[:20],
                body=(body or "")[:MAX_ANSWER_CHARS],
                status=CustomerMessage.Status.RECEIVED,
                provider_id=provider_id,
            )
    except IntegrityError:  # the same delivery, twice at once: the other one stored it
        return CustomerMessage.objects.get(
            direction=CustomerMessage.Direction.INBOUND, provider_id=provider_id
        )
    # STOP and START change what the order page may do: it says so at once
    _broadcast(message, order_id=message.order_id, opted_out=sms_opted_out(phone=raw_phone))
    return message


def conversation_read(*, order: Order | None = None, phone: str = "") -> int:
    """Mark the customer's texts on `order` (or, with no order, those of `phone`) read;
    returns how many were unread. The other dashboards' unread counts follow."""
    unread = CustomerMessage.objects.filter(
        direction=CustomerMessage.Direction.INBOUND, read_at__isnull=True
    )
    unread = (
        unread.filter(order=order)
        if order is not None
        else unread.filter(order__isnull=True, phone=phone)
    )
    marked = unread.update(read_at=timezone.now())
    if marked:
        _broadcast(None, order_id=order.pk if order is not None else None, read=True)
    return marked


def answer_status_url(message: CustomerMessage) -> str | None:
    """Where Twilio reports the answer's fate (the tenant's own host), by the answer's key."""
    domain = current_tenant().get_primary_domain()
    if domain is None or not settings.TWILIO_CALLBACK_BASE:
        return None
    base = settings.TWILIO_CALLBACK_BASE.format(host=domain.domain)
    return f"{base}/notifications/twilio/answer-status?{urlencode({'key': message.send_key})}"


def answer_send(*, order: Order, body: str, key: str, user) -> tuple[CustomerMessage, bool]:
    """The dispatcher's answer to the order's customer, sent now from the tenant's sender;
    returns (the message, whether this call made it). The same `key` again (a double
    click, a retried request) returns the first answer and sends nothing. Raises
    ValidationError by field: an empty or too long text, a customer who answered STOP,
    an order without a phone. A provider's refusal is kept on the message (failed)."""
    errors: dict[str, list[str]] = {}
    text = (body or "").strip()
    if not _KEY.match(key or ""):
        errors["key"] = [_("This form is out of date: reload the page and write it again.")]
    if not text:
        errors["body"] = [_("Write the answer first.")]
    elif len(text) > MAX_ANSWER_CHARS:
        errors["body"] = [
            _("At most %(max)d characters (this one has %(count)d).")
            % {"max": MAX_ANSWER_CHARS, "count": len(text)}
        ]
    if errors:
        raise ValidationError(errors)
    first = CustomerMessage.objects.filter(send_key=key).first()
    if first is not None:
        return _same_answer(first, order)
    phone = order.customer_phone
    if not phone:
        raise ValidationError({"body": [_("This order has no phone number to text.")]})
    if sms_opted_out(phone=phone):
        raise ValidationError(
            {
                "body": [
                    _(
                        "The customer answered STOP: no text can be sent to them until "
                        "they answer START."
                    )
                ]
            }
        )
    try:
        with transaction.atomic():
            message = CustomerMessage.objects.create(
                order=order,
                direction=CustomerMessage.Direction.OUTBOUND,
                phone=phone,
                body=text,
                status=CustomerMessage.Status.PENDING,
                send_key=key,
                sent_by=user if getattr(user, "pk", None) else None,
            )
    except IntegrityError:  # the other click's request stored it first
        return _same_answer(CustomerMessage.objects.get(send_key=key), order)
    _hand_over(message)
    return message, True


def _same_answer(message: CustomerMessage, order: Order) -> tuple[CustomerMessage, bool]:
    if message.order_id != order.pk or message.direction != CustomerMessage.Direction.OUTBOUND:
        raise ValidationError(
            {"key": [_("This form is out of date: reload the page and write it again.")]}
        )
    return message, False


def _hand_over(message: CustomerMessage) -> None:
    """Send the stored answer (committed first: a second click finds it, whatever happens
    here); what the provider said is kept on it."""
    try:
        sent = sms_sender().send(
            to=message.phone,
            body=message.body,
            status_callback=answer_status_url(message),
            sender=notification_settings().sms_sender or None,
        )
    except (Transient, Permanent) as exc:
        log.warning("answer %s not sent: %s", message.pk, exc)
        CustomerMessage.objects.filter(pk=message.pk).update(
            status=CustomerMessage.Status.FAILED, error=str(exc)[:500]
        )
    else:
        # a status report may have come first (it names the answer by its key)
        CustomerMessage.objects.filter(pk=message.pk, status=CustomerMessage.Status.PENDING).update(
            status=CustomerMessage.Status.SENT
        )
        CustomerMessage.objects.filter(pk=message.pk, provider_id="").update(
            provider_id=sent.provider_id[:64]
        )
    message.refresh_from_db()
    _broadcast(message, order_id=message.order_id)


def answer_status(*, key: str, provider_id: str, status: str, error_code: str = "") -> bool:
    """A status Twilio reported for an answer (found by its key): applied only when it
    moves the answer forward (reports come out of order), never out of a final status."""
    if not key or status not in PROGRESS:
        return False
    with transaction.atomic():
        message = (
            CustomerMessage.objects.select_for_update()
            .filter(send_key=key, direction=CustomerMessage.Direction.OUTBOUND)
            .first()
        )
        if message is None:
            return False
        if provider_id and not message.provider_id:
            message.provider_id = provider_id[:64]
        current = message.status
        moves = current not in FINAL and PROGRESS[status] > PROGRESS.get(current, 0)
        if moves and status in CustomerMessage.Status.values:
            message.status = status
            if error_code:
                message.error = f"provider error {error_code}"[:500]
        message.save(update_fields=["status", "provider_id", "error"])
        if moves:
            _broadcast(message, order_id=message.order_id)
    return moves
