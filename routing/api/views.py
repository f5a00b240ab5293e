"""Plans API: queue a day's optimisation, follow it, read its routes. Rules live in
routing.services; this module only translates HTTP."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from audit.services import current_actor
from core.json_types import JSONTypedSerializer
from dispatch.models import Depot, Order
from routing.api.serializers import (
    MultiDayDetailSerializer,
    MultiDayInputSerializer,
    MultiDayOutputSerializer,
    RouteGeometrySerializer,
)
from routing.models import MultiDayPlan, Objective, Plan, PlanRoute, PlanStop, PlanUnassigned
from routing.selectors import route_colour
from routing.services import edits, geometry, live, multi_day, plans, publish
from routing.services.routes import is_stale


class PlanInputSerializer(JSONTypedSerializer):
    date = serializers.DateField()
    depot = serializers.PrimaryKeyRelatedField(
        queryset=Depot.objects.all(), required=False, allow_null=True
    )
    seconds = serializers.FloatField(
        required=False,
        default=10.0,
        min_value=plans.PLAN_SECONDS_RANGE[0],
        max_value=plans.PLAN_SECONDS_RANGE[1],
    )
    objective = serializers.ChoiceField(
        choices=Objective.choices,
        required=False,
        default=Objective.SHORTEST,
        help_text="shortest: the least distance and time; stops or time: routes balanced by "
        "their number of stops or their working time, within the tolerance.",
    )
    balance_tolerance_pct = serializers.IntegerField(
        required=False,
        default=15,
        min_value=plans.BALANCE_TOLERANCE_RANGE[0],
        max_value=plans.BALANCE_TOLERANCE_RANGE[1],
        help_text="How far above the mean a balanced route may be, per cent.",
    )
    use_all_drivers = serializers.BooleanField(
        required=False, default=False, help_text="Every driver on shift gets at least one stop."
    )


class PlanStopSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanStop
        fields = [
            "sequence",
            "order",
            "is_break",
            "arrives_at",
            "starts_at",
            "departs_at",
            "waiting_s",
            "load",
            "locked",
        ]


class PlanRouteSerializer(serializers.ModelSerializer):
    stops = PlanStopSerializer(many=True, read_only=True)

    class Meta:
        model = PlanRoute
        fields = [
            "id",
            "driver",
            "vehicle",
            "starts_at",
            "ends_at",
            "distance_m",
            "duration_s",
            "waiting_s",
            "locked",
            "version",
            "violations",
            "stops",
        ]


class PlanUnassignedSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanUnassigned
        fields = ["order", "reason"]


class PlanOutputSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(read_only=True, help_text="% of the time budget used.")

    class Meta:
        model = Plan
        fields = [
            "id",
            "date",
            "depot",
            "status",
            "progress",
            "seconds",
            "error",
            "engine",
            "distance_m",
            "duration_s",
            "matrix_s",
            "solve_s",
            "save_s",
            "travel_kind",
            "travel_label",
            "travel_note",
            "objective",
            "balance_tolerance_pct",
            "use_all_drivers",
            "shortest_distance_m",
            "shortest_duration_s",
            "balance_note",
            "created_at",
            "started_at",
            "solved_at",
            "published_at",
            "revision",
        ]


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
        operation_id="plans_create",
        request=PlanInputSerializer,
        responses={202: PlanOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        """Queue the optimisation of a day's open orders (202); follow it at its URL."""
        serializer = PlanInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None  # not an API key
        try:
            plan = plans.plan_create(**serializer.validated_data, created_by=user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(PlanOutputSerializer(plan).data, status=status.HTTP_202_ACCEPTED)


def _plan(plan_id: int) -> Plan:
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    return plan


def _actor(request: Request) -> str:
    return current_actor()  # user:<email>, or api_key:<prefix> for an API key


class StalePlan(serializers.ValidationError):
    """A change made on an older revision of the plan: 409, with the field error."""

    status_code = 409


STALE_API = "The plan changed since you read this revision: read it again and retry."


def _run(call, *args, **kwargs):
    """A service call whose refusals become 400s with field errors; an edit made on an
    older revision of the plan, a 409 ({"revision": [...]})."""
    try:
        return call(*args, **kwargs)
    except DjangoValidationError as exc:
        if is_stale(exc):
            raise StalePlan({"revision": [STALE_API]}, code=edits.STALE) from exc
        raise serializers.ValidationError(exc.message_dict) from exc


REVISION_HELP = (
    "The plan's revision this change was made on (from GET): when the plan changed since, "
    "the change is refused with 409. Leave it out to apply the change whatever happened."
)


class PlanDetailApi(APIView):
    @extend_schema(operation_id="plans_retrieve", responses=PlanDetailSerializer)
    def get(self, request: Request, plan_id: int) -> Response:
        """A plan with its routes, their stops in order, and the orders left out (why)."""
        plan = _plan_detail(plan_id)
        if plan is None:
            raise Http404
        return Response(PlanDetailSerializer(plan).data)


class ResolveSerializer(JSONTypedSerializer):
    allow_reassign = serializers.BooleanField(
        default=True, help_text="Published plans: may stops promised to a driver change driver?"
    )
    seconds = serializers.FloatField(
        required=False,
        min_value=plans.PLAN_SECONDS_RANGE[0],
        max_value=plans.PLAN_SECONDS_RANGE[1],
    )


class PlanResolveApi(APIView):
    @extend_schema(
        operation_id="plans_resolve",
        request=ResolveSerializer,
        responses={202: PlanOutputSerializer},
    )
    def post(self, request: Request, plan_id: int) -> Response:
        """Re-solve (202): locked routes and stops stay; on a published plan the stops
        drivers reached stay behind them (re-optimise the rest of the day)."""
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = _run(plans.plan_resolve, plan=_plan(plan_id), **body.validated_data)
        return Response(PlanOutputSerializer(plan).data, status=status.HTTP_202_ACCEPTED)


class PlanPublishApi(APIView):
    @extend_schema(operation_id="plans_publish", request=None, responses=PlanOutputSerializer)
    def post(self, request: Request, plan_id: int) -> Response:
        """Hand the routes to their drivers; orders become dispatched. Repeating is harmless."""
        plan = _run(publish.plan_publish, plan=_plan(plan_id), actor=_actor(request))
        return Response(PlanOutputSerializer(plan).data)


class MoveSerializer(JSONTypedSerializer):
    order = serializers.IntegerField()
    route = serializers.IntegerField(allow_null=True, help_text="null: back to the pool")
    position = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="1-based; empty: last"
    )
    revision = serializers.IntegerField(required=False, min_value=0, help_text=REVISION_HELP)


