"""The driver's pages under /driver/."""

from django.urls import path

from routing import driver_views

app_name = "driver"
urlpatterns = [
    path("", driver_views.driver_route_view, name="route"),
    path("version", driver_views.driver_version_view, name="version"),
]
