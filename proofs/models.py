"""Proof of delivery: what the driver captured at the door (a photo, the recipient's
signature, their name, notes; for a failed stop, the reason), and what each business
requires of its drivers."""

from __future__ import annotations

import uuid

from django.db import connection, models

from dispatch.models import Driver, Order


def default_failure_reasons() -> list[str]:
    return [
        "Nobody home",
        "Address not found",
        "Refused by the customer",
        "No safe place",
        "Access problem",
        "Damaged",
    ]


class ProofSettings(models.Model):
    """The tenant's rules (one row): what a delivered stop needs, and the reasons a driver
    picks from when a stop fails."""

    require_photo = models.BooleanField(default=False)
    require_signature = models.BooleanField(default=False)
    require_recipient_name = models.BooleanField(default=False)
    require_failure_photo = models.BooleanField(
        default=False, help_text="A photo of the door or place when a delivery fails."
    )
    failure_reasons = models.JSONField(default=default_failure_reasons, blank=True)
    retention_days = models.PositiveIntegerField(
        default=365,
        help_text="Photos, signatures and recipients' names are deleted after this many days "
        "(0: kept).",
    )

    def __str__(self) -> str:
        return "Proof of delivery settings"


def _upload_to(proof: DeliveryProof, filename: str) -> str:
    """Files live under the tenant's schema (row ids repeat across tenants) with a random
    name; they are never served from their storage address, only through views that check
    who asks."""
    return f"proofs/{connection.schema_name}/{proof.order_id}/{uuid.uuid4().hex}-{filename}"


class DeliveryProof(models.Model):
    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Could not deliver"

    #: The phone's id for this submission: sending it again (a retry after a timeout, a
    #: double tap) finds the first one instead of making a second.
    key = models.UUIDField(unique=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="proofs")
    driver = models.ForeignKey(Driver, on_delete=models.SET_NULL, null=True, related_name="+")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    recipient_name = models.CharField(max_length=150, blank=True)
    notes = models.TextField(max_length=1000, blank=True)
    reason = models.CharField(max_length=100, blank=True)
    photo = models.FileField(upload_to=_upload_to, blank=True, max_length=300)
    signature = models.FileField(upload_to=_upload_to, blank=True, max_length=300)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.outcome} proof for order {self.order_id}"
