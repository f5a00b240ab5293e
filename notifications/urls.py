"""Notifications' pages: the provider's webhooks (`urlpatterns`, under /notifications/) and
the owner's settings (`settings_patterns`, under /settings/messages/); config/urls_tenant.py
mounts both."""

from django.urls import path

from notifications.views import conversations, provider, settings

urlpatterns = [
    path("twilio/status", provider.twilio_status_view, name="twilio-status"),
    path("twilio/inbound", provider.twilio_inbound_view, name="twilio-inbound"),
    path("twilio/answer-status", provider.twilio_answer_status_view, name="twilio-answer-status"),
]

settings_patterns = [
    path("", settings.notification_settings_view, name="notification-settings"),
    path("preview", settings.preview_view, name="notification-preview"),
]

# The dispatcher's conversations with customers (their SMS replies and the answers).
conversation_patterns = [
    path("", conversations.inbox_view, name="conversation-inbox"),
    path("unread", conversations.unread_view, name="conversation-unread"),
    path("read", conversations.phone_read_view, name="conversation-phone-read"),
    path("orders/<int:order_id>/read", conversations.read_view, name="conversation-read"),
    path("orders/<int:order_id>/answer", conversations.answer_view, name="conversation-answer"),
]

# The driver app's masked calls and texts to a stop's customer.
driver_patterns: list = []

# The owner's pool of numbers for masked calls (under /settings/calls/).
calls_patterns: list = []
