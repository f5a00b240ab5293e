"""Masked calls and texts between a driver and a stop's customer (issue 26, item 2).

A driver opens a session for a stop of today's route: one number of the tenant's pool
joins the driver's phone and the customer's for that stop until the end of the delivery
day. Twilio sends each call and text to that pool number to our webhooks; from one side
of an open session they reach the other side, from the pool number, so that neither sees
the other's number. Whether a session may still connect is decided when the call or text
arrives (`refusal`): the receivers close sessions when an order ends, but the check at
call time is the authority.

A pool number serves one open session per phone (the model's unique constraints): a call
from a phone to a pool number names exactly one other phone.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from core.i18n import DEFAULT_LANGUAGE, tenant_language
from dispatch.models import Driver, Order
from dispatch.models.orders import FINAL_STATUSES
from dispatch.services.phones import phone_e164
from notifications.models import MaskedContact, MaskedSession, ProxyNumber
from notifications.services.senders import Permanent, Transient, sms_sender
from routing.selectors import published_stop
from tenants.selectors import current_tenant

log = logging.getLogger(__name__)

#: Twilio's voices by our languages (<Say language="...">).
SAY_LANGUAGES = {"en": "en-GB", "fr": "fr-FR", "de": "de-DE", "es": "es-ES", "fi": "fi-FI"}


#: Why a call or text was not put through (MaskedContact.refused).
REFUSED_CLOSED = "session_closed"
REFUSED_EXPIRED = "session_expired"
REFUSED_FINISHED = "order_finished"
REFUSED_MOVED = "stop_moved"


class StopNotFound(Exception):
    """The order is not on this driver's current published route (a 404 for the driver)."""


# --- the owner's pool ---------------------------------------------------------------------


def pool_active() -> bool:
    """Whether the tenant has any active pool number: without one, drivers call directly."""
    return ProxyNumber.objects.filter(is_active=True).exists()


def proxy_add(*, phone: object) -> ProxyNumber:
    """Adds a number bought at Twilio to the pool (E.164; the tenant's country for
    numbers written without their country code). Adding it twice changes nothing."""
    try:
        number = phone_e164(phone, region=current_tenant().country)
    except ValidationError as exc:
        raise ValidationError({"phone": exc.messages}) from exc
    if not number:
        raise ValidationError({"phone": _("Enter the number bought at Twilio.")})
    proxy, _created = ProxyNumber.objects.get_or_create(phone=number)
    return proxy


def proxy_set_active(*, proxy_id: int, active: bool) -> ProxyNumber:
    """Takes a number out of the pool (no new session gets it) or puts it back. A
    session already open on it keeps working until it ends."""
    proxy = ProxyNumber.objects.filter(pk=proxy_id).first()
    if proxy is None:
        raise ValidationError({"proxy": _("No such number in the pool.")})
    proxy.is_active = active
    proxy.save(update_fields=["is_active"])
    return proxy


def open_sessions(*, now: dt.datetime | None = None):
    """The sessions that still join a driver and a customer: not closed, not expired (the
    pool page's "in use", and why a number cannot be removed)."""
    return MaskedSession.objects.filter(
        closed_at__isnull=True, expires_at__gt=now or timezone.now()
    )


def proxy_remove(*, proxy_id: int, now: dt.datetime | None = None) -> None:
    """Removes a number from the pool. A number a driver and a customer are talking
    through (an open session) cannot be removed, and one that carried calls keeps them
    on the orders' history: both can only be deactivated."""
    now = now or timezone.now()
    proxy = ProxyNumber.objects.filter(pk=proxy_id).first()
    if proxy is None:
        return  # removed already (a double click)
    in_use = _(
        "%(phone)s is in use by a driver and a customer today: deactivate it instead, and "
        "remove it tomorrow."
    ) % {"phone": proxy.phone}
    sessions = MaskedSession.objects.filter(proxy=proxy)
    if open_sessions(now=now).filter(proxy=proxy).exists():
        raise ValidationError({"proxy": in_use})
    if sessions.exists():
        raise ValidationError(
            {
                "proxy": _(
                    "%(phone)s carried calls that stay on the orders' history: deactivate it "
                    "instead."
                )
                % {"phone": proxy.phone}
            }
        )
    try:
        proxy.delete()
    except ProtectedError:  # a driver opened a session on it since the check above
        raise ValidationError({"proxy": in_use}) from None


