"""API routes for csv (under /api/v1/)."""

urlpatterns: list = []
