"""Depot, vehicle and driver shapes for the API: strict input (unknown and read-only
fields refused by name), explicit output.

The input's limits are not written here: they are read from the model columns (lengths,
digits, ranges), which the fleet services check every change against, and from the
services' own limits; the services check the meaning."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Field, Model
from rest_framework import serializers

from accounts.models import User
from core.json_types import JSONTypedSerializer
from dispatch.models import Depot, Driver, Vehicle
from dispatch.services import fleet as fleet_services

READ_ONLY = frozenset({"id", "created_at", "updated_at"})


def _column(model: type[Model], name: str) -> Field:
    return model._meta.get_field(name)


def _bounds(model: type[Model], name: str) -> tuple[Any, Any]:
    """The (min, max) that the model column's validators allow."""
    validators = _column(model, name).validators
    low = [v.limit_value for v in validators if isinstance(v, MinValueValidator)]
    high = [v.limit_value for v in validators if isinstance(v, MaxValueValidator)]
    return max(low, default=None), min(high, default=None)


class StrictInputSerializer(JSONTypedSerializer):
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


def _name(model: type[Model]) -> serializers.CharField:
    return serializers.CharField(max_length=_column(model, "name").max_length)


def _text(model: type[Model], name: str, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        max_length=_column(model, name).max_length, required=False, allow_blank=True, **kwargs
    )


def _coordinate(name: str, **kwargs: Any) -> serializers.FloatField:
    low, high = _bounds(Depot, name)
    return serializers.FloatField(
        min_value=low, max_value=high, required=False, allow_null=True, **kwargs
    )


def _skills() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=fleet_services.SKILL_LENGTH),
        max_length=fleet_services.MAX_SKILLS,
        required=False,
        help_text="Skill names; stored lower case, without repeats.",
    )


def _decimal(name: str, *, help_text: str) -> serializers.DecimalField:
    column = _column(Vehicle, name)
    return serializers.DecimalField(
        max_digits=column.max_digits,
        decimal_places=column.decimal_places,
        required=False,
        allow_null=column.null,
        help_text=help_text,
    )


def _optional_int(low: int, high: int, help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=low, max_value=high, required=False, allow_null=True, help_text=help_text
    )


# --- depots -----------------------------------------------------------------------------


class DepotInputSerializer(StrictInputSerializer):
    name = _name(Depot)
    address_line1 = _text(Depot, "address_line1")
    address_line2 = _text(Depot, "address_line2")
    city = _text(Depot, "city")
    postcode = _text(Depot, "postcode")
    region = _text(Depot, "region")
    country = _text(Depot, "country", help_text="ISO 3166-1 alpha-2; empty: the account's country.")
    lat = _coordinate(
        "lat", help_text="Without lat/lng the address is located when the depot is saved."
    )
    lng = _coordinate("lng")
    opens_at = LocalTimeField(required=False, help_text="Local time, HH:MM.")
    closes_at = LocalTimeField(required=False, help_text="Local time, HH:MM.")
    is_active = serializers.BooleanField(required=False)


class DepotOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Depot
        fields = [
            "id",
            "name",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "region",
            "country",
            "lat",
            "lng",
            "opens_at",
            "closes_at",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- vehicles ---------------------------------------------------------------------------


class VehicleInputSerializer(StrictInputSerializer):
    name = _name(Vehicle)
    start_depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(), help_text="Id of an active depot."
    )
    end_depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(),
        required=False,
        allow_null=True,
        help_text="Empty: back to the start depot.",
    )
    capacity_weight_kg = _decimal("capacity_weight_kg", help_text="Empty: no limit.")
    capacity_volume_l = _decimal("capacity_volume_l", help_text="Empty: no limit.")
    capacity_items = _optional_int(*_bounds(Vehicle, "capacity_items"), "Empty: no limit.")
    skills = _skills()
    cost_per_km = _decimal("cost_per_km", help_text="0 or more.")
    cost_per_hour = _decimal("cost_per_hour", help_text="0 or more.")
    fixed_cost = _decimal("fixed_cost", help_text="Per route used; 0 or more.")
    max_stops = _optional_int(1, fleet_services.MAX_STOPS, "Empty: no limit.")
    max_route_duration_s = _optional_int(
        fleet_services.MIN_ROUTE_DURATION_S,
        fleet_services.MAX_ROUTE_DURATION_S,
        "Seconds; empty: no limit.",
    )
    is_active = serializers.BooleanField(required=False)
    energy = serializers.ChoiceField(
        choices=Vehicle.Energy.choices,
        required=False,
        help_text="What moves it; the reports turn distance into fuel and CO2 by it.",
    )
    consumption_per_100km = serializers.DecimalField(
        max_digits=_column(Vehicle, "consumption_per_100km").max_digits,
        decimal_places=_column(Vehicle, "consumption_per_100km").decimal_places,
        min_value=_bounds(Vehicle, "consumption_per_100km")[0],
        required=False,
        allow_null=True,
        help_text="Litres per 100 km (kWh per 100 km for an electric vehicle), 0 or more; "
        "empty: a typical van of its energy.",
    )


class VehicleOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Vehicle
        fields = [
            "id",
            "name",
            "start_depot",
            "end_depot",
            "capacity_weight_kg",
            "capacity_volume_l",
            "capacity_items",
            "skills",
            "cost_per_km",
            "cost_per_hour",
            "fixed_cost",
            "max_stops",
            "max_route_duration_s",
            "is_active",
            "energy",
            "consumption_per_100km",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


# --- drivers ----------------------------------------------------------------------------


class DriverInputSerializer(StrictInputSerializer):
    name = _name(Driver)
    phone = serializers.CharField(
        max_length=fleet_services.PHONE_INPUT_LENGTH,
        required=False,
        allow_blank=True,
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
        User,
        "email",
        help_text="Optional, instead of `user`: makes the driver a new login (a user with "
        "the driver role) with this email, linked in the same transaction. Needs "
        "`login_password`; only for a driver who has no login yet. Only an owner (signed "
        "in) gives a sign-in: with an API key or as a dispatcher, 400.",
    )
    login_password = serializers.CharField(
        max_length=_column(User, "password").max_length,
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
    break_duration_s = serializers.IntegerField(
        min_value=0, max_value=fleet_services.MAX_BREAK_DURATION_S, required=False
    )
    skills = _skills()
    is_active = serializers.BooleanField(required=False)


class DriverOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Driver
        fields = [
            "id",
            "name",
            "phone",
            "user",
            "default_vehicle",
            "shift_start",
            "shift_end",
            "break_start",
            "break_duration_s",
            "skills",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
