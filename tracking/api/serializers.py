"""The tracking API's output shapes."""

from __future__ import annotations

from rest_framework import serializers

from routing.api.serializers import LegSerializer, TravelSourceSerializer
from tenants.selectors import TRAVEL_KINDS


class PromiseSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=["booked", "planned", "live", "over"])
    eta = serializers.DateTimeField(allow_null=True)
    eta_from = serializers.DateTimeField(allow_null=True)
    eta_to = serializers.DateTimeField(allow_null=True)
    off_booking = serializers.ChoiceField(choices=["", "early", "late"])
    eta_text = serializers.CharField()
    date_text = serializers.CharField()
    window_text = serializers.CharField()
    text = serializers.CharField()


class EtaTravelSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TRAVEL_KINDS)
    label = serializers.CharField(help_text='e.g. "Roads: helsinki (car)".')
    reason = serializers.CharField(
        allow_blank=True, help_text="Why the times are straight-line estimates, when they are."
    )


class EtaSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    status = serializers.CharField()
    plan = serializers.IntegerField(allow_null=True)
    route = serializers.IntegerField(allow_null=True)
    route_version = serializers.IntegerField(allow_null=True)
    driver = serializers.CharField(allow_null=True)
    stops_before = serializers.IntegerField(allow_null=True)
    planned_arrival = serializers.DateTimeField(allow_null=True)
    eta = serializers.DateTimeField(allow_null=True)
    windows = serializers.ListField(child=serializers.DictField(), allow_null=True)
    promise = PromiseSerializer(help_text="What the customer is told now, to the letter.")
    travel = EtaTravelSerializer(help_text="Where the travel times come from.")


class PathPositionSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    seq = serializers.IntegerField()


class PathStopSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    sequence = serializers.IntegerField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    name = serializers.CharField()
    status = serializers.CharField()


class DrivePathSerializer(serializers.Serializer):
    driver = serializers.IntegerField()
    route = serializers.IntegerField(allow_null=True, help_text="null: no route today.")
    colour = serializers.CharField(required=False, help_text="The route's colour on the maps.")
    source = TravelSourceSerializer()
    position = PathPositionSerializer(allow_null=True, help_text="The driver's last position.")
    every_s = serializers.IntegerField(help_text="Ask again at most this often per driver.")
    start = serializers.ListField(
        child=serializers.FloatField(), required=False, help_text="[lat, lng] the path starts at."
    )
    starts_from = serializers.ChoiceField(
        choices=["van", "last_stop", "depot"],
        required=False,
        help_text="Where the path starts: the van's last position, the stop reached last, or "
        "the depot.",
    )
    next = LegSerializer(many=True, required=False, help_text="To the next stop.")
    rest = LegSerializer(many=True, required=False, help_text="Then the rest, to the depot.")
    stops = PathStopSerializer(many=True, required=False, help_text="Still to do, next first.")
    walks = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Encoded (road point, stop) pairs where a stop is off the road.",
    )
