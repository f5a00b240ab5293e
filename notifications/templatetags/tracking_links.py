"""`{% tracking_url_of order as link %}`: the customer's tracking link of an order, the one
its messages carry, for the dashboard's order page.

A template tag, so the order page (dispatch, a lower layer) shows the link without
dispatch importing notifications; the link itself is `notifications.services.sending.tracking_url`.
"""

from __future__ import annotations

from django import template

from notifications.services.sending import tracking_url

register = template.Library()


@register.simple_tag
def tracking_url_of(order) -> str:
    """The order's public tracking URL (its token is made on first use, then kept)."""
    return tracking_url(order)
