"""The dispatch API under /api/v1/, one route module per area."""

from django.urls import include, path

urlpatterns = [
    path("", include("dispatch.api.orders_urls")),
    path("", include("dispatch.api.fleet_urls")),
    path("", include("dispatch.api.csv_urls")),
    path("", include("dispatch.api.shopify_urls")),
]
