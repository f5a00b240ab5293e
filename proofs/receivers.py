"""Proofs react to what happens to orders."""

from __future__ import annotations

from django.dispatch import receiver

from dispatch.signals import orders_redacted
from proofs.models import DeliveryProof
from proofs.services.proof import forget


@receiver(orders_redacted, dispatch_uid="proofs-redact")
def on_orders_redacted(sender, *, order_ids, **kwargs) -> None:
    """Receiver of `orders_redacted`: the proof of delivery of those orders is forgotten."""
    forget(DeliveryProof.objects.filter(order_id__in=order_ids))
