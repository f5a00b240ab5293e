"""Output shapes of the routing API shared with the maps' endpoints (tracking's too)."""

from __future__ import annotations

from rest_framework import serializers

from tenants.selectors import TRAVEL_KINDS


class LegSerializer(serializers.Serializer):
    line = serializers.CharField(help_text="Google encoded polyline, 5 decimals, (lat, lng).")
    road = serializers.BooleanField(help_text="false: drawn straight (no road region or no road).")
    ends = serializers.ListField(
        child=serializers.IntegerField(), help_text="The first and last point it joins."
    )


class TravelSourceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TRAVEL_KINDS)
    label = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    region = serializers.CharField(allow_blank=True)
    profile = serializers.CharField(allow_blank=True)
    attribution = serializers.CharField(allow_blank=True)
    legend = serializers.CharField(help_text="What a map's legend says of its paths.")


class RouteGeometrySerializer(serializers.Serializer):
    route = serializers.IntegerField()
    colour = serializers.CharField()
    source = TravelSourceSerializer()
    legs = LegSerializer(many=True)
    walks = serializers.ListField(
        child=serializers.CharField(),
        help_text="Encoded (road point, stop) pairs: where a stop is further than 25 m from "
        "the road the van stops on.",
    )
    flags = serializers.ListField(child=serializers.CharField())
