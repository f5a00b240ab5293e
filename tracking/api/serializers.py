"""The tracking API's output shapes."""

from __future__ import annotations

from rest_framework import serializers


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
