"""Where SMS go: Twilio (the real `twilio` client), the console (development) or a list in
memory (tests). Chosen by SMS_BACKEND; every sender raises `Transient` for what a retry
may fix and `Permanent` for what it never will."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

#: Twilio error codes that no retry fixes: opted out, not a mobile number, invalid number,
#: unreachable country, blocked content. https://www.twilio.com/docs/api/errors
PERMANENT_TWILIO_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 30004, 30005, 30006})


class Transient(Exception):
    """Try again later: the provider is down, slow or rate limiting."""


class Permanent(Exception):
    """Never retry: the number is invalid or opted out."""


@dataclass(frozen=True)
class Sent:
    provider_id: str
    status: str


class SmsSender(Protocol):
    def send(
        self, *, to: str, body: str, status_callback: str | None, sender: str | None = None
    ) -> Sent: ...


@dataclass(frozen=True)
class Listed:
    """A message the provider has; `key`: the message's own key (its status callback's),
    when the provider's list says it, else None (Twilio's list does not)."""

    provider_id: str
    status: str
    key: str | None


class Findable(Protocol):
    """A sender that can list the messages it has (reconciliation: never by their text)."""

    def listed(self, *, to: str, since: dt.datetime) -> list[Listed]: ...


def key_of(status_callback: str | None) -> str | None:
    """The message key a status callback URL carries (`?key=`), if any."""
    if not status_callback:
        return None
    keys = parse_qs(urlsplit(status_callback).query).get("key")
    return keys[0] if keys else None


class TwilioSender:
    """The `twilio` package's client; TWILIO_API_URL points it at another endpoint (a
    regional edge, or a local fake in tests)."""

    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.NOTIFY_SEND_TIMEOUT_S),
        )
        self.client.api.base_url = settings.TWILIO_API_URL

    def send(
        self, *, to: str, body: str, status_callback: str | None, sender: str | None = None
    ) -> Sent:
        """`sender`: the tenant's own number or sender ID, else the platform's."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        options = {"to": to, "body": body, "from_": sender or settings.TWILIO_FROM}
        if settings.TWILIO_MESSAGING_SERVICE_SID and not sender:
            options = {
                "to": to,
                "body": body,
                "messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID,
            }
        if status_callback:
            options["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**options)
        except TwilioRestException as exc:
            if exc.code in PERMANENT_TWILIO_CODES or (
                400 <= exc.status < 500 and exc.status != 429
            ):
                raise Permanent(f"Twilio {exc.status} {exc.code}: {exc.msg}") from exc
            raise Transient(f"Twilio {exc.status} {exc.code}: {exc.msg}") from exc
        except (TwilioException, OSError) as exc:  # connection refused, timeouts
            raise Transient(f"Twilio unreachable: {exc}") from exc
        return Sent(message.sid, message.status or "queued")

    def listed(self, *, to: str, since: dt.datetime) -> list[Listed]:
        """The messages to `to` created since `since` (Twilio's list, newest first; the
        newest 50 to that number are enough). Twilio's list does not say a message's
        status callback, so their keys are unknown (None)."""
        from twilio.base.exceptions import TwilioException

        found = []
        try:
            for message in self.client.messages.list(to=to, limit=50):
                created = message.date_created
                if created is not None and created < since:
                    break
                found.append(Listed(message.sid, message.status or "queued", None))
        except (TwilioException, OSError) as exc:
            raise Transient(f"Twilio unreachable: {exc}") from exc
        return found


class ConsoleSender:
    def send(
        self, *, to: str, body: str, status_callback: str | None, sender: str | None = None
    ) -> Sent:
        log.warning("SMS from %s to %s: %s", sender or "the platform", to, body)
        return Sent(f"console-{abs(hash((to, body)))}", "sent")


class MemorySender:
    """Keeps what was sent in `outbox` (tests)."""

    outbox: list[dict] = []

    def send(
        self, *, to: str, body: str, status_callback: str | None, sender: str | None = None
    ) -> Sent:
        self.outbox.append(
            {"to": to, "body": body, "status_callback": status_callback, "sender": sender}
        )
        return Sent(f"memory-{len(self.outbox)}", "sent")

    def listed(self, *, to: str, since: dt.datetime) -> list[Listed]:
        return [
            Listed(f"memory-{k}", "sent", key_of(sent["status_callback"]))
            for k, sent in enumerate(self.outbox, start=1)
            if sent["to"] == to
        ][::-1]


SENDERS = {
    "twilio": "notifications.services.senders.TwilioSender",
    "console": "notifications.services.senders.ConsoleSender",
    "memory": "notifications.services.senders.MemorySender",
}


def sms_sender() -> SmsSender:
    return import_string(SENDERS.get(settings.SMS_BACKEND, settings.SMS_BACKEND))()
