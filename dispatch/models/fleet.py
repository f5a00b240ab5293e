"""Depots, vehicles and drivers: what the optimiser plans with."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dispatch.models.base import Address, TimeStamped, validate_e164


class Depot(Address, TimeStamped):
    """Where vehicles load and start. Opening hours are local times in the tenant's zone."""

    name = models.CharField(max_length=100, unique=True)
    opens_at = models.TimeField(default=dt.time(7, 0))
    closes_at = models.TimeField(default=dt.time(20, 0))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__lt=models.F("closes_at")),
                name="depot_hours_order",
                violation_error_message="The depot must open before it closes.",
            ),
            models.CheckConstraint(
                condition=models.Q(lat__isnull=False, lng__isnull=False),
                name="depot_has_location",
                violation_error_message="A depot needs its coordinates (lat and lng).",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Vehicle(TimeStamped):
    """A van, bike or truck. An empty capacity means "no limit" in that dimension."""

    class Energy(models.TextChoices):
        """What moves it (reports turn distance into fuel and CO2 by it)."""

        DIESEL = "diesel", _("Diesel")
        PETROL = "petrol", _("Petrol")
        HYBRID = "hybrid", _("Hybrid (petrol)")
        ELECTRIC = "electric", _("Electric")
        HUMAN = "human", _("Pedal power")

    name = models.CharField(max_length=100, unique=True)
    capacity_weight_kg = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    capacity_volume_l = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    capacity_items = models.PositiveIntegerField(null=True, blank=True)
    skills = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    start_depot = models.ForeignKey(Depot, on_delete=models.PROTECT, related_name="+")
    end_depot = models.ForeignKey(
        Depot,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        help_text="Empty: back to the start depot.",
    )
    cost_per_km = models.DecimalField(max_digits=8, decimal_places=3, default=0)
    cost_per_hour = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    fixed_cost = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    max_stops = models.PositiveIntegerField(null=True, blank=True)
    max_route_duration_s = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    energy = models.CharField(
        _("energy"), max_length=8, choices=Energy.choices, default=Energy.DIESEL
    )
    consumption_per_100km = models.DecimalField(
        _("consumption per 100 km"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("Litres (kWh for an electric vehicle). Empty: a typical van's."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Driver(TimeStamped):
    """A person who drives; signs in to the driver app as `user` (role driver)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="driver",
    )
    name = models.CharField(max_length=150)
    phone = models.CharField(max_length=20, blank=True, validators=[validate_e164])
    default_vehicle = models.ForeignKey(
        Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    shift_start = models.TimeField(default=dt.time(8, 0))
    shift_end = models.TimeField(default=dt.time(17, 0))
    break_start = models.TimeField(null=True, blank=True, help_text="Earliest start of the break.")
    break_duration_s = models.PositiveIntegerField(default=0)
    skills = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(shift_start__lt=models.F("shift_end")),
                name="driver_shift_order",
                violation_error_message="The shift must start before it ends.",
            ),
        ]

    def __str__(self) -> str:
        return self.name
