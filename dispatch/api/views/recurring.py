"""Recurring orders API: schedules (list, create idempotently, read, replace, change,
cancel with DELETE) with their next days, and their exceptions (skip or move a day,
undo it). Bodies are read for their JSON types here; the services judge the rest."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.serializers.recurring import (
    RecurrenceExceptionInputSerializer,
    RecurringOrderChangeSerializer,
    RecurringOrderInputSerializer,
    RecurringOrderOutputSerializer,
)
from dispatch.api.views.idempotency import idempotent_response
from dispatch.api.views.orders import IDEMPOTENCY_PARAMETER
from dispatch.models import RecurringOrder
from dispatch.selectors.recurring import recurring_list
from dispatch.services import recurring as services


class RecurringOrderFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter(
        field_name="cancelled_at", lookup_expr="isnull", label="Active (not cancelled): true/false"
    )

    class Meta:
        model = RecurringOrder
        fields: list[str] = []


def _schedule(pk: int) -> RecurringOrder:
    return get_object_or_404(recurring_list(), pk=pk)


def _changed(recurring: RecurringOrder, outcome: object, code: int = 200) -> Response:
    recurring = _schedule(recurring.pk)
    body = RecurringOrderChangeSerializer(recurring, context={"outcome": outcome}).data
    return Response(body, status=code)


def _json_object(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object.")
    return request.data


def _input(request: Request, *, partial: bool = False) -> dict:
    serializer = RecurringOrderInputSerializer(data=_json_object(request), partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class RecurringOrderListApi(ListAPIView):
    """Schedules, newest first (GET, `?active=true` for those not cancelled); making one
    (POST)."""

    serializer_class = RecurringOrderOutputSerializer
    filterset_class = RecurringOrderFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generation: no tenant
            return RecurringOrder.objects.none()
        return recurring_list()  # per request: its prefetch reads from the tenant's today

    @extend_schema(
        summary="Make a recurring order",
        description="The orders of its days within `lead_days` are made at once, the "
        "others by the hourly job. A bad template answers `template.<field>` errors.",
        request=RecurringOrderInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: RecurringOrderChangeSerializer},
    )
    def post(self, request: Request) -> Response:
        def create() -> Response:
            recurring = services.recurring_create(**_input(request), created_by=request.user)
            return _changed(recurring, services.Outcome(), status.HTTP_201_CREATED)

        return idempotent_response(request, endpoint="recurring-orders.create", handler=create)


class RecurringOrderDetailApi(APIView):
    @extend_schema(summary="Read a recurring order", responses=RecurringOrderOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(RecurringOrderOutputSerializer(_schedule(pk)).data)

    @extend_schema(
        summary="Replace a recurring order",
        description="Its future days follow the new values; the orders it made for today or "
        "later that are not planned yet take the new template, or are cancelled when their "
        "day is no longer one of its days. Planned orders are left as they are (`notes`).",
        request=RecurringOrderInputSerializer,
        responses=RecurringOrderChangeSerializer,
    )
    def put(self, request: Request, pk: int) -> Response:
        recurring, outcome = services.recurring_update(recurring=_schedule(pk), **_input(request))
        return _changed(recurring, outcome)

    @extend_schema(
        summary="Change a recurring order",
        description="As PUT, with only the fields sent.",
        request=RecurringOrderInputSerializer(partial=True),
        responses=RecurringOrderChangeSerializer,
    )
    def patch(self, request: Request, pk: int) -> Response:
        changes = _input(request, partial=True)
        recurring, outcome = services.recurring_update(recurring=_schedule(pk), **changes)
        return _changed(recurring, outcome)

    @extend_schema(
        summary="Cancel a recurring order",
        description="It makes no more orders; the orders it made for today or later that are "
        "not planned yet are cancelled (planned ones stay: `notes`). Harmless to repeat.",
        responses=RecurringOrderChangeSerializer,
    )
    def delete(self, request: Request, pk: int) -> Response:
        recurring, outcome = services.recurring_cancel(recurring=_schedule(pk))
        return _changed(recurring, outcome)


class RecurrenceExceptionListApi(APIView):
    @extend_schema(
        summary="Skip or move one day of a recurring order",
        description="Setting a day again replaces what was set for it. A skipped day's "
        "order, made and not planned yet, is cancelled; a moved day's order is rescheduled "
        "(or made on its new day).",
        request=RecurrenceExceptionInputSerializer,
        responses={201: RecurringOrderChangeSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        recurring = _schedule(pk)
        serializer = RecurrenceExceptionInputSerializer(data=_json_object(request))
        serializer.is_valid(raise_exception=True)
        _, outcome = services.recurring_exception_set(
            recurring=recurring, **serializer.validated_data
        )
        return _changed(recurring, outcome, status.HTTP_201_CREATED)


class RecurrenceExceptionDetailApi(APIView):
    @extend_schema(
        summary="Undo a day's skip or move",
        parameters=[OpenApiParameter("date", str, OpenApiParameter.PATH, description="YYYY-MM-DD")],
        responses=RecurringOrderChangeSerializer,
    )
    def delete(self, request: Request, pk: int, date: str) -> Response:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise Http404 from None
        recurring = _schedule(pk)
        outcome = services.recurring_exception_remove(recurring=recurring, date=day)
        return _changed(recurring, outcome)
