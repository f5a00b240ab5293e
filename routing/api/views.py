"""Plans API: queue a day's optimisation, follow it, read its routes. Rules live in
routing.services; this module only translates HTTP."""

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
from dispatch.models import Depot
from routing import services
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned


class PlanInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(), required=False, allow_null=True
    )
    seconds = serializers.FloatField(
        required=False,
        default=10.0,
        min_value=services.PLAN_SECONDS_RANGE[0],
        max_value=services.PLAN_SECONDS_RANGE[1],
    )


class PlanStopSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanStop
        fields = ["sequence", "order", "is_break", "arrives_at", "starts_at", "departs_at",
                  "waiting_s", "load"]  # fmt: skip


class PlanRouteSerializer(serializers.ModelSerializer):
    stops = PlanStopSerializer(many=True, read_only=True)

    class Meta:
        model = PlanRoute
        fields = ["id", "driver", "vehicle", "starts_at", "ends_at", "distance_m", "duration_s",
                  "waiting_s", "stops"]  # fmt: skip


class PlanUnassignedSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanUnassigned
        fields = ["order", "reason"]


class PlanOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Plan
        fields = ["id", "date", "depot", "status", "seconds", "error", "engine", "distance_m",
                  "duration_s", "created_at", "solved_at"]  # fmt: skip


class PlanDetailSerializer(PlanOutputSerializer):
    routes = PlanRouteSerializer(many=True, read_only=True)
    unassigned = PlanUnassignedSerializer(many=True, read_only=True)

    class Meta(PlanOutputSerializer.Meta):
        fields = [*PlanOutputSerializer.Meta.fields, "routes", "unassigned"]


class PlanListApi(GenericAPIView):
    queryset = Plan.objects.all()
    serializer_class = PlanOutputSerializer

    @extend_schema(operation_id="plans_list", responses=PlanOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        """Plans, newest first, in cursor pages like every list."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="plans_create", request=PlanInputSerializer, responses=PlanOutputSerializer
    )
    def post(self, request: Request) -> Response:
        """Queue the optimisation of a day's open orders (202); follow it at its URL."""
        serializer = PlanInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None  # not an API key
        try:
            plan = services.plan_create(**serializer.validated_data, created_by=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(PlanOutputSerializer(plan).data, status=status.HTTP_202_ACCEPTED)


class PlanDetailApi(APIView):
    @extend_schema(operation_id="plans_retrieve", responses=PlanDetailSerializer)
    def get(self, request: Request, plan_id: int) -> Response:
        """A plan with its routes, their stops in order, and the orders left out (why)."""
        plan = (
            Plan.objects.prefetch_related("routes__stops", "unassigned").filter(pk=plan_id).first()
        )
        if plan is None:
            raise Http404
        return Response(PlanDetailSerializer(plan).data)
