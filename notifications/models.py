"""Messages to customers: one record per (order, event, channel), so a message is sent
at most once however often the event fires; every attempt is kept for the dispatcher."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dispatch.models import Order


def new_send_key() -> str:
    """A message's own key: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


class Notification(models.Model):
    class Event(models.TextChoices):
        # also the customer's email subject (sending._send), in the order's language
        CONFIRMED = "confirmed", _("Order confirmed")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        ARRIVING_SOON = "arriving_soon", _("Arriving soon")
        ETA_CHANGED = "eta_changed", _("ETA changed")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Delivery failed")
        RESCHEDULED = "rescheduled", _("Rescheduled")

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # queued here, not yet handed to the provider
        SENDING = "sending", "Sending"  # handed over; the outcome is not known yet
        SENT = "sent", "Sent"  # the provider accepted it
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"  # opted out, no address: never sent

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=32, choices=Event.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    to = models.CharField(max_length=254)
    #: Which time of the event this is, for events that may happen again (a reschedule to
    #: another day, an ETA that moves again): the new day or window. Empty for the rest.
    occasion = models.CharField(max_length=64, blank=True, default="")
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    #: This message's identity at the provider, whatever its text: carried in its status
    #: callback URL, so the provider's reports name it before its id is known here (a
    #: worker that died with the message in hand). Null: made before keys (never resent).
    send_key = models.CharField(
        max_length=32, unique=True, null=True, default=new_send_key, editable=False
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "event", "channel", "occasion"], name="notification_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.event} for order {self.order_id}: {self.status}"


class NotificationAttempt(models.Model):
    """One try at sending, or one status the provider reported."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="attempts_made"
    )
    at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=32)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.outcome}"


class SmsOptOut(models.Model):
    """A number that answered STOP: no SMS goes to it until it answers START."""

    phone = models.CharField(max_length=20, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.phone


def _default_sms_events() -> list[str]:
    return [
        "out_for_delivery",
        "arriving_soon",
        "eta_changed",
        "delivered",
        "failed",
        "rescheduled",
    ]


def _default_email_events() -> list[str]:
    return ["confirmed", "out_for_delivery", "delivered", "failed", "rescheduled"]


class NotificationSettings(models.Model):
    """The tenant's choices about messages (one row): which events go by SMS and email, who
    they come from, the templates, quiet hours, the monthly SMS cap and how often a
    customer hears about timing. What the customer is promised and shown on the tracking
    page is tracking's `TrackingSettings`."""

    sms_events = models.JSONField(default=_default_sms_events, blank=True)
    email_events = models.JSONField(default=_default_email_events, blank=True)
    sms_sender = models.CharField(
        max_length=20, blank=True, help_text="Sender number or ID; empty: the platform's."
    )
    email_from_name = models.CharField(max_length=100, blank=True)
    templates = models.JSONField(
        default=dict,
        blank=True,
        help_text='Overrides: {"<event>.sms": "...", "<event>.email": "..."}.',
    )
    quiet_start = models.TimeField(null=True, blank=True, help_text="No SMS from…")
    quiet_end = models.TimeField(null=True, blank=True, help_text="…until (local time).")
    monthly_sms_cap = models.PositiveIntegerField(default=0, help_text="0: no cap.")
    arriving_soon_stops = models.PositiveIntegerField(
        default=2, help_text="Tell a customer when the van is this many stops away (0: off)."
    )
    arriving_soon_minutes = models.PositiveIntegerField(
        default=0, help_text="…or when it is expected within this many minutes (0: off)."
    )
    eta_changes_max = models.PositiveIntegerField(
        default=2,
        validators=[MaxValueValidator(10)],
        help_text="At most this many 'ETA changed' messages per order (0: none).",
    )
    order_messages_max = models.PositiveIntegerField(
        default=4,
        validators=[MaxValueValidator(20)],
        help_text=(
            "At most this many messages per order, day and channel about when it comes (out "
            "for delivery, arriving soon, ETA changed; 0: no limit). Delivered, failed and "
            "rescheduled always go."
        ),
    )

    def __str__(self) -> str:
        return "Notification settings"


