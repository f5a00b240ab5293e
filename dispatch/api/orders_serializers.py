"""Order shapes for the API. Input is validated by dispatch.services.orders.order_clean;
these serializers describe it for the OpenAPI schema and render output."""

from __future__ import annotations

from rest_framework import serializers

from dispatch.models import Order, OrderEvent


class TimeWindowSerializer(serializers.Serializer):
    start = serializers.RegexField(r"^\d{2}:\d{2}$", help_text="HH:MM, local time")
    end = serializers.RegexField(r"^\d{2}:\d{2}$", help_text="HH:MM, local time")


class OrderInputSerializer(serializers.Serializer):
    """What a client may send. Status, source, ids and timestamps are read-only."""

    external_id = serializers.CharField(required=False, max_length=100)
    customer_name = serializers.CharField(max_length=150)
    customer_phone = serializers.CharField(
        required=False, help_text="Any format; national numbers are read in the tenant's country."
    )
    customer_email = serializers.EmailField(required=False)
    address_line1 = serializers.CharField(required=False, max_length=200)
    address_line2 = serializers.CharField(required=False, max_length=200)
    city = serializers.CharField(required=False, max_length=100)
    postcode = serializers.CharField(required=False, max_length=20)
    region = serializers.CharField(required=False, max_length=100)
    country = serializers.CharField(required=False, max_length=2, help_text="Default: tenant's")
    lat = serializers.FloatField(required=False, allow_null=True)
    lng = serializers.FloatField(required=False, allow_null=True)
    delivery_date = serializers.DateField()
    time_windows = TimeWindowSerializer(many=True, required=False)
    service_s = serializers.IntegerField(required=False, min_value=0, default=300)
    weight_kg = serializers.DecimalField(required=False, max_digits=9, decimal_places=2)
    volume_l = serializers.DecimalField(required=False, max_digits=9, decimal_places=2)
    items = serializers.IntegerField(required=False, min_value=0, default=1)
    required_skills = serializers.ListField(child=serializers.CharField(), required=False)
    priority = serializers.IntegerField(required=False, min_value=1, max_value=4, default=2)
    notes = serializers.CharField(required=False, max_length=2000)


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


class OrderOutputSerializer(serializers.ModelSerializer):
    time_windows = TimeWindowSerializer(many=True)

    class Meta:
        model = Order
        fields = [
            "id", "external_id", "source", "status", "customer_name", "customer_phone",
            "customer_email", "address_line1", "address_line2", "city", "postcode", "region",
            "country", "lat", "lng", "geocode_status", "geocode_error", "delivery_date",
            "time_windows", "service_s", "weight_kg", "volume_l", "items", "required_skills",
            "priority", "notes", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class OrderEventSerializer(serializers.ModelSerializer):
    from_status = serializers.CharField(
        read_only=True, help_text="The status before; empty for the order's creation."
    )

    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "actor", "reason", "created_at"]
        read_only_fields = fields


class OrderCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class OrderRescheduleInputSerializer(serializers.Serializer):
    """Checked for shape only; the service checks the meaning (and answers field errors)."""

    delivery_date = serializers.CharField(help_text="YYYY-MM-DD, today or later")
    time_windows = TimeWindowSerializer(
        many=True, required=False, help_text="Omitted: the windows it has."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class OrderConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    order_id = serializers.IntegerField()
