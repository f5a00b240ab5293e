"""Online stores beyond what dispatch keeps (dispatch owns the order intake records and the
Shopify connection): WooCommerce stores, and every change written back to a store."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField

from dispatch.models import Order


class WooCommerceStore(models.Model):
    """A WooCommerce store: its webhooks are signed with `webhook_secret`; its REST API
    keys (read/write) write status and tracking notes back. Secrets encrypted at rest."""

    url = models.URLField(max_length=255, unique=True, help_text="https://shop.example.com")
    consumer_key = EncryptedCharField(max_length=255, null=True, blank=True)
    consumer_secret = EncryptedCharField(max_length=255, null=True, blank=True)
    webhook_secret = EncryptedCharField(max_length=255, null=True, blank=True)
    is_active = models.BooleanField(default=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url


class WriteBack(models.Model):
    """One change written back to the store an order came from (a fulfilment when its
    route sets off, delivered, failed). A job with tries and backoff; `key` makes the same
    change harmless to record twice; `result` keeps what the store answered that later
    changes need (the Shopify fulfilment's id). A try holds a lease (`lease`, until
    `lease_expires_at`): only the worker holding it may change the row
    (stores.services.writeback)."""

    class Action(models.TextChoices):
        SET_OFF = "set_off", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Delivery failed")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Being written")  # a worker holds its lease
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")  # a permanent error, or every try used up
        CANCELLED = "cancelled", _("Cancelled")  # the store was disconnected or uninstalled

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="store_writebacks")
    platform = models.CharField(max_length=16, help_text="shopify, woocommerce")
    store = models.CharField(max_length=255, help_text="The shop's domain or the store's URL.")
    action = models.CharField(max_length=16, choices=Action.choices)
    key = models.CharField(max_length=120, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(help_text="When a pending one is tried next.")
    lease = models.UUIDField(null=True, blank=True, help_text="The running try's token.")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(
        default=timezone.now,
        help_text="When its tries began (recorded, or tried again by hand): it is given up "
        "STORE_GIVE_UP_AFTER_S later.",
    )
    last_error = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.platform} {self.action} of order {self.order_id}: {self.status}"
