"""The owner's webhooks pages under /settings/webhooks/."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("", views.webhook_settings_view, name="webhook-settings"),
    path("<int:subscription_id>/", views.webhook_detail_view, name="webhook-detail"),
    path("<int:subscription_id>/action", views.webhook_action_view, name="webhook-action"),
]
