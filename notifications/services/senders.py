"""Where SMS go: Twilio (the real `twilio` client), the console (development) or a list in
memory (tests). Chosen by SMS_BACKEND; every sender raises `Transient` for what a retry
may fix and `Permanent` for what it never will."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

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


class Findable(Protocol):
    """A sender that can say whether it already has a message (reconciliation)."""

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None: ...


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

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None:
        """The message to `to` with this body created since `since`, if Twilio has one
        (its message list, newest first; the newest 50 to that number are enough)."""
        from twilio.base.exceptions import TwilioException

        try:
            for message in self.client.messages.list(to=to, limit=50):
                created = message.date_created
                if created is not None and created < since:
                    break
                if message.body == body:
                    return Sent(message.sid, message.status or "queued")
        except (TwilioException, OSError) as exc:
            raise Transient(f"Twilio unreachable: {exc}") from exc
        return None


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

    def find(self, *, to: str, body: str, since: dt.datetime) -> Sent | None:
        for k, sent in enumerate(self.outbox, start=1):
            if sent["to"] == to and sent["body"] == body:
                return Sent(f"memory-{k}", "sent")
        return None


SENDERS = {
    "twilio": "notifications.services.senders.TwilioSender",
    "console": "notifications.services.senders.ConsoleSender",
    "memory": "notifications.services.senders.MemorySender",
}


def sms_sender() -> SmsSender:
    return import_string(SENDERS.get(settings.SMS_BACKEND, settings.SMS_BACKEND))()
