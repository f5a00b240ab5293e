"""Webhook API routes (under /api/v1/)."""

from django.urls import path

from webhooks.api import views as api

urlpatterns = [
    path("webhooks", api.SubscriptionListApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:subscription_id>", api.SubscriptionDetailApi.as_view(), name="api-webhook"),
    path(
        "webhooks/<int:subscription_id>/deliveries",
        api.DeliveryListApi.as_view(),
        name="api-webhook-deliveries",
    ),
    path(
        "webhooks/<int:subscription_id>/deliveries/<int:delivery_id>/replay",
        api.DeliveryReplayApi.as_view(),
        name="api-webhook-replay",
    ),
]