class PlanMoveApi(APIView):
    @extend_schema(
        operation_id="plans_move", request=MoveSerializer, responses=PlanDetailSerializer
    )
    def post(self, request: Request, plan_id: int) -> Response:
        """Move a stop (or a left-out order) to a route and position, or to the pool. The
        routes are re-timed; rules the move breaks are listed in `violations`."""
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        plan = _plan(plan_id)
        _run(
            edits.stop_move,
            plan=plan,
            order_id=data["order"],
            route_id=data["route"],
            position=data.get("position"),
            actor=_actor(request),
            revision=data.get("revision"),
        )
        return Response(PlanDetailSerializer(_plan_detail(plan_id)).data)


class LockSerializer(JSONTypedSerializer):
    order = serializers.IntegerField(required=False)
    route = serializers.IntegerField(required=False)
    locked = serializers.BooleanField()
    revision = serializers.IntegerField(required=False, min_value=0, help_text=REVISION_HELP)

    def validate(self, data: dict) -> dict:
        if ("order" in data) == ("route" in data):
            raise serializers.ValidationError({"order": "Give either an order or a route."})
        return data


class PlanLockApi(APIView):
    @extend_schema(
        operation_id="plans_lock", request=LockSerializer, responses=PlanDetailSerializer
    )
    def post(self, request: Request, plan_id: int) -> Response:
        """Lock a stop to its route, or a whole route, for the next re-solve (or unlock)."""
        body = LockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data, plan = body.validated_data, _plan(plan_id)
        common = {
            "locked": data["locked"],
            "revision": data.get("revision"),
            "actor": _actor(request),
        }
        if "order" in data:
            _run(edits.stop_lock, plan=plan, order_id=data["order"], **common)
        else:
            _run(edits.route_lock, plan=plan, route_id=data["route"], **common)
        return Response(PlanDetailSerializer(_plan_detail(plan_id)).data)


