"""Provider webhooks under /notifications/."""

from django.urls import path

from notifications import views

urlpatterns = [
    path("twilio/status", views.twilio_status_view, name="twilio-status"),
    path("twilio/inbound", views.twilio_inbound_view, name="twilio-inbound"),
]
