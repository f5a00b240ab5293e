"""Dashboard routes for csv (in the "dashboard" namespace)."""

urlpatterns: list = []
