"""Address search: what a client asks, and the candidates it gets."""

from __future__ import annotations

from rest_framework import serializers

from geo.selectors.addresses import MAX_LIMIT, MAX_QUERY_CHARS


class AddressSearchInputSerializer(serializers.Serializer):
    q = serializers.CharField(
        max_length=MAX_QUERY_CHARS,
        help_text='An address, whole or as typed so far: "Mannerheimintie 5, 00100 Helsinki".',
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=5)


class AddressCandidateSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lon = serializers.FloatField()
    confidence = serializers.FloatField(
        help_text="0 to 1: 1 is this very street (or place) and number; about 0.9 a typo or "
        "two; about 0.5 the street without that number. Orders are placed from "
        "GEOCODER_MIN_CONFIDENCE (0.8) up."
    )
    label = serializers.CharField(help_text="The matched address as text.")
    kind = serializers.ChoiceField(
        choices=["address", "place", "street", "correction"],
        help_text="correction: where your team put this address before.",
    )
    match = serializers.ChoiceField(
        choices=["exact", "fuzzy", "place", "street", "prefix"],
        help_text="street: the street only (that number is not known); prefix: a completion "
        "of what is typed.",
    )
    housenumber = serializers.CharField()
    street = serializers.CharField()
    postcode = serializers.CharField()
    city = serializers.CharField()
    name = serializers.CharField(help_text="A place's name.")
    note = serializers.CharField(help_text="What is missing or uncertain, in words.")


class AddressSearchOutputSerializer(serializers.Serializer):
    region = serializers.CharField(help_text="Your road region, the only one searched.")
    results = AddressCandidateSerializer(many=True)
    message = serializers.CharField(
        help_text="Why nothing can be searched (no region chosen, or not imported); else empty."
    )
    attribution = serializers.CharField(help_text="© OpenStreetMap contributors: show it.")
