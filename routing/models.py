"""Plans: the optimiser's answer for a day, stored per tenant (routes, stops, left-outs)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dispatch.models import Depot, Driver, Order, Vehicle


class Objective(models.TextChoices):
    SHORTEST = "shortest", _("Shortest total")
    STOPS = "stops", _("Balance stops")
    TIME = "time", _("Balance working time")


class MultiDayPlan(models.Model):
    """Several days planned in one search: orders with a range of acceptable days go to
    the day where they cost least. It makes one `Plan` per day, each published on its own."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SOLVING = "solving", _("Solving")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    first_date = models.DateField()
    last_date = models.DateField()
    depot = models.ForeignKey(Depot, on_delete=models.PROTECT, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    seconds = models.FloatField(default=30, help_text="The optimiser's time budget.")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_date__gte=models.F("first_date")),
                name="multi_day_plan_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Plan of {self.first_date}..{self.last_date} ({self.status})"


class Plan(models.Model):
    """One optimisation of a day's orders (optionally one depot's), solved in the background."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SOLVING = "solving", _("Solving")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

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
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When its last solve was asked for (the sweep's clock)."
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="When solving began.")
    solved_at = models.DateTimeField(null=True, blank=True)
    matrix_s = models.FloatField(default=0, help_text="Seconds spent on travel times.")
    solve_s = models.FloatField(default=0, help_text="Seconds spent by the optimiser.")
    save_s = models.FloatField(default=0, help_text="Seconds spent storing the routes.")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.CharField(max_length=150, blank=True)
    travel_kind = models.CharField(
        max_length=16, blank=True, help_text="Its travel times came from: roads, osrm, straight."
    )
    travel_label = models.CharField(
        max_length=120, blank=True, help_text='e.g. "Roads: helsinki (car)".'
    )
    travel_note = models.CharField(
        max_length=200, blank=True, help_text="Why straight lines were used, when they were."
    )
    objective = models.CharField(
        max_length=16,
        choices=Objective.choices,
        default=Objective.SHORTEST,
        help_text="Shortest total, or routes balanced by stops or working time.",
    )
    use_all_drivers = models.BooleanField(
        default=False, help_text="Every driver on shift gets at least one stop."
    )
    balance_tolerance_pct = models.PositiveSmallIntegerField(
        default=15, help_text="How far a route may be above the mean (stops or time), per cent."
    )
    shortest_distance_m = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The shortest plan's distance, found in the same solve."
    )
    shortest_duration_s = models.PositiveBigIntegerField(null=True, blank=True)
    balance_note = models.CharField(
        max_length=300, blank=True, help_text="What balancing had to give, when it did."
    )
    auto = models.BooleanField(
        default=False, help_text="Made by the nightly planning job (Tenant.auto_plan_at)."
    )
    multi_day = models.ForeignKey(
        MultiDayPlan,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="plans",
        db_index=False,  # few plans per tenant; an index would lock the table to build
    )
    revision = models.PositiveIntegerField(
        default=0,
        help_text="Goes up with every change of its routes, stops, locks or status: an edit "
        "made on an older revision is refused (the board's stale-view check).",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Plan {self.pk} for {self.date} ({self.status})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def on_roads(self) -> bool:
        return self.travel_kind in ("roads", "osrm")

    @property
    def is_busy(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.SOLVING)

    @property
    def progress(self) -> int:
        """Per cent of the time budget used while solving (the search stops at its end)."""
        if self.status != self.Status.SOLVING or self.started_at is None:
            return 100 if self.status == self.Status.DONE else 0
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return max(0, min(99, round(100 * elapsed / max(self.seconds, 0.001))))


class PlanRoute(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="routes")
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="+")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    distance_m = models.PositiveBigIntegerField()
    duration_s = models.PositiveBigIntegerField()
    waiting_s = models.PositiveBigIntegerField(default=0)
    locked = models.BooleanField(default=False, help_text="Re-solving keeps this route as it is.")
    violations = models.JSONField(
        default=list, help_text='Rules the stop order breaks: [{"kind", "detail", "sequence"}].'
    )
    version = models.PositiveIntegerField(default=0, help_text="0 until published.")
    #: The distance and time as published (reports compare them with what was driven).
    planned_distance_m = models.PositiveBigIntegerField(null=True, blank=True)
    planned_duration_s = models.PositiveBigIntegerField(null=True, blank=True)

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
    locked = models.BooleanField(default=False, help_text="Re-solving keeps it on this route.")

    class Meta:
        ordering = ["route", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["route", "sequence"],
                name="plan_stop_sequence",
                deferrable=models.Deferrable.DEFERRED,  # renumbering checks at commit
            ),
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
        constraints = [
            models.UniqueConstraint(fields=["plan", "order"], name="plan_unassigned_once"),
        ]

    def __str__(self) -> str:
        return f"Order {self.order_id} left out of plan {self.plan_id}: {self.reason}"


class RouteVersion(models.Model):
    """What the driver was given: the stop order of a published route at one moment, and
    what changed since the version before (the driver app shows both)."""

    route = models.ForeignKey(PlanRoute, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=200)
    actor = models.CharField(max_length=150, blank=True)
    stops = models.JSONField(help_text='[{"order", "sequence", "starts_at"}] in driving order.')
    changes = models.JSONField(
        default=dict, help_text='{"added": [order ids], "removed": [...], "moved": [...]}.'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["route", "number"]
        constraints = [
            models.UniqueConstraint(fields=["route", "number"], name="route_version_number"),
        ]

    def __str__(self) -> str:
        return f"Route {self.route_id} v{self.number}"


class DispatchAlert(models.Model):
    """Something the dispatcher must see: an order auto-dispatch could not place, a
    nightly plan that failed, a customer's rating of 1 or 2 stars. Shown on the board and
    the overview until seen."""

    class Kind(models.TextChoices):
        NOT_PLACED = "not_placed", _("Order could not be placed")
        AUTO_PLAN_FAILED = "auto_plan_failed", _("Nightly plan failed")
        LOW_RATING = "low_rating", _("Low customer rating")

    kind = models.CharField(max_length=32, choices=Kind.choices)
    date = models.DateField(db_index=True)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, null=True, blank=True)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)
    seen_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} on {self.date}: {self.message}"
