"""The owner's Stores pages under /settings/stores/ (each platform adds its own patterns)."""

from django.urls import path

from stores.views import pages, shopify, woocommerce, writebacks

urlpatterns = [
    path("", pages.stores_view, name="stores"),
    *shopify.urlpatterns,
    *woocommerce.urlpatterns,
    *writebacks.urlpatterns,
]
