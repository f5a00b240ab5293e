"""WooCommerce shapes for the API: the webhook's answer and the owner's store settings.
Secrets are write-only: the answers say whether each is set, never what it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from core.json_types import JSONTypedSerializer
from stores.models import WooCommerceStore


class WooCommerceWebhookAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["accepted", "duplicate", "ping"],
        help_text="ping: WooCommerce's test when a webhook is saved (nothing kept).",
    )
    event_id = serializers.CharField(allow_blank=True)


def _secret(help_text: str) -> serializers.CharField:
    return serializers.CharField(
        max_length=255, required=False, allow_blank=True, write_only=True, help_text=help_text
    )


class WooCommerceStoreInputSerializer(JSONTypedSerializer):
    url = serializers.CharField(max_length=255, help_text="https://shop.example.com")
    consumer_key = _secret("REST API consumer key (ck_…); empty or absent: keep the saved one.")
    consumer_secret = _secret("REST API consumer secret (cs_…); empty or absent: keep it.")
    webhook_secret = _secret("The webhooks' secret; empty or absent: keep the saved one.")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        value = super().to_internal_value(data)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return value


class WooCommerceStoreOutputSerializer(serializers.ModelSerializer):
    keys_set = serializers.SerializerMethodField(
        help_text="Whether REST API keys are saved (progress is written back); never shown."
    )
    webhook_secret_set = serializers.SerializerMethodField(help_text="Never shown.")

    class Meta:
        model = WooCommerceStore
        fields = [
            "id",
            "url",
            "is_active",
            "keys_set",
            "webhook_secret_set",
            "last_error",
            "last_error_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_keys_set(self, store: WooCommerceStore) -> bool:
        return bool(store.consumer_key and store.consumer_secret)

    def get_webhook_secret_set(self, store: WooCommerceStore) -> bool:
        return bool(store.webhook_secret)


class WooCommerceStoreOverviewSerializer(serializers.Serializer):
    webhook_url = serializers.URLField(help_text="Where the store's webhooks are to be sent.")
    topics = serializers.ListField(child=serializers.CharField())
    stores = WooCommerceStoreOutputSerializer(many=True)