class CustomerMessage(models.Model):
    """One text in the conversation between the business and a customer: a reply the
    customer sent to one of our SMS (inbound), or the dispatcher's answer (outbound, sent
    from the tenant's sender). An inbound text that matches no order of the sender's number
    is kept with no order, so nothing the customer wrote is lost."""

    class Direction(models.TextChoices):
        INBOUND = "in", "From the customer"
        OUTBOUND = "out", "To the customer"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="conversation"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    phone = models.CharField(max_length=20, help_text="The customer's number, E.164.")
    body = models.TextField(max_length=1600)
    status = models.CharField(max_length=16, choices=Status.choices)
    #: Twilio's MessageSid: an inbound text Twilio delivers twice is stored once.
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    send_key = models.CharField(
        max_length=32, unique=True, null=True, default=new_send_key, editable=False
    )
    error = models.CharField(max_length=500, blank=True)
    sent_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    read_at = models.DateTimeField(null=True, blank=True, help_text="Inbound: when first read.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_id"],
                condition=models.Q(direction="in") & ~models.Q(provider_id=""),
                name="customer_message_inbound_once",
            ),
        ]
        indexes = [
            models.Index(
                fields=["order"],
                condition=models.Q(direction="in", read_at__isnull=True),
                name="customer_message_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.phone} (order {self.order_id})"


class ProxyNumber(models.Model):
    """A phone number of the tenant's pool at Twilio, through which a driver and a
    customer call or text each other without seeing the other's number."""

    phone = models.CharField(max_length=20, unique=True, help_text="E.164, bought at Twilio.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phone"]

    def __str__(self) -> str:
        return self.phone


class MaskedSession(models.Model):
    """A driver and a customer joined through one pool number for one stop. A call or text
    to the pool number from either side reaches the other while the session is open: the
    order is on the driver's route today and not yet finished. `closed_at` is set when it
    ends (the stop done, failed or moved to another driver); after that the number refuses."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="masked_sessions")
    driver = models.ForeignKey(
        "dispatch.Driver", on_delete=models.CASCADE, related_name="masked_sessions"
    )
    proxy = models.ForeignKey(ProxyNumber, on_delete=models.PROTECT, related_name="sessions")
    driver_phone = models.CharField(max_length=20)
    customer_phone = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(help_text="At the latest: the end of the delivery day.")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # one open session per pool number and per side: a call to the number from
            # either phone names exactly one other phone
            models.UniqueConstraint(
                fields=["proxy", "customer_phone"],
                condition=models.Q(closed_at__isnull=True),
                name="masked_session_customer_once",
            ),
            models.UniqueConstraint(
                fields=["proxy", "driver_phone"],
                condition=models.Q(closed_at__isnull=True),
                name="masked_session_driver_once",
            ),
        ]

    def __str__(self) -> str:
        return f"order {self.order_id} via {self.proxy_id}"


class MaskedContact(models.Model):
    """One call or text through a masked session, kept on the order's history."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        SMS = "sms", "Text"

    class Direction(models.TextChoices):
        DRIVER_TO_CUSTOMER = "driver", "Driver to customer"
        CUSTOMER_TO_DRIVER = "customer", "Customer to driver"

    session = models.ForeignKey(MaskedSession, on_delete=models.CASCADE, related_name="contacts")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="masked_contacts")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    provider_id = models.CharField(max_length=64, blank=True, help_text="CallSid or MessageSid.")
    status = models.CharField(max_length=32, blank=True, help_text="As Twilio reports it.")
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    refused = models.CharField(
        max_length=200, blank=True, help_text="Why it was not put through (session closed…)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="masked_contact_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.direction} for order {self.order_id}"
