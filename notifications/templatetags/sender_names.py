"""`{% sender_names as senders %}`: the SMS sender and the email "from" name the customer
messages go out with (set on the messages settings page), for the Brand page's preview.

A template tag, so the Brand page (tracking, a lower layer) shows them without tracking
importing notifications."""

from __future__ import annotations

from django import template
from django.conf import settings

from notifications.models import NotificationSettings

register = template.Library()


@register.simple_tag
def sender_names() -> dict[str, str]:
    row = NotificationSettings.objects.filter(pk=1).first()
    return {
        "sms": getattr(row, "sms_sender", "") or "",
        "email_from": getattr(row, "email_from_name", "") or "",
        "email_address": settings.DEFAULT_FROM_EMAIL,
    }
