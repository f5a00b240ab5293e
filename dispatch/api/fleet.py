"""Depots, vehicles and drivers API: list (filters, cursor pages), create, read, change,
deactivate. Rules live in dispatch.services.fleet; this module only translates HTTP."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from dispatch.models import Depot, Driver, Vehicle
from dispatch.selectors.fleet import (
    DepotFilter,
    DriverFilter,
    VehicleFilter,
    depots_all,
    drivers_all,
    vehicles_all,
)
from dispatch.services import fleet as fleet_services

READ_ONLY = frozenset({"id", "created_at", "updated_at"})
MAX_INT = 2_147_483_647  # PostgreSQL integer


class StrictInputSerializer(serializers.Serializer):
    """Refuses unknown and read-only fields by name instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        extra = {
            name: ["This field is read-only." if name in READ_ONLY else "Unknown field."]
            for name in sorted(set(data) - set(self.fields))
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **extra}) from exc
        if extra:
            raise serializers.ValidationError(extra)
        return value


class LocalTimeField(serializers.TimeField):
    """HH:MM[:SS] in the tenant's time zone. An offset is refused, not silently dropped."""

    PATTERN = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")

    def to_internal_value(self, value: Any) -> dt.time:
        if isinstance(value, str) and not self.PATTERN.match(value.strip()):
            self.fail("invalid", format="HH:MM, local time without a UTC offset")
        return super().to_internal_value(value.strip() if isinstance(value, str) else value)


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


def _skills() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=fleet_services.SKILL_LENGTH),
        max_length=fleet_services.MAX_SKILLS,
        required=False,
        help_text="Skill names; stored lower case, without repeats.",
    )


def _decimal(
    max_digits: int, places: int, *, nullable: bool, help_text: str
) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=max_digits,
        decimal_places=places,
        required=False,
        allow_null=nullable,
        help_text=help_text,
    )


def _optional_int(low: int, high: int, help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=low, max_value=high, required=False, allow_null=True, help_text=help_text
    )


# --- depots -----------------------------------------------------------------------------


class DepotInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    address_line1 = _text(200)
    address_line2 = _text(200)
    city = _text(100)
    postcode = _text(20)
    region = _text(100)
    country = _text(2, help_text="ISO 3166-1 alpha-2; empty: the account's country.")
    lat = serializers.FloatField(
        min_value=-90,
        max_value=90,
        required=False,
        allow_null=True,
        help_text="Without lat/lng the address is located when the depot is saved.",
    )
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    opens_at = LocalTimeField(required=False, help_text="Local time, HH:MM.")
    closes_at = LocalTimeField(required=False, help_text="Local time, HH:MM.")
    is_active = serializers.BooleanField(required=False)


class DepotOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Depot
        fields = [
            "id", "name", "address_line1", "address_line2", "city", "postcode", "region",
            "country", "lat", "lng", "opens_at", "closes_at", "is_active", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


# --- vehicles ---------------------------------------------------------------------------


class VehicleInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    start_depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(), help_text="Id of an active depot."
    )
    end_depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(),
        required=False,
        allow_null=True,
        help_text="Empty: back to the start depot.",
    )
    capacity_weight_kg = _decimal(9, 2, nullable=True, help_text="Empty: no limit.")
    capacity_volume_l = _decimal(9, 2, nullable=True, help_text="Empty: no limit.")
    capacity_items = _optional_int(0, MAX_INT, "Empty: no limit.")
    skills = _skills()
    cost_per_km = _decimal(8, 3, nullable=False, help_text="0 or more.")
    cost_per_hour = _decimal(8, 2, nullable=False, help_text="0 or more.")
    fixed_cost = _decimal(8, 2, nullable=False, help_text="Per route used; 0 or more.")
    max_stops = _optional_int(1, fleet_services.MAX_STOPS, "Empty: no limit.")
    max_route_duration_s = _optional_int(
        fleet_services.MIN_ROUTE_DURATION_S,
        fleet_services.MAX_ROUTE_DURATION_S,
        "Seconds; empty: no limit.",
    )
    is_active = serializers.BooleanField(required=False)


class VehicleOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = [
            "id", "name", "start_depot", "end_depot", "capacity_weight_kg", "capacity_volume_l",
            "capacity_items", "skills", "cost_per_km", "cost_per_hour", "fixed_cost",
            "max_stops", "max_route_duration_s", "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


# --- drivers ----------------------------------------------------------------------------


class DriverInputSerializer(StrictInputSerializer):
    name = serializers.CharField(max_length=150)
    phone = _text(
        40,
        help_text="Any format (07700 900123, +44 7700 900123); numbers without a country code "
        "are read in your country. Answered in E.164 (+447700900123).",
    )
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the driver's login (a user with the driver role).",
    )
    login_email = _text(
        254,
        help_text="Optional, instead of `user`: makes the driver a new login (a user with "
        "the driver role) with this email, linked in the same transaction. Needs "
        "`login_password`; only for a driver who has no login yet. Only an owner (signed "
        "in) gives a sign-in: with an API key or as a dispatcher, 400.",
    )
    login_password = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=False,
        help_text="The new login's password (at least 10 characters). Never answered.",
    )
    default_vehicle = serializers.PrimaryKeyRelatedField(
        queryset=Vehicle.objects.all(), required=False, allow_null=True
    )
    shift_start = LocalTimeField(required=False, help_text="Local time, HH:MM.")
    shift_end = LocalTimeField(required=False, help_text="Local time, HH:MM.")
    break_start = LocalTimeField(
        required=False, allow_null=True, help_text="Earliest start of the break."
    )
    break_duration_s = serializers.IntegerField(min_value=0, max_value=86_400, required=False)
    skills = _skills()
    is_active = serializers.BooleanField(required=False)


class DriverOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Driver
        fields = [
            "id", "name", "phone", "user", "default_vehicle", "shift_start", "shift_end",
            "break_start", "break_duration_s", "skills", "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


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
