"""API routes for shopify (under /api/v1/)."""

urlpatterns: list = []
