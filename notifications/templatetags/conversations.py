"""`{% conversation_card order %}`: the order page's conversation with its customer (the
thread and the answer box).

A template tag, so the order page (dispatch, a lower layer) shows it without dispatch
importing notifications, as `tracking_links` does for the tracking link."""

from __future__ import annotations

from django import template

from notifications.models import new_send_key
from notifications.selectors import order_thread, sms_opted_out
from notifications.services.conversations import MAX_ANSWER_CHARS, STATUS_LABELS

register = template.Library()


@register.inclusion_tag("notifications/_conversation.html", takes_context=True)
def conversation_card(context, order) -> dict:
    """The thread, and a fresh key for the answer form: the same form sent twice (a double
    click) sends one answer."""
    thread = list(order_thread(order=order))
    for message in thread:
        message.status_label = STATUS_LABELS.get(message.status, message.status)
    return {
        "order": order,
        "thread": thread,
        "unread": sum(1 for m in thread if m.direction == "in" and m.read_at is None),
        "opted_out": sms_opted_out(phone=order.customer_phone),
        "key": new_send_key(),
        "max_chars": MAX_ANSWER_CHARS,
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
