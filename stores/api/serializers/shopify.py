"""Shopify app shapes for the API: installing the app on a shop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

from core.json_types import JSONTypedSerializer


class InstallInputSerializer(JSONTypedSerializer):
    shop = serializers.CharField(max_length=255, help_text="<store>.myshopify.com")

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(set(data) - set(self.fields))
        value = super().to_internal_value(data)
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return value


class InstallOutputSerializer(serializers.Serializer):
    authorize_url = serializers.URLField(
        help_text="Send the store's owner here to approve the app; Shopify then brings them "
        "back to this service, which finishes the install (good for ten minutes, once)."
    )
