"""API routes for the Shopify integration (under /api/v1/)."""

from django.urls import path

from dispatch.api import shopify

urlpatterns = [
    path(
        "integrations/shopify/webhooks",
        shopify.ShopifyWebhookApi.as_view(),
        name="api-shopify-webhooks",
    ),
]
