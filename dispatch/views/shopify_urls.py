"""Dashboard routes for shopify (in the "dashboard" namespace)."""

urlpatterns: list = []
