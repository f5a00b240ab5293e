"""Outgoing webhooks: subscriptions checked when saved, events recorded in the same
transaction as the change they report (nothing is announced that did not happen, nothing
that happened is lost), and delivered by tenant-aware django-q2 jobs: signed with
Standard Webhooks' HMAC-SHA256 over id, timestamp and body, retried with exponential
backoff, never to a private, loopback or link-local address (checked when saved and again
on the connection itself, which also defeats DNS rebinding), never following a redirect,
and never keeping or showing what the receiver answered beyond its status code.

Delivery is at least once: a receiver de-duplicates by the `webhook-id` header, which a
retry or a replay repeats."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import socket
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from audit.services import record
from core.outbound import InvalidIPAddress, public_session
from tenants.tasks import enqueue_after_commit
from webhooks import tasks
from webhooks.models import Attempt, Delivery, Event, Subscription

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 20


# --- where we may send -----------------------------------------------------------------


#: IPv6 prefixes that carry an IPv4 address in their last 32 bits: IPv4-compatible
#: (::a.b.c.d, deprecated) and NAT64 (RFC 6052's well-known prefix, and RFC 8215's local one).
_V4_IN_V6 = [ipaddress.ip_network(n) for n in ("::/96", "64:ff9b::/96", "64:ff9b:1::/48")]


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to (mapped, compatible, NAT64, 6to4, Teredo),
    if any: a webhook to http://[64:ff9b::7f00:1]/ goes to 127.0.0.1 on a NAT64 network."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in network for network in _V4_IN_V6) and int(ip) & 0xFFFFFFFF:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None:
            if any(ip in network for network in _V4_IN_V6[1:]) and not _blocked(inner):
                return False  # NAT64 to a public IPv4 address: as public as that address
            ip = inner
    if settings.WEBHOOK_ALLOW_LOOPBACK and ip.is_loopback:
        return False
    return not ip.is_global or ip.is_multicast


def url_check(url: str) -> str:
    """`url` if a webhook may go there: http(s) (https only when WEBHOOK_REQUIRE_HTTPS), no
    credentials, and every address its host resolves to public. Raises ValidationError."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError({"url": [gettext("Not a valid URL.")]}) from None
    schemes = ("https",) if settings.WEBHOOK_REQUIRE_HTTPS else ("http", "https")
    if parts.scheme not in schemes or not parts.hostname:
        only_https = schemes == ("https",)
        message = (
            gettext("Use an https URL.") if only_https else gettext("Use an http or https URL.")
        )
        raise ValidationError({"url": [message]})
    if parts.username or parts.password:
        raise ValidationError({"url": [gettext("Put no user name or password in the URL.")]})
    if len(url) > 500:
        raise ValidationError({"url": [gettext("At most 500 characters.")]})
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise ValidationError({"url": [gettext("The host name does not resolve.")]}) from None
    for *_, address in found:
        ip = ipaddress.ip_address(address[0].split("%")[0])
        if _blocked(ip):
            message = gettext(
                "The address is private, loopback or link-local: public addresses only."
            )
            raise ValidationError({"url": [message]})
    return url


