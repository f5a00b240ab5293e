"""Multi-day plans API: queue the planning of several days, follow it, read its day plans
(each one an ordinary plan under /api/v1/plans/<id>, published on its own). Rules live
in routing.services.multi_day; this module only translates HTTP."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.json_types import JSONTypedSerializer
from dispatch.models import Depot
from routing.models import MultiDayPlan
from routing.services import multi_day
from routing.services.plans import PLAN_SECONDS_RANGE


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

    @extend_schema(responses=MultiDayDaySerializer(many=True))
    def get_days(self, multi: MultiDayPlan) -> list[dict]:
        return MultiDayDaySerializer(multi_day.multi_day_days(multi), many=True).data


class MultiDayListApi(GenericAPIView):
    queryset = MultiDayPlan.objects.all()
    serializer_class = MultiDayOutputSerializer

    @extend_schema(
        operation_id="multi_day_plans_list", responses=MultiDayOutputSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        """Multi-day plans, newest first, in cursor pages like every list."""
        page = self.paginate_queryset(self.get_queryset().order_by("-created_at", "-pk"))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="multi_day_plans_create",
        request=MultiDayInputSerializer,
        responses={202: MultiDayDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        """Queue the planning of several days (202): orders go to a day from their
        delivery date to their `latest_date`; days with a published plan are left out.
        The same range asked again while it is on its way answers the same plan."""
        serializer = MultiDayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None  # not an API key
        try:
            multi = multi_day.multi_day_create(**serializer.validated_data, created_by=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(MultiDayDetailSerializer(multi).data, status=status.HTTP_202_ACCEPTED)


class MultiDayDetailApi(APIView):
    @extend_schema(operation_id="multi_day_plans_retrieve", responses=MultiDayDetailSerializer)
    def get(self, request: Request, multi_id: int) -> Response:
        """A multi-day plan with each of its days: the day's plan and its totals."""
        multi = MultiDayPlan.objects.filter(pk=multi_id).first()
        if multi is None:
            raise Http404
        return Response(MultiDayDetailSerializer(multi).data)
