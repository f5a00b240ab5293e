"""Proof of delivery API routes (under /api/v1/)."""

from django.urls import path

from proofs.api import views as api

urlpatterns = [
    path("orders/<int:order_id>/proofs", api.OrderProofsApi.as_view(), name="api-order-proofs"),
    path(
        "orders/<int:order_id>/proofs/<int:proof_id>/<str:kind>",
        api.OrderProofFileApi.as_view(),
        name="api-order-proof-file",
    ),
]