def _events_check(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        message = gettext("Choose one or more of: %(events)s.") % {
            "events": ", ".join(Event.values)
        }
        raise ValidationError({"events": [message]})
    unknown = [e for e in events if e not in Event.values]
    if unknown:
        message = gettext("Unknown: %(events)s.") % {"events": ", ".join(map(str, unknown))}
        raise ValidationError({"events": [message]})
    return sorted(set(events))


def subscription_create(
    *, url: str, events: Any, description: str = "", actor: str = ""
) -> Subscription:
    errors: dict[str, list[str]] = {}
    clean = {}
    for name, check, value in (("url", url_check, url), ("events", _events_check, events)):
        try:
            clean[name] = check(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if Subscription.objects.count() >= MAX_SUBSCRIPTIONS:
        errors["url"] = [
            gettext("At most %(count)d webhooks per business.") % {"count": MAX_SUBSCRIPTIONS}
        ]
    if errors:
        raise ValidationError(errors)
    subscription = Subscription.objects.create(
        url=clean["url"],
        events=clean["events"],
        description=str(description or "")[:200],
        created_by=actor,
    )

    record("webhook.created", target=subscription.url, events=subscription.events)
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    record("webhook.deleted", target=subscription.url)
    subscription.delete()


def subscription_update(*, subscription: Subscription, data: dict) -> Subscription:
    errors: dict[str, list[str]] = {}
    if "url" in data:
        try:
            subscription.url = url_check(data["url"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "events" in data:
        try:
            subscription.events = _events_check(data["events"])
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["true or false."]
        else:
            subscription.active = data["active"]
    if "description" in data:
        subscription.description = str(data["description"] or "")[:200]
    if errors:
        raise ValidationError(errors)
    subscription.save()

    record(
        "webhook.updated",
        target=subscription.url,
        events=subscription.events,
        active=subscription.active,
    )
    return subscription


# --- recording events ------------------------------------------------------------------


def emit(event: str, *, key: str, data: dict) -> list[Delivery]:
    """Record `event` for every active subscription to it, in the caller's transaction,
    and queue the first try after the commit. The same `key` again records nothing more."""
    return emit_many(event, [(key, data)])


def emit_many(event: str, items: Iterable[tuple[str, Any]]) -> list[Delivery]:
    """`emit` for many events of one kind (a bulk import's orders): the subscriptions are
    read once, and with none that wants `event` nothing else is done (`items` may be lazy,
    and is then never evaluated: a business without webhooks pays one small query)."""
    if event not in Event.values:
        raise ValueError(f"unknown event {event!r}")
    subscriptions = [s for s in Subscription.objects.filter(active=True) if event in s.events]
    if not subscriptions:
        return []
    now = timezone.now()
    rows = []
    for key, data in items:
        payload = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
        for subscription in subscriptions:
            message_id = f"msg_{uuid.uuid4().hex}"
            rows.append(
                Delivery(
                    subscription=subscription,
                    key=key,
                    event=event,
                    message_id=message_id,
                    next_attempt_at=now,
                    payload={
                        "type": event,
                        "id": message_id,
                        "timestamp": now.isoformat(),
                        "data": payload,
                    },
                )
            )
    # a key recorded before (a retried request, a replayed signal) keeps its first delivery
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    stored = _stored([d.message_id for d in rows])
    made = [d for d in rows if d.message_id in stored]
    for delivery in made:
        delivery.pk = stored[delivery.message_id]
    if made:
        _queue([d.pk for d in made])
    return made


def _stored(ids: list[str]) -> dict[str, int]:
    """Which of these freshly made message ids were stored, with their rows' ids (the
    others' keys were taken before)."""
    found: dict[str, int] = {}
    for first in range(0, len(ids), 5000):
        found.update(
            Delivery.objects.filter(message_id__in=ids[first : first + 5000]).values_list(
                "message_id", "pk"
            )
        )
    return found


def _queue(delivery_ids: Iterable[int]) -> None:
    for pk in delivery_ids:
        enqueue_after_commit(tasks.deliver, pk, task_name=f"webhook-{pk}")


# --- sending ---------------------------------------------------------------------------


def _session() -> requests.Session:
    """requests with an address filter on the connection itself (the address connected to
    is the one checked) and redirects never followed."""
    return public_session(
        read_timeout_s=settings.WEBHOOK_TIMEOUT_S, user_agent="dispatch-webhooks/1"
    )


def signed_headers(subscription: Subscription, message_id: str, body: str, at: dt.datetime) -> dict:
    """The Standard Webhooks headers: webhook-id, webhook-timestamp, webhook-signature
    (v1: base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" with the subscription's secret)."""
    from standardwebhooks.webhooks import Webhook

    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(subscription.secret).sign(message_id, at, body),
    }


def deliver(delivery_id: int) -> str:
    """The job: one try at a due delivery. 2xx: delivered. Anything else (an error status,
    a redirect, a timeout, a refused or blocked address): tried again after
    WEBHOOK_RETRY_BASE_S doubled per try, until WEBHOOK_MAX_ATTEMPTS, then failed."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "locked"
        if delivery.status != Delivery.Status.PENDING or delivery.next_attempt_at > now:
            return delivery.status  # done, or not due: a duplicate job
        delivery.attempts += 1
        # a lease: the sweep leaves it alone while this try is on its way
        delivery.next_attempt_at = now + dt.timedelta(seconds=4 * settings.WEBHOOK_TIMEOUT_S)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, separators=(",", ":"))
    started = time.monotonic()
    code, error = None, ""
    try:
        with _session() as session:
            response = session.post(
                subscription.url,
                data=body.encode(),
                headers=signed_headers(subscription, delivery.message_id, body, timezone.now()),
                stream=True,
            )
            code = response.status_code
            response.close()  # the body is never read: nothing of it is kept or shown
        if 300 <= code < 400:
            error = f"redirect ({code}) not followed"
        elif not 200 <= code < 300:
            error = f"the receiver answered {code}"
    except requests.RequestException as exc:
        error = _describe(exc)
    elapsed = int((time.monotonic() - started) * 1000)
    Attempt.objects.create(
        delivery=delivery, status_code=code, error=error[:300], duration_ms=elapsed
    )
    delivery.last_status_code, delivery.last_error = code, error[:300]
    if not error:
        delivery.status, delivery.delivered_at = Delivery.Status.DELIVERED, timezone.now()
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED
    else:
        delay = settings.WEBHOOK_RETRY_BASE_S * 2 ** (delivery.attempts - 1)
        delivery.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
    delivery.save(
        update_fields=[
            "status",
            "delivered_at",
            "next_attempt_at",
            "last_status_code",
            "last_error",
        ]
    )
    return delivery.status


def _describe(exc: requests.RequestException) -> str:
    if isinstance(exc, InvalidIPAddress):
        return f"blocked: {exc.args[0] if exc.args else 'a private address'} is not public"
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "could not connect"
    return type(exc).__name__


def deliveries_due(now: dt.datetime | None = None) -> int:
    """The scheduled sweep (every minute, per tenant): queue the tries that are due (retries,
    and any first try whose job was lost)."""
    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    with transaction.atomic():
        _queue(due)
    return len(due)


def delivery_replay(*, delivery: Delivery) -> Delivery:
    """Send a delivery again (the same webhook-id and body): a failed one gets a fresh set
    of tries; a delivered one is sent once more."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.status, delivery.attempts = Delivery.Status.PENDING, 0
        delivery.next_attempt_at, delivery.delivered_at = timezone.now(), None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "delivered_at"])
        _queue([delivery.pk])
    return delivery
