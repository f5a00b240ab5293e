"""Queries of depots, vehicles and drivers for the API, the dashboard and the services.

Lists put active items first, then sort by name; the API's cursor pagination orders by id
instead (a cursor needs a stable, unique order).
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from accounts.models import User
from dispatch.models import Depot, Driver, Vehicle

BOOLEAN_CHOICES = [("true", "true"), ("false", "false"), ("1", "1"), ("0", "0")]


def _as_bool(value: str) -> bool:
    return value in ("true", "1")


class FleetFilter(django_filters.FilterSet):
    """The filters of the depot, vehicle and driver lists (API and pages alike)."""

    active = django_filters.TypedChoiceFilter(
        field_name="is_active",
        choices=BOOLEAN_CHOICES,
        coerce=_as_bool,
        help_text="true: only active ones; false: only deactivated ones.",
    )
    search = django_filters.CharFilter(
        method="filter_search", max_length=100, help_text="Part of the name, any case."
    )
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text="ISO 8601 date and time: only items changed since then.",
    )

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(name__icontains=value) if value else queryset


class DepotFilter(FleetFilter):
    class Meta:
        model = Depot
        fields: list[str] = []


class VehicleFilter(FleetFilter):
    class Meta:
        model = Vehicle
        fields: list[str] = []


class DriverFilter(FleetFilter):
    class Meta:
        model = Driver
        fields: list[str] = []


def depots_all() -> QuerySet[Depot]:
    """Every depot, active first."""
    return Depot.objects.order_by("-is_active", "name", "id")


def vehicles_all() -> QuerySet[Vehicle]:
    """Every vehicle with its depots, active first."""
    return Vehicle.objects.select_related("start_depot", "end_depot").order_by(
        "-is_active", "name", "id"
    )


def drivers_all() -> QuerySet[Driver]:
    """Every driver with its login and usual vehicle, active first."""
    return Driver.objects.select_related("user", "default_vehicle").order_by(
        "-is_active", "name", "id"
    )


def depots_choosable(*, current: Depot | None = None) -> QuerySet[Depot]:
    """Depots a vehicle may be given: the active ones (and the one it already has)."""
    condition = Q(is_active=True)
    if current is not None:
        condition |= Q(pk=current.pk)
    return Depot.objects.filter(condition).order_by("name")


def vehicles_choosable(*, current: Vehicle | None = None) -> QuerySet[Vehicle]:
    """Vehicles a driver may be given as usual vehicle: active ones (and the current one)."""
    condition = Q(is_active=True)
    if current is not None:
        condition |= Q(pk=current.pk)
    return Vehicle.objects.filter(condition).order_by("name")


def driver_logins_available(*, driver: Driver | None = None) -> QuerySet[User]:
    """Active logins with the driver role not linked to a driver yet (and `driver`'s own)."""
    condition = Q(driver__isnull=True, role=User.Role.DRIVER, is_active=True)
    if driver is not None and driver.user_id is not None:
        condition |= Q(pk=driver.user_id)
    return User.objects.filter(condition).order_by("email")


def vehicles_using_depot(*, depot: Depot) -> QuerySet[Vehicle]:
    """Active vehicles that start or end their routes at `depot`."""
    return Vehicle.objects.filter(
        Q(start_depot=depot) | Q(end_depot=depot), is_active=True
    ).order_by("name")


def depot_map_points() -> list[dict[str, object]]:
    """Active depots as {name, lat, lng}, for the dashboard's map."""
    return [
        {"name": name, "lat": lat, "lng": lng}
        for name, lat, lng in Depot.objects.filter(is_active=True)
        .order_by("name")
        .values_list("name", "lat", "lng")
    ]


def driver_actor_names(ids: set[str]) -> dict[str, str]:
    """Drivers named in histories ("driver:<id>"): "Anna Virtanen (driver)", in one query
    (audit.selectors)."""
    pks = [int(i) for i in ids if i.isdigit()]
    drivers = Driver.objects.filter(pk__in=pks).values_list("pk", "name")
    return {str(pk): f"{name} (driver)" for pk, name in drivers}
