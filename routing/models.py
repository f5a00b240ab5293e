"""Plans: the optimiser's answer for a day, stored per tenant (routes, stops, left-outs)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from dispatch.models import Depot, Driver, Order, Vehicle


class Plan(models.Model):
    """One optimisation of a day's orders (optionally one depot's), solved in the background."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SOLVING = "solving", "Solving"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    date = models.DateField(db_index=True)
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    seconds = models.FloatField(default=10, help_text="The optimiser's time budget.")
    error = models.TextField(blank=True)
    engine = models.CharField(max_length=40, blank=True)
    distance_m = models.PositiveBigIntegerField(default=0)
    duration_s = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    solved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Plan {self.pk} for {self.date} ({self.status})"


class PlanRoute(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="routes")
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    distance_m = models.PositiveBigIntegerField()
    duration_s = models.PositiveBigIntegerField()
    waiting_s = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["plan", "id"]

    def __str__(self) -> str:
        return f"Route of {self.driver_id} in plan {self.plan_id}"


class PlanStop(models.Model):
    """A visit on a route: an order, or the driver's break (`order` empty)."""

    route = models.ForeignKey(PlanRoute, on_delete=models.CASCADE, related_name="stops")
    sequence = models.PositiveIntegerField()
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True)
    is_break = models.BooleanField(default=False)
    arrives_at = models.DateTimeField()
    starts_at = models.DateTimeField()
    departs_at = models.DateTimeField()
    waiting_s = models.PositiveIntegerField(default=0)
    load = models.JSONField(default=list, help_text="On board after the stop: [10 g, dl, items].")

    class Meta:
        ordering = ["route", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["route", "sequence"], name="plan_stop_sequence"),
        ]

    def __str__(self) -> str:
        return f"Stop {self.sequence} of route {self.route_id}"


class PlanUnassigned(models.Model):
    """An order the plan could not serve, and why (the optimiser's reasons, or not geocoded)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="unassigned")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=32)

    class Meta:
        ordering = ["plan", "order"]

    def __str__(self) -> str:
        return f"Order {self.order_id} left out of plan {self.plan_id}: {self.reason}"
