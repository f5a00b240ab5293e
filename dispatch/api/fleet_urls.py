"""API routes for depots, vehicles and drivers (under /api/v1/)."""

from django.urls import path

from dispatch.api import fleet

urlpatterns = [
    path("depots", fleet.DepotListApi.as_view(), name="api-depots"),
    path("depots/<int:pk>", fleet.DepotDetailApi.as_view(), name="api-depot"),
    path("vehicles", fleet.VehicleListApi.as_view(), name="api-vehicles"),
    path("vehicles/<int:pk>", fleet.VehicleDetailApi.as_view(), name="api-vehicle"),
    path("drivers", fleet.DriverListApi.as_view(), name="api-drivers"),
    path("drivers/<int:pk>", fleet.DriverDetailApi.as_view(), name="api-driver"),
]
