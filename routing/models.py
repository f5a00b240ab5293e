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
    #: How far the same stops are in the order their orders arrived (created), from the
    #: same depot to the same depot: what the optimised order saves (reports).
    arrival_order_distance_m = models.PositiveBigIntegerField(null=True, blank=True)
    #: How much later (negative: earlier) the route ends than it would without what was
    #: learned from the business's own drivers (`LearnedCorrections`).
    learned_shift_s = models.IntegerField(default=0)

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
    #: How much later (negative: earlier) the stop is reached than without the learned
    #: corrections, and why: {"service": {"level", "visits", "seconds", "configured"},
    #: "travel": {"factor", "legs"}} (the plan page says so).
    learned_shift_s = models.IntegerField(default=0)
    learned = models.JSONField(default=dict, blank=True)

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


# --- what the business's own drivers teach (routing.services.learning, .corrections) ------


class LearningDay(models.Model):
    """A delivery day whose driven legs and stop times were read into observations (once:
    the nightly job and the GPS purge both skip a day read before)."""

    date = models.DateField(unique=True)
    legs = models.PositiveIntegerField(default=0)
    stops = models.PositiveIntegerField(default=0)
    #: Legs not learned from, by why: {"no_gps": 3, "paused": 1, "outlier": 2, ...}.
    skipped = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.legs} legs, {self.stops} stops"


class LegObservation(models.Model):
    """One leg a van drove between two stops, as the learner keeps it: no positions, only
    the grid cell of the leg's middle (`corrections.cell_of`) and the local hour of the
    week it set off in. Kept after the GPS it came from is purged."""

    date = models.DateField(db_index=True)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, related_name="+")
    driver = models.ForeignKey(Driver, on_delete=models.SET_NULL, null=True, related_name="+")
    hour_of_week = models.PositiveSmallIntegerField(help_text="0: Monday 00:00-01:00, local.")
    cell = models.CharField(max_length=24)
    estimate_s = models.PositiveIntegerField(help_text="The road model's time, uncorrected.")
    observed_s = models.PositiveIntegerField(help_text="Set off to arrived, pauses taken out.")
    distance_m = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["date", "order"], name="leg_observed_once"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.cell} h{self.hour_of_week}: {self.observed_s}/{self.estimate_s}"


class ServiceObservation(models.Model):
    """How long one stop took, arrived to delivered (or failed), keyed the ways the
    learner groups it: the address (coordinates to about 10 m), the customer (a hash of
    the phone or email) and the order's size (`corrections.size_of`)."""

    date = models.DateField(db_index=True)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, related_name="+")
    driver = models.ForeignKey(Driver, on_delete=models.SET_NULL, null=True, related_name="+")
    address_key = models.CharField(max_length=32)
    customer_key = models.CharField(max_length=32, blank=True)
    size = models.PositiveSmallIntegerField()
    configured_s = models.PositiveIntegerField()
    observed_s = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["date", "order"], name="service_observed_once"),
        ]
        indexes = [models.Index(fields=["address_key"], name="service_obs_address")]

    def __str__(self) -> str:
        return f"{self.date} {self.address_key}: {self.observed_s} s"


class TravelFactor(models.Model):
    """A learned travel-time factor over the road model: by local hour of the week, or by
    area (grid cell). A leg's time is the road model's x its hour's x its area's factor."""

    class Kind(models.TextChoices):
        HOUR = "hour", _("Hour of the week")
        AREA = "area", _("Area")

    kind = models.CharField(max_length=8, choices=Kind.choices)
    key = models.CharField(max_length=24, help_text="Hour of the week (0-167) or grid cell.")
    factor = models.FloatField()
    legs = models.PositiveIntegerField(help_text="How many driven legs back it.")
    spread = models.FloatField(default=0, help_text="Spread of those legs (log standard dev).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="travel_factor_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: x{self.factor:.2f} ({self.legs} legs)"


class ServiceTime(models.Model):
    """A learned time at the door, as what the visits took beyond the order's configured
    time (`delta_s`, the median; slow stairs add minutes whatever the parcel): by address,
    by customer, by order size. `median_s` is the typical visit, for people to read."""

    class Level(models.TextChoices):
        ADDRESS = "address", _("Address")
        CUSTOMER = "customer", _("Customer")
        SIZE = "size", _("Order size")

    level = models.CharField(max_length=8, choices=Level.choices)
    key = models.CharField(max_length=32)
    delta_s = models.IntegerField(help_text="Median of observed minus configured seconds.")
    median_s = models.PositiveIntegerField(help_text="Median observed seconds.")
    visits = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "key"], name="service_time_once"),
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.key}: {self.delta_s:+d} s ({self.visits} visits)"


class LearningRun(models.Model):
    """One refresh of the learned corrections (nightly, or asked for), with what it read and
    how it measured itself: ETA error on the last days, which it did not learn from,
    before and after the corrections."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    days_read = models.PositiveIntegerField(default=0, help_text="Days read into observations.")
    legs = models.PositiveIntegerField(default=0, help_text="Legs the factors were fitted on.")
    visits = models.PositiveIntegerField(default=0, help_text="Stops the door times came from.")
    first_date = models.DateField(null=True, blank=True)
    last_date = models.DateField(null=True, blank=True)
    #: Held-out measurement (`learning.eta_replay`): arrivals on days the learner did not see.
    eval_days = models.PositiveIntegerField(default=0)
    eval_stops = models.PositiveIntegerField(default=0)
    mae_before_s = models.FloatField(null=True, blank=True)
    mae_after_s = models.FloatField(null=True, blank=True)
    inside_before = models.FloatField(null=True, blank=True, help_text="Share in the window.")
    inside_after = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Learning run {self.pk} ({self.status})"