class RouteAddSerializer(JSONTypedSerializer):
    driver = serializers.IntegerField()
    vehicle = serializers.IntegerField()


class PlanRoutesApi(APIView):
    @extend_schema(
        operation_id="plans_routes_create",
        request=RouteAddSerializer,
        responses=PlanRouteSerializer,
    )
    def post(self, request: Request, plan_id: int) -> Response:
        """Add a driver and vehicle to the plan: an empty route to move stops to."""
        body = RouteAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        route = _run(
            edits.route_add,
            plan=_plan(plan_id),
            driver_id=body.validated_data["driver"],
            vehicle_id=body.validated_data["vehicle"],
            actor=_actor(request),
        )
        return Response(PlanRouteSerializer(route).data, status=status.HTTP_201_CREATED)


class PlanRouteApi(APIView):
    @extend_schema(operation_id="plans_routes_destroy", request=None, responses={204: None})
    def delete(self, request: Request, plan_id: int, route_id: int) -> Response:
        """Take a vehicle out of the plan; its stops go to the pool."""
        plan = _plan(plan_id)
        if not plan.routes.filter(pk=route_id).exists():
            raise Http404
        _run(edits.route_remove, plan=plan, route_id=route_id, actor=_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class UrgentSerializer(JSONTypedSerializer):
    order = serializers.IntegerField()


class UrgentOutputSerializer(serializers.Serializer):
    route = serializers.IntegerField(allow_null=True, help_text="null: it fits nowhere (pool)")


class PlanUrgentApi(APIView):
    @extend_schema(
        operation_id="plans_urgent", request=UrgentSerializer, responses=UrgentOutputSerializer
    )
    def post(self, request: Request, plan_id: int) -> Response:
        """Insert an open order into the running routes where it costs least, after the
        stops drivers reached, breaking no rule; repeating is harmless."""
        body = UrgentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        order = Order.objects.filter(pk=body.validated_data["order"]).first()
        if order is None:
            raise serializers.ValidationError({"order": "No such order."})
        route = _run(
            live.order_insert_urgent, plan=_plan(plan_id), order=order, actor=_actor(request)
        )
        return Response({"route": route.pk if route else None})


class PlanRouteGeometryApi(APIView):
    @extend_schema(operation_id="plans_routes_geometry", responses=RouteGeometrySerializer)
    def get(self, request: Request, plan_id: int, route_id: int) -> Response:
        """The route's path for the map: start depot, its stops in driving order, end depot,
        on the tenant's roads (straight legs flagged, and why in `source.legend`)."""
        route = (
            PlanRoute.objects.filter(plan_id=plan_id, pk=route_id)
            .select_related("vehicle__start_depot", "vehicle__end_depot")
            .first()
        )
        if route is None:
            raise Http404
        drawn = geometry.route_geometry(route)
        return Response(
            {
                "route": route.pk,
                "colour": route_colour(route),
                "source": geometry.source_dict(drawn.source),
                **drawn.as_dict(),
            }
        )


def _plan_detail(plan_id: int) -> Plan:
    stops = PlanStop.objects.order_by("sequence")
    return (
        Plan.objects.prefetch_related(
            Prefetch("routes__stops", queryset=stops), "routes", "unassigned"
        )
        .filter(pk=plan_id)
        .first()
    )


# --- multi-day plans: several days planned together, one plan per day ------------------


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
