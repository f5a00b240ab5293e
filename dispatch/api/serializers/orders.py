"""Order shapes for the API. The input of an order is the order input schema
(dispatch.services.order_input.OrderInputSerializer), which the services validate every
channel's orders with; here it only names the request bodies for the OpenAPI schema."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.json_types import JSONTypedSerializer
from dispatch.models import Order, OrderEvent
from dispatch.services import order_input
from dispatch.services.order_input import OrderInputSerializer, TimeWindowSerializer

__all__ = [
    "BulkResultSerializer",
    "OrderBulkInputSerializer",
    "OrderCancelInputSerializer",
    "OrderConflictSerializer",
    "OrderEventSerializer",
    "OrderInputSerializer",
    "OrderOutputSerializer",
    "OrderRescheduleInputSerializer",
    "TimeWindowSerializer",
]


class OrderBulkInputSerializer(serializers.Serializer):
    orders = OrderInputSerializer(many=True, help_text="Up to 1,000 orders.")


class BulkItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "exists", "invalid"])
    id = serializers.IntegerField(allow_null=True)
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    exists = serializers.IntegerField()
    invalid = serializers.IntegerField()
    results = BulkItemResultSerializer(many=True)


class PickupOutputSerializer(serializers.ModelSerializer):
    """The pickup of a pickup-and-delivery pair, as its delivery shows it."""

    name = serializers.CharField(source="customer_name")
    phone = serializers.CharField(source="customer_phone")
    email = serializers.CharField(source="customer_email")
    time_windows = TimeWindowSerializer(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "name",
            "phone",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "region",
            "country",
            "lat",
            "lng",
            "geocode_status",
            "time_windows",
            "service_s",
            "notes",
        ]
        read_only_fields = fields


class PairedDeliverySerializer(serializers.ModelSerializer):
    """The delivery a pickup is collected for."""

    class Meta:
        model = Order
        fields = ["id", "status", "customer_name"]
        read_only_fields = fields


def _partner(order: Order, relation: str, end: str) -> Order | None:
    pair = getattr(order, relation, None)  # a reverse one-to-one: None when it has none
    return getattr(pair, end) if pair is not None else None


class OrderOutputSerializer(serializers.ModelSerializer):
    time_windows = TimeWindowSerializer(many=True)
    pickup = serializers.SerializerMethodField(
        help_text="Where it is collected first (a pickup-and-delivery pair), or null."
    )
    delivers = serializers.SerializerMethodField(
        help_text="For a pickup (`kind` pickup): the order it is collected for."
    )
    barcodes = serializers.ListField(
        child=serializers.CharField(), help_text="The store's own codes on the parcel."
    )
    # empty when unknown: not an "email" string in the schema's sense (its format)
    customer_email = serializers.CharField(
        read_only=True, help_text="The customer's email address; empty when unknown."
    )
    language = serializers.CharField(
        read_only=True,
        help_text="The language of the customer's messages and tracking page (en, fr, de, es, "
        "fi); empty: the business's language.",
    )
    needs_date = serializers.BooleanField(
        read_only=True,
        help_text="Its delivery date (from a store or a file) could not be read: "
        "`delivery_date` is null until a date is given (PATCH or reschedule).",
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "external_id",
            "source",
            "status",
            "customer_name",
            "customer_phone",
            "customer_email",
            "language",
            "address_line1",
            "address_line2",
            "city",
            "postcode",
            "region",
            "country",
            "lat",
            "lng",
            "geocode_status",
            "geocode_error",
            "delivery_date",
            "latest_date",
            "needs_date",
            "delivery_date_as_written",
            "time_windows",
            "service_s",
            "weight_kg",
            "volume_l",
            "items",
            "required_skills",
            "barcodes",
            "priority",
            "notes",
            "kind",
            "pickup",
            "delivers",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PickupOutputSerializer(allow_null=True))
    def get_pickup(self, order: Order) -> dict | None:
        pickup = _partner(order, "pair_as_delivery", "pickup")
        return PickupOutputSerializer(pickup).data if pickup is not None else None

    @extend_schema_field(PairedDeliverySerializer(allow_null=True))
    def get_delivers(self, order: Order) -> dict | None:
        delivery = _partner(order, "pair_as_pickup", "delivery")
        return PairedDeliverySerializer(delivery).data if delivery is not None else None


class OrderEventSerializer(serializers.ModelSerializer):
    from_status = serializers.CharField(
        read_only=True, help_text="The status before; empty for the order's creation."
    )

    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "actor", "reason", "created_at"]
        read_only_fields = fields


class OrderCancelInputSerializer(JSONTypedSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class OrderRescheduleInputSerializer(JSONTypedSerializer):
    """The day and windows are read by the order input schema's own fields; the service
    checks the rest of their meaning (a day in the past) and answers field errors."""

    delivery_date = order_input.Date(help_text="YYYY-MM-DD, today or later")
    time_windows = order_input.TimeWindows(default=None, help_text="Omitted: the windows it has.")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class OrderConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    order_id = serializers.IntegerField()
