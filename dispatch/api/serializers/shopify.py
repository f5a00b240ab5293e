"""Shopify shapes for the API: the webhook's answer and the owner's store settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from core.json_types import JSONTypedSerializer
from dispatch.models import ShopifyIntegration


class WebhookAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate"])
    event_id = serializers.CharField()


class IntegrationInputSerializer(JSONTypedSerializer):
    shop_domain = serializers.CharField(max_length=255, help_text="<store>.myshopify.com")
    client_secret = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="The app's client secret (API secret key); empty or absent: keep the saved one.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        value = super().to_internal_value(data)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return value


class IntegrationOutputSerializer(serializers.ModelSerializer):
    secret_set = serializers.SerializerMethodField(help_text="The secret itself is never shown.")

    class Meta:
        model = ShopifyIntegration
        fields = ["id", "shop_domain", "is_active", "secret_set", "created_at", "updated_at"]
        read_only_fields = fields

    def get_secret_set(self, integration: ShopifyIntegration) -> bool:
        return bool(integration.client_secret)


class IntegrationOverviewSerializer(serializers.Serializer):
    webhook_url = serializers.URLField(help_text="Where the store's webhooks are to be sent.")
    topics = serializers.ListField(child=serializers.CharField())
    stores = IntegrationOutputSerializer(many=True)
