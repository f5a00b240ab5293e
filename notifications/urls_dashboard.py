"""The notification settings pages under /settings/messages/."""

from django.urls import path

from notifications import pages

urlpatterns = [
    path("", pages.notification_settings_view, name="notification-settings"),
    path("preview", pages.preview_view, name="notification-preview"),
]
