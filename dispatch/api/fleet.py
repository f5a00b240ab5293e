"""Depots, vehicles and drivers API: list (filters, cursor pages), create, read, change,
deactivate. Rules live in dispatch.services.fleet; this module only translates HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import django_filters
from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet as fleet_services

READ_ONLY = {"id", "created_at", "updated_at"}


class StrictSerializer(serializers.Serializer):
    """Refuses unknown and read-only fields by name, instead of silently ignoring them."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        extra = {
            name: ["This field is read-only." if name in READ_ONLY else "Unknown field."]
            for name in set(data) - set(self.fields)
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({**exc.detail, **extra}) from exc
        if extra:
            raise serializers.ValidationError(extra)
        return value


def _skills_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, max_length=50
    )


def _money() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=8, decimal_places=3, min_value=0, required=False)


def _capacity() -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=9, decimal_places=2, min_value=0, required=False, allow_null=True
    )


class DepotInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    address_line1 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    lng = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    opens_at = serializers.TimeField(required=False)
    closes_at = serializers.TimeField(required=False)
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


class VehicleInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    capacity_weight_kg = _capacity()
    capacity_volume_l = _capacity()
    capacity_items = serializers.IntegerField(
        min_value=0, max_value=1_000_000, required=False, allow_null=True
    )
    skills = _skills_field()
    start_depot = serializers.PrimaryKeyRelatedField(queryset=Depot.objects.all())
    end_depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(), required=False, allow_null=True
    )
    cost_per_km = _money()
    cost_per_hour = _money()
    fixed_cost = _money()
    max_stops = serializers.IntegerField(
        min_value=1, max_value=10_000, required=False, allow_null=True
    )
    max_route_duration_s = serializers.IntegerField(
        min_value=60, max_value=48 * 3600, required=False, allow_null=True
    )
    is_active = serializers.BooleanField(required=False)


class VehicleOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = [
            "id", "name", "capacity_weight_kg", "capacity_volume_l", "capacity_items", "skills",
            "start_depot", "end_depot", "cost_per_km", "cost_per_hour", "fixed_cost",
            "max_stops", "max_route_duration_s", "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class DriverInputSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True,
        help_text="The driver's login (a user with the driver role).",
    )  # fmt: skip
    default_vehicle = serializers.PrimaryKeyRelatedField(
        queryset=Vehicle.objects.all(), required=False, allow_null=True
    )
    shift_start = serializers.TimeField(required=False)
    shift_end = serializers.TimeField(required=False)
    break_start = serializers.TimeField(required=False, allow_null=True)
    break_duration_s = serializers.IntegerField(min_value=0, max_value=4 * 3600, required=False)
    skills = _skills_field()
    is_active = serializers.BooleanField(required=False)


class DriverOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Driver
        fields = [
            "id", "name", "phone", "user", "default_vehicle", "shift_start", "shift_end",
            "break_start", "break_duration_s", "skills", "is_active", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class FleetFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(field_name="is_active")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")


def _filter_for(model_class: type[Model]) -> type[FleetFilter]:
    meta = type("Meta", (), {"model": model_class, "fields": []})
    return type(f"{model_class.__name__}Filter", (FleetFilter,), {"Meta": meta})


def fleet_endpoints(
    *,
    model: type[Model],
    input_serializer: type[StrictSerializer],
    output_serializer: type[serializers.ModelSerializer],
    save: Callable[..., Model],
    noun: str,
) -> tuple[type[ListAPIView], type[APIView]]:
    """The list and detail views of one kind of fleet item (same rules for all three)."""

    def saved(request: Request, instance: Model | None) -> Model:
        serializer = input_serializer(data=request.data, partial=instance is not None)
        serializer.is_valid(raise_exception=True)
        kwargs = {noun: instance} if instance is not None else {}
        return save(data=serializer.validated_data, **kwargs)

    @extend_schema_view(
        get=extend_schema(summary=f"List {noun}s"),
        post=extend_schema(
            summary=f"Create a {noun}",
            request=input_serializer,
            responses={201: output_serializer},
        ),
    )
    class ListApi(ListAPIView):
        serializer_class = output_serializer
        filter_backends = [DjangoFilterBackend]
        filterset_class = _filter_for(model)

        def get_queryset(self) -> QuerySet:
            return model.objects.order_by("-is_active", "name")

        def post(self, request: Request) -> Response:
            instance = saved(request, None)
            return Response(output_serializer(instance).data, status=status.HTTP_201_CREATED)

    @extend_schema_view(
        get=extend_schema(summary=f"Read a {noun}", responses=output_serializer),
        patch=extend_schema(
            summary=f"Change a {noun}",
            request=input_serializer(partial=True),
            responses=output_serializer,
        ),
        delete=extend_schema(
            summary=f"Deactivate a {noun} (kept for history)", responses=output_serializer
        ),
    )
    class DetailApi(APIView):
        def get(self, request: Request, pk: int) -> Response:
            return Response(output_serializer(get_object_or_404(model, pk=pk)).data)

        def patch(self, request: Request, pk: int) -> Response:
            instance = saved(request, get_object_or_404(model, pk=pk))
            return Response(output_serializer(instance).data)

        def delete(self, request: Request, pk: int) -> Response:
            instance = fleet_services.fleet_set_active(
                item=get_object_or_404(model, pk=pk), is_active=False
            )
            return Response(output_serializer(instance).data)

    ListApi.__name__ = f"{model.__name__}ListApi"
    DetailApi.__name__ = f"{model.__name__}DetailApi"
    return ListApi, DetailApi


DepotListApi, DepotDetailApi = fleet_endpoints(
    model=Depot,
    input_serializer=DepotInputSerializer,
    output_serializer=DepotOutputSerializer,
    save=fleet_services.depot_save,
    noun="depot",
)
VehicleListApi, VehicleDetailApi = fleet_endpoints(
    model=Vehicle,
    input_serializer=VehicleInputSerializer,
    output_serializer=VehicleOutputSerializer,
    save=fleet_services.vehicle_save,
    noun="vehicle",
)
DriverListApi, DriverDetailApi = fleet_endpoints(
    model=Driver,
    input_serializer=DriverInputSerializer,
    output_serializer=DriverOutputSerializer,
    save=fleet_services.driver_save,
    noun="driver",
)
