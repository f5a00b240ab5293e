"""Recurring order shapes for the API. The template is an order as the orders API takes it,
without its day (the schedule gives it) and external id (the schedule makes it); the
service checks it with the order input schema, answering errors as `template.<field>`."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.json_types import JSONTypedSerializer
from dispatch.models import RecurrenceException, RecurringOrder
from dispatch.selectors.recurring import recurring_next, rule_describe
from dispatch.services.order_input import OrderInputSerializer
from dispatch.services.recurring import MAX_LEAD_DAYS

NEXT_COUNT = 5


class RecurringTemplateSerializer(OrderInputSerializer):
    """The order a schedule makes each day (documentation of `template`)."""

    delivery_date = None
    external_id = None
    latest_date = None


@extend_schema_field(RecurringTemplateSerializer)
class TemplateField(serializers.JSONField):
    """Any JSON here: the service checks it with the order input schema."""


class RecurringOrderInputSerializer(JSONTypedSerializer):
    name = serializers.CharField(max_length=150, help_text="What the dispatcher calls it.")
    template = TemplateField(
        help_text="The order to make on each day, as the orders API takes "
        "it, without delivery_date and external_id."
    )
    rule = serializers.CharField(
        max_length=500,
        help_text="RFC 5545 RRULE without DTSTART, e.g. FREQ=WEEKLY;BYDAY=MO,TH. DAILY, "
        "WEEKLY, MONTHLY or YEARLY; COUNT or UNTIL (a date) end it.",
    )
    starts_on = serializers.DateField(help_text="The first day, counted from (local date).")
    ends_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="The last day; null: none."
    )
    lead_days = serializers.IntegerField(
        min_value=0,
        max_value=MAX_LEAD_DAYS,
        default=7,
        help_text="Each day's order is made this many days before it.",
    )


class RecurrenceExceptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecurrenceException
        fields = ["date", "action", "moved_to", "created_at"]
        read_only_fields = fields


class RecurrenceExceptionInputSerializer(JSONTypedSerializer):
    date = serializers.DateField(help_text="One of the schedule's days, today or later.")
    action = serializers.ChoiceField(choices=RecurrenceException.Action.choices)
    moved_to = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="For a move: the new day."
    )


class OccurrenceSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The rule's day.")
    delivery_date = serializers.DateField(help_text="The order's day (another one when moved).")
    exception = serializers.CharField(help_text='"", "skip" or "move".')
    order_id = serializers.IntegerField(allow_null=True, help_text="The order made, if made.")
    order_status = serializers.CharField(help_text="Its status; empty when not made yet.")


class RecurringOrderOutputSerializer(serializers.ModelSerializer):
    description = serializers.SerializerMethodField(help_text="The rule in words.")
    is_active = serializers.BooleanField(read_only=True)
    exceptions = RecurrenceExceptionSerializer(many=True, read_only=True)
    next_occurrences = serializers.SerializerMethodField(
        help_text=f"The next {NEXT_COUNT} days from today (skipped ones included, marked)."
    )

    class Meta:
        model = RecurringOrder
        fields = [
            "id",
            "name",
            "template",
            "rule",
            "description",
            "starts_on",
            "ends_on",
            "lead_days",
            "created_through",
            "is_active",
            "cancelled_at",
            "exceptions",
            "next_occurrences",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_description(self, recurring: RecurringOrder) -> str:
        return rule_describe(recurring.rule)

    @extend_schema_field(OccurrenceSerializer(many=True))
    def get_next_occurrences(self, recurring: RecurringOrder) -> list[dict]:
        if not recurring.is_active:
            return []
        return OccurrenceSerializer(recurring_next(recurring, count=NEXT_COUNT), many=True).data


class RecurringOrderChangeSerializer(RecurringOrderOutputSerializer):
    """A schedule after a change, with what the change did to the orders it had made."""

    notes = serializers.SerializerMethodField(
        help_text="Orders made, updated or cancelled; planned ones left as they are."
    )

    class Meta(RecurringOrderOutputSerializer.Meta):
        fields = [*RecurringOrderOutputSerializer.Meta.fields, "notes"]
        read_only_fields = fields

    def get_notes(self, recurring: RecurringOrder) -> list[str]:
        outcome = self.context.get("outcome")
        return outcome.notes() if outcome else []
