"""Messages to customers: one record per (order, event, channel), so a message is sent
at most once however often the event fires; every attempt is kept for the dispatcher."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator
from django.db import models

from dispatch.models import Order


def new_send_key() -> str:
    """A message's own key: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


class Notification(models.Model):
    class Event(models.TextChoices):
        CONFIRMED = "confirmed", "Order confirmed"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        ARRIVING_SOON = "arriving_soon", "Arriving soon"
        ETA_CHANGED = "eta_changed", "ETA changed"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Delivery failed"
        RESCHEDULED = "rescheduled", "Rescheduled"

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
