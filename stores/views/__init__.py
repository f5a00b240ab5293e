"""The stores' pages: the owner's Stores page (pages), a section per platform (shopify,
woocommerce), each platform module exporting its own `urlpatterns`."""
