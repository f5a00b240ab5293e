"""The driver's pages under /driver/."""

from django.urls import path

from proofs import views as proof_views
from routing import driver_views
from tracking import views as tracking_views

app_name = "driver"
urlpatterns = [
    path("", driver_views.driver_route_view, name="route"),
    path("version", driver_views.driver_version_view, name="version"),
    path("duty", tracking_views.duty_view, name="duty"),
    path("stops", tracking_views.stop_view, name="stop"),
    path("stops/<int:order_id>/complete", proof_views.complete_view, name="complete"),
]
