"""Depots, vehicles and drivers: create, change, deactivate (never delete what plans use)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, Q

from accounts.models import User
from dispatch.models import Depot, Driver, Vehicle
from dispatch.services.geocoding import geocode_address
from dispatch.services.phones import phone_e164
from tenants.selectors import current_tenant


def _apply(instance: Model, data: dict[str, Any]) -> None:
    for name, value in data.items():
        setattr(instance, name, value)


def _full_clean(instance: Model) -> None:
    """Model validation (field rules, unique names, check constraints) as field errors."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
        if "__all__" in errors:
            errors["non_field_errors"] = errors.pop("__all__")
        raise ValidationError(errors) from exc


def _skills(values: list[str] | None) -> list[str]:
    return sorted({s.strip().lower() for s in values or [] if s.strip()})


@transaction.atomic
def depot_save(*, data: dict[str, Any], depot: Depot | None = None) -> Depot:
    """Create (no `depot`) or change a depot. Without coordinates its address is geocoded."""
    depot = depot or Depot()
    _apply(depot, data)
    depot.country = (depot.country or current_tenant().country).upper()
    if depot.lat is None or depot.lng is None:
        query = ", ".join(p for p in (depot.address_line1, depot.postcode, depot.city) if p)
        if not query:
            raise ValidationError({"lat": ["Give the depot's address or its lat and lng."]})
        found = geocode_address(query=query, country=depot.country)
        if found.lat is None:
            raise ValidationError(
                {"lat": [f"The address could not be located ({found.error}) Give lat and lng."]}
            )
        depot.lat, depot.lng = found.lat, found.lng
    _full_clean(depot)
    depot.save()
    return depot


def _active_depot(depot: Depot | None, field: str, errors: dict[str, list[str]]) -> None:
    if depot is not None and not depot.is_active:
        errors[field] = [f"{depot.name} is not active."]


@transaction.atomic
def vehicle_save(*, data: dict[str, Any], vehicle: Vehicle | None = None) -> Vehicle:
    """Create or change a vehicle. Empty capacities mean "no limit" in that dimension."""
    vehicle = vehicle or Vehicle()
    _apply(vehicle, data)
    vehicle.skills = _skills(vehicle.skills)
    errors: dict[str, list[str]] = {}
    if "start_depot" in data or vehicle.pk is None:
        _active_depot(
            vehicle.start_depot if vehicle.start_depot_id else None, "start_depot", errors
        )
    if "end_depot" in data:
        _active_depot(vehicle.end_depot, "end_depot", errors)
    if errors:
        raise ValidationError(errors)
    _full_clean(vehicle)
    vehicle.save()
    return vehicle


def _seconds_between(start: dt.time, end: dt.time) -> int:
    return (end.hour * 3600 + end.minute * 60) - (start.hour * 3600 + start.minute * 60)


@transaction.atomic
def driver_save(*, data: dict[str, Any], driver: Driver | None = None) -> Driver:
    """Create or change a driver: phone in E.164, an optional driver login, a break that
    fits inside the shift."""
    driver = driver or Driver()
    data = dict(data)
    errors: dict[str, list[str]] = {}
    if "phone" in data:
        try:
            data["phone"] = phone_e164(data["phone"], region=current_tenant().country)
        except ValidationError as exc:
            errors["phone"] = exc.messages
            data.pop("phone")
    _apply(driver, data)
    driver.skills = _skills(driver.skills)
    if "user" in data and driver.user is not None:
        if driver.user.role != User.Role.DRIVER:
            errors["user"] = [f"{driver.user.email} is not a driver login."]
        elif Driver.objects.filter(user=driver.user).exclude(pk=driver.pk).exists():
            errors["user"] = [f"{driver.user.email} already belongs to another driver."]
    if driver.break_start is not None:
        if not driver.shift_start <= driver.break_start < driver.shift_end:
            errors["break_start"] = ["The break must start during the shift."]
        elif _seconds_between(driver.break_start, driver.shift_end) < driver.break_duration_s:
            errors["break_duration_s"] = ["The break must end before the shift does."]
    elif driver.break_duration_s:
        errors["break_start"] = ["Say when the break can start."]
    if errors:
        raise ValidationError(errors)
    _full_clean(driver)
    driver.save()
    return driver


@transaction.atomic
def fleet_set_active(
    *, item: Depot | Vehicle | Driver, is_active: bool
) -> Depot | Vehicle | Driver:
    """Deactivate (or re-activate) instead of deleting: plans and history keep pointing
    at it. A depot still used by active vehicles stays active."""
    if isinstance(item, Depot) and not is_active:
        users = Vehicle.objects.filter(
            Q(start_depot=item) | Q(end_depot=item), is_active=True
        ).values_list("name", flat=True)
        if users:
            raise ValidationError(
                {"is_active": [f"Vehicles start or end here: {', '.join(sorted(users))}."]}
            )
    item.is_active = is_active
    item.save(update_fields=["is_active", "updated_at"])
    return item
