"""Dashboard routes for fleet (in the "dashboard" namespace)."""

urlpatterns: list = []
