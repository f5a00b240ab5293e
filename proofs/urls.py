"""Proof of delivery on the tenant's host: the owner's rules, the dispatcher's files, and
(`driver_patterns`, mounted under /driver/ by config/urls_tenant.py) the driver's form."""

from django.urls import path

from proofs import views

urlpatterns = [
    path("settings/proof/", views.settings_view, name="proof-settings"),
    path(
        "orders/<int:order_id>/proofs/<int:proof_id>/<str:kind>",
        views.dispatcher_file_view,
        name="proof-file",
    ),
]

driver_patterns = [
    path("stops/<int:order_id>/complete", views.complete_view, name="complete"),
]
