"""Masked calls in templates: the driver app's call and text links of a stop
(`{% masked_call_links stop %}`) and an order's masked calls and texts for its history
(`{% masked_contacts_of order as contacts %}`)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from dispatch.models.orders import FINAL_STATUSES
from notifications.models import MaskedContact
from notifications.services import masking

register = template.Library()

#: What Twilio's statuses mean, for people.
STATUS_LABELS = {
    "completed": _("answered"),
    "answered": _("answered"),
    "busy": _("busy"),
    "no-answer": _("no answer"),
    "failed": _("failed"),
    "canceled": _("cancelled"),
    "queued": _("sent"),
    "accepted": _("sent"),
    "sent": _("sent"),
    "delivered": _("delivered"),
    "undelivered": _("not delivered"),
}
REFUSED_LABELS = {
    masking.REFUSED_CLOSED: _("refused: the stop had ended"),
    masking.REFUSED_EXPIRED: _("refused: the delivery day had ended"),
    masking.REFUSED_FINISHED: _("refused: the order was finished"),
    masking.REFUSED_MOVED: _("refused: the stop had moved to another driver"),
}


@register.inclusion_tag("notifications/_masked_call_links.html", takes_context=True)
def masked_call_links(context: template.Context, stop) -> dict:
    """A stop's "Call / Text customer": through the pool when it has an active number
    (asked once per page), else the customer's own number as before."""
    kept = context.render_context
    if "masked_pool_active" not in kept:
        kept["masked_pool_active"] = masking.pool_active()
    order = stop.order
    return {
        "order": order,
        "masked": kept["masked_pool_active"],
        "finished": order.status in FINAL_STATUSES,
    }


@register.simple_tag
def masked_contacts_of(order) -> list[dict]:
    """The order's masked calls and texts, oldest first, said for its history."""
    contacts = MaskedContact.objects.filter(order=order).select_related("session__driver")
    rows = []
    for contact in contacts:
        driver = contact.session.driver.name
        minutes, seconds = divmod(contact.duration_s or 0, 60)
        rows.append(
            {
                "contact": contact,
                "driver": driver,
                "is_call": contact.kind == MaskedContact.Kind.CALL,
                "from_driver": contact.direction == MaskedContact.Direction.DRIVER_TO_CUSTOMER,
                "status": STATUS_LABELS.get(contact.status, contact.status),
                "duration": f"{minutes}:{seconds:02d}" if contact.duration_s is not None else "",
                "refused": REFUSED_LABELS.get(contact.refused, contact.refused),
            }
        )
    return rows
