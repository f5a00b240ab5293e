"""Depots, vehicles and drivers API: list (filters, cursor pages), create, read, change,
deactivate. Rules live in dispatch.services.fleet; this module only translates HTTP."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from dispatch.api.serializers.fleet import (
    DepotInputSerializer,
    DepotOutputSerializer,
    DriverInputSerializer,
    DriverOutputSerializer,
    VehicleInputSerializer,
    VehicleOutputSerializer,
)
from dispatch.selectors.fleet import (
    DepotFilter,
    DriverFilter,
    VehicleFilter,
    depots_all,
    drivers_all,
    vehicles_all,
)
from dispatch.services import fleet as fleet_services

# --- views ------------------------------------------------------------------------------


def _validated(serializer_class: type[serializers.Serializer], request: Request, **kwargs):
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FleetListApi(GenericAPIView):
    """Shared GET of the three lists: filtered, then a cursor page (newest first)."""

    filter_backends = [DjangoFilterBackend]

    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class FleetDetailApi(GenericAPIView):
    """Shared lookup of one item by id, in the request's tenant schema only."""

    filter_backends: list = []


ACTIVE_PARAMETER = OpenApiParameter(
    "active", OpenApiTypes.BOOL, description="true: only active ones; false: only deactivated ones."
)
LIST_DOC = "Filters: `active`, `search` (name), `updated_since`; cursor pages (`page_size` ≤ 500)."


class DepotListApi(FleetListApi):
    serializer_class = DepotOutputSerializer
    filterset_class = DepotFilter

    def get_queryset(self):
        return depots_all()

    @extend_schema(
        summary="List depots",
        description=LIST_DOC,
        responses=DepotOutputSerializer(many=True),
        parameters=[ACTIVE_PARAMETER],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        summary="Create a depot",
        description="Without lat/lng the address is located; if it cannot be, 400.",
        request=DepotInputSerializer,
        responses={201: DepotOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        depot = fleet_services.depot_create(**_validated(DepotInputSerializer, request))
        return Response(DepotOutputSerializer(depot).data, status=status.HTTP_201_CREATED)


class DepotDetailApi(FleetDetailApi):
    serializer_class = DepotOutputSerializer

    def get_queryset(self):
        return depots_all()

    @extend_schema(summary="Read a depot")
    def get(self, request: Request, pk: int) -> Response:
        return Response(DepotOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Change a depot",
        description='`{"is_active": false}` deactivates it (refused while active vehicles '
        "start or end there).",
        request=DepotInputSerializer(partial=True),
        responses=DepotOutputSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        depot = self.get_object()
        data = _validated(DepotInputSerializer, request, partial=True)
        return Response(
            DepotOutputSerializer(fleet_services.depot_update(depot=depot, data=data)).data
        )

    @extend_schema(
        summary="Deactivate a depot (kept for history)", responses={200: DepotOutputSerializer}
    )
    def delete(self, request: Request, pk: int) -> Response:
        depot = fleet_services.depot_deactivate(depot=self.get_object())
        return Response(DepotOutputSerializer(depot).data)


class VehicleListApi(FleetListApi):
    serializer_class = VehicleOutputSerializer
    filterset_class = VehicleFilter

    def get_queryset(self):
        return vehicles_all()

    @extend_schema(
        summary="List vehicles",
        description=LIST_DOC,
        responses=VehicleOutputSerializer(many=True),
        parameters=[ACTIVE_PARAMETER],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        summary="Create a vehicle",
        request=VehicleInputSerializer,
        responses={201: VehicleOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        vehicle = fleet_services.vehicle_create(**_validated(VehicleInputSerializer, request))
        return Response(VehicleOutputSerializer(vehicle).data, status=status.HTTP_201_CREATED)


class VehicleDetailApi(FleetDetailApi):
    serializer_class = VehicleOutputSerializer

    def get_queryset(self):
        return vehicles_all()

    @extend_schema(summary="Read a vehicle")
    def get(self, request: Request, pk: int) -> Response:
        return Response(VehicleOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Change a vehicle",
        description='`{"is_active": false}` deactivates it.',
        request=VehicleInputSerializer(partial=True),
        responses=VehicleOutputSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        vehicle = self.get_object()
        data = _validated(VehicleInputSerializer, request, partial=True)
        vehicle = fleet_services.vehicle_update(vehicle=vehicle, data=data)
        return Response(VehicleOutputSerializer(vehicle).data)

    @extend_schema(
        summary="Deactivate a vehicle (kept for history)", responses={200: VehicleOutputSerializer}
    )
    def delete(self, request: Request, pk: int) -> Response:
        vehicle = self.get_object()
        vehicle = fleet_services.vehicle_deactivate(vehicle=vehicle)
        return Response(VehicleOutputSerializer(vehicle).data)


class DriverListApi(FleetListApi):
    serializer_class = DriverOutputSerializer
    filterset_class = DriverFilter

    def get_queryset(self):
        return drivers_all()

    @extend_schema(
        summary="List drivers",
        description=LIST_DOC,
        responses=DriverOutputSerializer(many=True),
        parameters=[ACTIVE_PARAMETER],
    )
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(
        summary="Create a driver",
        request=DriverInputSerializer,
        responses={201: DriverOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        driver = fleet_services.driver_create(
            **_validated(DriverInputSerializer, request), acting_user=request.user
        )
        return Response(DriverOutputSerializer(driver).data, status=status.HTTP_201_CREATED)


class DriverDetailApi(FleetDetailApi):
    serializer_class = DriverOutputSerializer

    def get_queryset(self):
        return drivers_all()

    @extend_schema(summary="Read a driver")
    def get(self, request: Request, pk: int) -> Response:
        return Response(DriverOutputSerializer(self.get_object()).data)

    @extend_schema(
        summary="Change a driver",
        description='`{"is_active": false}` deactivates them.',
        request=DriverInputSerializer(partial=True),
        responses=DriverOutputSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        driver = self.get_object()
        data = _validated(DriverInputSerializer, request, partial=True)
        driver = fleet_services.driver_update(driver=driver, data=data, acting_user=request.user)
        return Response(DriverOutputSerializer(driver).data)

    @extend_schema(
        summary="Deactivate a driver (kept for history)", responses={200: DriverOutputSerializer}
    )
    def delete(self, request: Request, pk: int) -> Response:
        driver = fleet_services.driver_deactivate(driver=self.get_object())
        return Response(DriverOutputSerializer(driver).data)
