"""Notifications' pages: the provider's webhooks (`urlpatterns`, under /notifications/) and
the owner's settings (`settings_patterns`, under /settings/messages/); config/urls_tenant.py
mounts both."""

from django.urls import path

from notifications.views import conversations, masked, provider, settings

urlpatterns = [
    path("twilio/status", provider.twilio_status_view, name="twilio-status"),
    path("twilio/inbound", provider.twilio_inbound_view, name="twilio-inbound"),
    path("twilio/answer-status", provider.twilio_answer_status_view, name="twilio-answer-status"),
    # the pool numbers of masked calls: each number's voice and messaging webhooks
    path("twilio/masked/voice", masked.masked_voice_view, name="twilio-masked-voice"),
    path(
        "twilio/masked/voice/status",
        masked.masked_voice_status_view,
        name="twilio-masked-voice-status",
    ),
    path("twilio/masked/sms", masked.masked_sms_view, name="twilio-masked-sms"),
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
    path("orders/<int:order_id>/", conversations.thread_view, name="conversation-thread"),
    path("orders/<int:order_id>/read", conversations.read_view, name="conversation-read"),
    path("orders/<int:order_id>/answer", conversations.answer_view, name="conversation-answer"),
]

# The driver app's masked calls and texts to a stop's customer.
driver_patterns = [
    path("stops/<int:order_id>/masked", masked.masked_open_view, name="masked"),
]

# The owner's pool of numbers for masked calls (under /settings/calls/).
calls_patterns = [
    path("", masked.calls_settings_view, name="calls-settings"),
]
