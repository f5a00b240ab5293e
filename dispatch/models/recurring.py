"""Recurring orders: a schedule (an RFC 5545 recurrence rule) that creates each day's
order ahead of time, with its exceptions (a date skipped, or moved to another day)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dispatch.models.base import TimeStamped
from dispatch.models.orders import Order


class RecurringOrder(TimeStamped):
    """An order to create again and again: `template` is the order as the API takes it
    (without its delivery date), `rule` the days (RRULE, e.g. "FREQ=WEEKLY;BYDAY=MO,TH"),
    counted from `starts_on` in the tenant's time zone."""

    name = models.CharField(max_length=150, help_text="What the dispatcher calls it.")
    template = models.JSONField(help_text="The order's fields, as the orders API takes them.")
    rule = models.CharField(max_length=500, help_text="RFC 5545 RRULE, without DTSTART.")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Empty: until cancelled.")
    lead_days = models.PositiveSmallIntegerField(
        default=7, help_text="Each order is created this many days before its date."
    )
    created_through = models.DateField(
        null=True, blank=True, help_text="Orders exist for every occurrence up to this day."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="recurring_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rule})"

    @property
    def is_active(self) -> bool:
        return self.cancelled_at is None


class RecurrenceException(models.Model):
    """One occurrence changed: skipped, or moved to another day."""

    class Action(models.TextChoices):
        SKIP = "skip", _("Skip")
        MOVE = "move", _("Move")

    recurring = models.ForeignKey(
        RecurringOrder, on_delete=models.CASCADE, related_name="exceptions"
    )
    date = models.DateField(help_text="The occurrence's own date (as the rule gives it).")
    action = models.CharField(max_length=8, choices=Action.choices)
    moved_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recurring", "date"]
        constraints = [
            models.UniqueConstraint(fields=["recurring", "date"], name="recurrence_exception_once"),
            models.CheckConstraint(
                condition=models.Q(action="skip", moved_to__isnull=True)
                | models.Q(action="move", moved_to__isnull=False),
                name="recurrence_exception_move_has_a_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recurring_id} {self.date}: {self.action}"


class RecurringOccurrence(models.Model):
    """An occurrence already handled: the order made for it (the key that keeps a job run
    twice from making two), or none when it was skipped."""

    recurring = models.ForeignKey(
        RecurringOrder, on_delete=models.CASCADE, related_name="occurrences"
    )
    date = models.DateField(help_text="The occurrence's own date (as the rule gives it).")
    order = models.OneToOneField(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="occurrence"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recurring", "date"]
        constraints = [
            models.UniqueConstraint(fields=["recurring", "date"], name="recurring_occurrence_once"),
        ]

    def __str__(self) -> str:
        return f"{self.recurring_id} {self.date} -> {self.order_id}"
