"""Records that make intake safe to repeat: idempotency keys, webhook events, CSV imports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from encrypted_fields.fields import EncryptedCharField


class IdempotencyRecord(models.Model):
    """The answer given to a create request with an `Idempotency-Key`, replayed on repeats.

    A key is scoped to the client that sent it (`principal`: an API key prefix or a user
    id) and to the endpoint; the request body's digest tells a retry from a different
    request that reuses the key (409).
    """

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=200)
    request_sha256 = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["principal", "endpoint", "key"], name="idempotency_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.principal} {self.endpoint} {self.key}"


class ShopifyIntegration(models.Model):
    """A tenant's Shopify store, connected one of two ways:

    - `custom`: the owner made a custom app in the store's admin and pasted its client
      secret, which signs the store's webhooks (HMAC-SHA256); nothing is written back.
    - `app`: installed through the platform's app (OAuth): the offline access token lets us
      subscribe the webhooks and write fulfilments back; the app's own secret signs them.

    Secrets and tokens are encrypted at rest (Fernet; see SALT_KEY in settings).
    """

    class Mode(models.TextChoices):
        CUSTOM = "custom", _("Custom app (webhooks only)")
        APP = "app", _("Installed app")

    shop_domain = models.CharField(max_length=255, unique=True, help_text="<shop>.myshopify.com")
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.CUSTOM)
    client_secret = EncryptedCharField(max_length=255, null=True, blank=True)
    access_token = EncryptedCharField(max_length=255, null=True, blank=True)
    # An expiring offline token (Shopify requires them of public apps from 2027): it lasts
    # an hour and is renewed with the refresh token, which is replaced at each renewal.
    token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedCharField(max_length=255, null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.CharField(max_length=500, blank=True, help_text="As granted by the store.")
    is_active = models.BooleanField(default=True)
    installed_at = models.DateTimeField(null=True, blank=True)
    uninstalled_at = models.DateTimeField(null=True, blank=True)
    webhooks_subscribed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(
        max_length=500, blank=True, help_text="The last write-back that failed for good."
    )
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.shop_domain


class WebhookEvent(models.Model):
    """A webhook delivery received once. Its unique id makes repeated deliveries harmless."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        FAILED = "failed", _("Failed")

    source = models.CharField(max_length=16, default="shopify", help_text="shopify, woocommerce")
    event_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=100)
    shop_domain = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    detail = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    triggered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the store says the event happened (Shopify's X-Shopify-Triggered-At).",
    )
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="webhook_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.topic} {self.event_id}"


class CsvImport(models.Model):
    """An uploaded CSV on its way in: mapped, previewed, then imported (once)."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded")
        PREVIEWED = "previewed", _("Previewed")
        IMPORTED = "imported", _("Imported")

    filename = models.CharField(max_length=255)
    content = models.TextField()
    delimiter = models.CharField(max_length=1, default=",")
    mapping = models.JSONField(default=dict, help_text="order field → CSV column")
    default_delivery_date = models.DateField(
        null=True, blank=True, help_text="For rows whose date column is empty (or not mapped)."
    )
    keep_undated = models.BooleanField(
        default=False,
        help_text="Rows whose date cannot be read are imported as orders needing a date "
        "(else they are bad lines).",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    row_count = models.PositiveIntegerField(default=0)
    valid_count = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    existing_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, help_text='[{"line": 3, "errors": {...}}, ...]')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"
