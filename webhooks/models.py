"""Outgoing webhooks: a client's subscriptions to events, and every delivery with its
attempts (kept for the client to read and replay)."""

from __future__ import annotations

import base64
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    ORDER_CREATED = "order.created", _("Order created")
    ORDER_STATUS_CHANGED = "order.status_changed", _("Order status changed")
    ORDER_ETA_CHANGED = "order.eta_changed", _("Order ETA changed")
    ROUTE_PUBLISHED = "route.published", _("Route published")
    ROUTE_COMPLETED = "route.completed", _("Route completed")


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Subscription(models.Model):
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="Event types, e.g. order.created.")
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=80, default=new_secret)
    active = models.BooleanField(default=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.url} ({', '.join(self.events)})"


class Delivery(models.Model):
    """One event for one subscription: its payload is fixed when the event happens, and
    every try is an Attempt. `key` makes the same event harmless to record twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")  # waiting for its (next) try
        DELIVERED = "delivered", _("Delivered")  # the receiver answered 2xx
        FAILED = "failed", _("Failed")  # every try used up

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40, choices=Event.choices)
    key = models.CharField(max_length=120, help_text="What happened, e.g. order.created:42.")
    message_id = models.CharField(max_length=40, help_text="The webhook-id header.")
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "key"], name="webhook_delivery_once")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to subscription {self.subscription_id}: {self.status}"


class Attempt(models.Model):
    """One try: the receiver's status code (never its body) or what went wrong on our side."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.status_code or self.error}"
