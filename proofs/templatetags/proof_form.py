"""The proof form inside the driver app (tracking's page): the app keeps what the driver
captured while offline and sends it to proofs' own endpoint when the network returns."""

from __future__ import annotations

from django import template

from proofs.services.proof import proof_settings

register = template.Library()


@register.inclusion_tag("proofs/_proof_dialog.html")
def proof_dialog() -> dict:
    return {"settings": proof_settings(), "values": {"outcome": "delivered"}}
