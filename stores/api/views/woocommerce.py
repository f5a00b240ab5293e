"""The woocommerce API (filled in by its work)."""

urlpatterns: list = []
