"""API routes for fleet (under /api/v1/)."""

urlpatterns: list = []