# --- sessions -----------------------------------------------------------------------------


def day_end(day: dt.date) -> dt.datetime:
    """The end of `day` in the tenant's time zone (when its sessions expire)."""
    zone = ZoneInfo(current_tenant().time_zone)
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)


def tenant_day(now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(current_tenant().time_zone)).date()


def sessions_expire(*, now: dt.datetime | None = None) -> int:
    """Closes the sessions past their end: their pool numbers are free again for the
    same phones (the unique constraints count the sessions not closed)."""
    now = now or timezone.now()
    return MaskedSession.objects.filter(closed_at__isnull=True, expires_at__lte=now).update(
        closed_at=now
    )


def sessions_close_for_order(*, order_id: int, now: dt.datetime | None = None) -> int:
    """Closes the order's open sessions (it was delivered, failed or cancelled)."""
    return MaskedSession.objects.filter(order_id=order_id, closed_at__isnull=True).update(
        closed_at=now or timezone.now()
    )


def session_open(*, driver: Driver, order_id: int, now: dt.datetime | None = None) -> MaskedSession:
    """The session joining `driver` and the customer of `order_id` for today: the open one
    (a double tap, a second call) or a new one on a pool number free for both phones,
    until the end of the delivery day. Raises StopNotFound for an order that is not on
    the driver's current published route, ValidationError saying what is missing else."""
    now = now or timezone.now()
    stop = published_stop(order_id)
    if stop is None or stop.route.driver_id != driver.pk:
        raise StopNotFound(order_id)
    order = stop.order
    if order.status in FINAL_STATUSES:
        raise ValidationError({"stop": _("This stop is finished: calls to its customer ended.")})
    if stop.route.plan.date != tenant_day(now):
        raise ValidationError(
            {"stop": _("Calls to the customer open on the delivery day, for today's stops.")}
        )
    if not driver.phone:
        raise ValidationError(
            {"driver": _("Your phone number is missing: ask your dispatcher to add it.")}
        )
    if not order.customer_phone:
        raise ValidationError({"order": _("This customer left no phone number.")})
    with transaction.atomic():
        # one driver's sessions are opened one at a time: a double tap gets the same one
        Driver.objects.select_for_update().filter(pk=driver.pk).first()
        sessions_expire(now=now)
        mine = MaskedSession.objects.filter(
            order=order, driver=driver, closed_at__isnull=True, expires_at__gt=now
        ).select_related("proxy")
        for session in mine:
            if (
                session.proxy.is_active
                and session.driver_phone == driver.phone
                and session.customer_phone == order.customer_phone
            ):
                return session
        mine.update(closed_at=now)  # a phone changed, or its number left the pool
        return _session_create(driver=driver, order=order, expires_at=day_end(stop.route.plan.date))


