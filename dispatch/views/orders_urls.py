"""Dashboard routes for orders (in the "dashboard" namespace)."""

urlpatterns: list = []
