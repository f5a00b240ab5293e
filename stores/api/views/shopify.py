"""The shopify API (filled in by its work)."""

urlpatterns: list = []
