"""The tracking API under /api/v1/."""

from django.urls import path

from tracking.api import views

urlpatterns = [
    path("driver/pings", views.PingBatchApi.as_view(), name="api-driver-pings"),
    path("positions", views.PositionsApi.as_view(), name="api-positions"),
    path("drivers/<int:driver_id>/path", views.DriverPathApi.as_view(), name="api-driver-path"),
    path("orders/<int:order_id>/eta", views.OrderEtaApi.as_view(), name="api-order-eta"),
]
