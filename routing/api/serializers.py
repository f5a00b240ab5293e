"""Output shapes of the routing API shared with the maps' endpoints (tracking's too)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.json_types import JSONTypedSerializer
from dispatch.models import Depot
from routing.models import MultiDayPlan
from routing.services import multi_day
from routing.services.plans import PLAN_SECONDS_RANGE
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


# --- multi-day plans ----------------------------------------------------------------


class MultiDayInputSerializer(JSONTypedSerializer):
    first_date = serializers.DateField(help_text="The first day planned: today or later.")
    days = serializers.IntegerField(
        min_value=1,
        max_value=multi_day.MAX_DAYS,
        help_text=f"How many days, the first included (at most {multi_day.MAX_DAYS}).",
    )
    depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(), required=False, allow_null=True
    )
    seconds = serializers.FloatField(
        required=False,
        default=30.0,
        min_value=PLAN_SECONDS_RANGE[0],
        max_value=PLAN_SECONDS_RANGE[1],
        help_text="The optimiser's time budget for the whole range.",
    )


class MultiDayDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    plan = serializers.IntegerField(
        source="plan.pk", allow_null=True, help_text="The day's plan (null: day left out)."
    )
    status = serializers.CharField(source="plan.status", allow_null=True)
    published = serializers.BooleanField(
        help_text="Its plan is published; for a day left out, it had a published plan already."
    )
    orders = serializers.IntegerField(help_text="Orders on its routes.")
    routes = serializers.IntegerField(help_text="Routes with at least one stop.")
    distance_m = serializers.IntegerField()
    duration_s = serializers.IntegerField()
    left_out = serializers.IntegerField(help_text="Orders waiting in the day's pool.")


class MultiDayOutputSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField(help_text="% of the time budget used.")

    class Meta:
        model = MultiDayPlan
        fields = [
            "id",
            "first_date",
            "last_date",
            "depot",
            "status",
            "progress",
            "seconds",
            "error",
            "created_at",
            "started_at",
            "solved_at",
        ]

    def get_progress(self, multi: MultiDayPlan) -> int:
        return multi_day.multi_day_progress(multi)


class MultiDayDetailSerializer(MultiDayOutputSerializer):
    days = serializers.SerializerMethodField()

    class Meta(MultiDayOutputSerializer.Meta):
        fields = [*MultiDayOutputSerializer.Meta.fields, "days"]

    @extend_schema_field(MultiDayDaySerializer(many=True))
    def get_days(self, multi: MultiDayPlan) -> list[dict]:
        return MultiDayDaySerializer(multi_day.multi_day_days(multi), many=True).data
