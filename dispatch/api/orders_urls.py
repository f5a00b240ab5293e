"""API routes for orders (under /api/v1/)."""

urlpatterns: list = []
