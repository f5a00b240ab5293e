"""Dashboard routes for integrations (in the "dashboard" namespace)."""

from django.urls import path

from dispatch.views import shopify

urlpatterns = [
    path("shopify/", shopify.shopify_view, name="shopify"),
    path(
        "shopify/<int:pk>/disconnect/", shopify.shopify_deactivate_view, name="shopify-disconnect"
    ),
]
