"""The stores' API under /api/v1/ (each platform adds its own patterns)."""

from stores.api.views import shopify, woocommerce

urlpatterns = [*shopify.urlpatterns, *woocommerce.urlpatterns]