def _session_create(*, driver: Driver, order: Order, expires_at: dt.datetime) -> MaskedSession:
    busy = MaskedSession.objects.filter(closed_at__isnull=True).filter(
        Q(driver_phone=driver.phone) | Q(customer_phone=order.customer_phone)
    )
    free = (
        ProxyNumber.objects.filter(is_active=True)
        .exclude(pk__in=busy.values("proxy_id"))
        .order_by("phone")
    )
    for proxy in free:
        try:
            with transaction.atomic():  # another driver took it for this customer meanwhile
                return MaskedSession.objects.create(
                    order=order,
                    driver=driver,
                    proxy=proxy,
                    driver_phone=driver.phone,
                    customer_phone=order.customer_phone,
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue
    raise ValidationError(
        {
            "proxy": _(
                "No calling number is free for this customer now: finish a stop you called "
                "from, or ask the owner to add numbers to the pool."
            )
        }
    )


def refusal(session: MaskedSession, *, now: dt.datetime) -> str:
    """Why the session may no longer connect anyone ("" if it may): closed, past its
    day, its order finished, or its stop no longer on that driver's route (a code kept on
    the refused MaskedContact; the order's history says it in words)."""
    if session.closed_at is not None:
        return REFUSED_CLOSED
    if session.expires_at <= now:
        return REFUSED_EXPIRED
    order = Order.objects.filter(pk=session.order_id).only("status").first()
    if order is None or order.status in FINAL_STATUSES:
        return REFUSED_FINISHED
    stop = published_stop(session.order_id)
    if stop is None or stop.route.driver_id != session.driver_id:
        return REFUSED_MOVED
    if day_end(stop.route.plan.date) != session.expires_at:
        return REFUSED_MOVED  # to another day: the session was for the day it was opened for
    return ""


@dataclass(frozen=True)
class Match:
    """The session a call or text to a pool number belongs to, and who is on each end."""

    session: MaskedSession
    direction: str  # MaskedContact.Direction
    to: str  # the other side's phone


def _match(*, pool_number: str, caller: str) -> Match | None:
    """The session of `pool_number` that `caller` is a side of: an open one first, else
    the latest that was (to say no politely and keep it on the order's history)."""
    sessions = (
        MaskedSession.objects.filter(proxy__phone=pool_number)
        .filter(Q(driver_phone=caller) | Q(customer_phone=caller))
        .select_related("proxy")
        .order_by(F("closed_at").desc(nulls_first=True), "-created_at", "-pk")
    )
    session = sessions.first()
    if session is None:
        return None
    if session.driver_phone == caller:
        return Match(session, MaskedContact.Direction.DRIVER_TO_CUSTOMER, session.customer_phone)
    return Match(session, MaskedContact.Direction.CUSTOMER_TO_DRIVER, session.driver_phone)


def _contact(match: Match, *, kind: str, provider_id: str, refused: str = "") -> MaskedContact:
    """The call's or text's record, once per CallSid / MessageSid (Twilio may ask again)."""
    values = {
        "session": match.session,
        "order_id": match.session.order_id,
        "direction": match.direction,
        "refused": refused[:200],
    }
    if not provider_id:
        return MaskedContact.objects.create(kind=kind, **values)
    try:
        with transaction.atomic():
            contact, _created = MaskedContact.objects.get_or_create(
                kind=kind, provider_id=provider_id, defaults=values
            )
    except IntegrityError:  # the same request twice at once
        contact = MaskedContact.objects.get(kind=kind, provider_id=provider_id)
    return contact


def _refuse(match: Match, *, kind: str, provider_id: str, why: str, now: dt.datetime) -> None:
    """A call or text the session may no longer put through: the session closes (its pool
    number is free again) and the refusal stays on the order's history."""
    if match.session.closed_at is None:
        MaskedSession.objects.filter(pk=match.session.pk).update(closed_at=now)
    _contact(match, kind=kind, provider_id=provider_id, refused=why)


# --- Twilio's webhooks --------------------------------------------------------------------


def hang_up() -> str:
    """TwiML that ends the call (after <Dial>'s action: the two sides hung up)."""
    return str(VoiceResponse())


def _say_language() -> tuple[str, str]:
    """(our language, Twilio's voice) of the tenant, for what a caller hears: the caller
    may be either side, so the business's own language, not the order's."""
    tenant = current_tenant()
    language = tenant_language(tenant)
    if language not in SAY_LANGUAGES:
        language = DEFAULT_LANGUAGE
    voice = SAY_LANGUAGES[language]
    if language == "en" and getattr(tenant, "country", "") == "US":
        voice = "en-US"
    return language, voice


def _normal(phone: str) -> str:
    """Twilio's `From`/`To` are E.164 already; a withheld caller id is not a phone."""
    phone = (phone or "").strip()
    return phone if phone.startswith("+") else ""


def voice_answer(
    *, to: str, caller: str, call_sid: str, action_url: str, now: dt.datetime | None = None
) -> str:
    """TwiML for a call to pool number `to` from `caller`: dialled through to the other
    side of its open session with the pool number as caller id, else a polite message
    and hang up (kept, refused, on the order's history when a session ended)."""
    now = now or timezone.now()
    match = _match(pool_number=_normal(to), caller=_normal(caller)) if _normal(caller) else None
    if match is not None:
        why = refusal(match.session, now=now)
        if not why:
            _contact(match, kind=MaskedContact.Kind.CALL, provider_id=call_sid)
            response = VoiceResponse()
            dial = response.dial(caller_id=match.session.proxy.phone, action=action_url)
            dial.number(match.to)
            return str(response)
        _refuse(match, kind=MaskedContact.Kind.CALL, provider_id=call_sid, why=why, now=now)
    language, voice = _say_language()
    with translation.override(language):
        message = _(
            "Sorry, this number no longer connects you for this delivery. Please contact "
            "the business directly. Goodbye."
        )
    response = VoiceResponse()
    response.say(message, language=voice)
    response.hangup()
    return str(response)


def call_status(*, call_sid: str, status: str, duration: object) -> MaskedContact | None:
    """Twilio's report of how a masked call ended: its status and duration, on its record."""
    if not call_sid:
        return None
    calls = MaskedContact.objects.filter(kind=MaskedContact.Kind.CALL, provider_id=call_sid)
    contact = calls.first()
    if contact is None:
        return None
    try:
        seconds = max(0, int(str(duration)))
    except (TypeError, ValueError):
        seconds = None
    contact.status = (status or "")[:32]
    if seconds is not None:
        contact.duration_s = seconds
    contact.save(update_fields=["status", "duration_s"])
    return contact


def sms_relay(
    *, to: str, sender: str, body: str, message_sid: str, now: dt.datetime | None = None
) -> str:
    """A text to pool number `to` from `sender`: sent on to the other side of its open
    session from the pool number (once per MessageSid), and an empty TwiML answer; after
    the session ended, nothing relayed and a polite answer to the sender."""
    now = now or timezone.now()
    match = _match(pool_number=_normal(to), caller=_normal(sender)) if _normal(sender) else None
    why = refusal(match.session, now=now) if match is not None else "no_session"
    if match is not None and not why:
        contact = _contact(match, kind=MaskedContact.Kind.SMS, provider_id=message_sid)
        with transaction.atomic():
            # Twilio may post the same text twice, even at once: relayed by the first only
            contact = MaskedContact.objects.select_for_update().get(pk=contact.pk)
            if not contact.status:
                contact.status = _relay(match, body=body)
                contact.save(update_fields=["status"])
        return str(MessagingResponse())
    if match is not None:
        _refuse(match, kind=MaskedContact.Kind.SMS, provider_id=message_sid, why=why, now=now)
    language, _voice = _say_language()
    with translation.override(language):
        message = _(
            "This number no longer forwards texts for your delivery. Please contact the "
            "business directly."
        )
    response = MessagingResponse()
    response.message(message)
    return str(response)


def _relay(match: Match, *, body: str) -> str:
    """Sends the text on (the project's SMS sender, from the pool number): its status."""
    try:
        sent = sms_sender().send(
            to=match.to, body=body, status_callback=None, sender=match.session.proxy.phone
        )
    except (Transient, Permanent) as exc:
        log.warning("masked text for order %s not relayed: %s", match.session.order_id, exc)
        return "failed"
    return (sent.status or "sent")[:32]
