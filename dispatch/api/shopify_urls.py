"""API routes for the Shopify integration (under /api/v1/)."""

from django.urls import path

from dispatch.api import shopify

urlpatterns = [
    path(
        "integrations/shopify/webhooks",
        shopify.ShopifyWebhookApi.as_view(),
        name="api-shopify-webhooks",
    ),
    path("integrations/shopify", shopify.ShopifyIntegrationApi.as_view(), name="api-shopify"),
    path(
        "integrations/shopify/<int:pk>",
        shopify.ShopifyIntegrationDetailApi.as_view(),
        name="api-shopify-store",
    ),
]
