"""Orders API: list with filters, create (one or 1,000 at a time, idempotent), read,
update, cancel, and the status history. The bodies go to the order services as sent:
they check them with the order input schema, as they do every channel's orders."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from dispatch.api.serializers.orders import (
    BulkResultSerializer,
    OrderBulkInputSerializer,
    OrderCancelInputSerializer,
    OrderConflictSerializer,
    OrderEventSerializer,
    OrderInputSerializer,
    OrderOutputSerializer,
    OrderRescheduleInputSerializer,
)
from dispatch.api.views.idempotency import idempotent_response
from dispatch.models import Order, OrderStatus
from dispatch.selectors.orders import OrderFilter, order_history, orders_list
from dispatch.services import orders as order_services
from tenants.models import ApiKey

MAX_BULK = 1000
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    description="Repeat a request with the same key and body to get the same answer; "
    "a different body with the same key is refused (409).",
)


def _source(request: Request) -> str:
    return Order.Source.API if isinstance(request.auth, ApiKey) else Order.Source.DASHBOARD


def _json_object(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise ParseError("Send a JSON object.")
    return request.data


class OrderListApi(ListAPIView):
    """Orders, newest first, filtered by date, status, search text or `updated_since`
    (GET); creating one (POST)."""

    queryset = orders_list()
    serializer_class = OrderOutputSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrderFilter

    @extend_schema(
        request=OrderInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: OrderOutputSerializer, 409: OrderConflictSerializer},
    )
    def post(self, request: Request) -> Response:
        """Create one order. An `external_id` already known answers 409 with its order id."""

        def create() -> Response:
            try:
                order = order_services.order_create(_json_object(request), source=_source(request))
            except order_services.OrderConflict as conflict:
                body = {
                    "detail": "An order with this external_id already exists.",
                    "code": "conflict",
                    "order_id": conflict.order_id,
                }
                return Response(body, status=status.HTTP_409_CONFLICT)
            return Response(OrderOutputSerializer(order).data, status=status.HTTP_201_CREATED)

        return idempotent_response(request, endpoint="orders.create", handler=create)


class OrderBulkApi(APIView):
    # a list of orders is JSON, never a form or multipart body: the project's JSON parser
    # only (the first of the defaults, config.api.JSONParser, above this app's layer)
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES[:1]

    @extend_schema(
        request=OrderBulkInputSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: BulkResultSerializer},
    )
    def post(self, request: Request) -> Response:
        """Create up to 1,000 orders; each item is answered on its own (created, exists,
        invalid with field errors). Good items are kept whatever is wrong with others."""
        items = _json_object(request).get("orders")
        if not isinstance(items, list) or not items:
            raise ValidationError({"orders": ["Send a non-empty list of orders."]})
        if len(items) > MAX_BULK:
            raise ValidationError({"orders": [f"At most {MAX_BULK} orders per request."]})

        def create() -> Response:
            results = order_services.orders_create(items, source=_source(request))
            counts = {name: 0 for name in ("created", "exists", "invalid")}
            for result in results:
                counts[result.status] += 1
            body = {
                **counts,
                "results": [
                    {"index": r.index, "status": r.status, "id": r.id, "errors": r.errors}
                    for r in results
                ],
            }
            return Response(body)

        return idempotent_response(request, endpoint="orders.bulk", handler=create)


class OrderDetailApi(APIView):
    @extend_schema(responses=OrderOutputSerializer)
    def get(self, request: Request, order_id: int) -> Response:
        return Response(OrderOutputSerializer(get_object_or_404(Order, pk=order_id)).data)

    @extend_schema(request=OrderInputSerializer(partial=True), responses=OrderOutputSerializer)
    def patch(self, request: Request, order_id: int) -> Response:
        """Change an order's details (not once it is out for delivery or finished)."""
        order = get_object_or_404(Order, pk=order_id)
        order = order_services.order_update(order=order, data=_json_object(request))
        return Response(OrderOutputSerializer(order).data)


class OrderCancelApi(APIView):
    @extend_schema(request=OrderCancelInputSerializer, responses=OrderOutputSerializer)
    def post(self, request: Request, order_id: int) -> Response:
        """Cancel an order (harmless to repeat). Delivered or failed orders stay as they are."""
        order = get_object_or_404(Order, pk=order_id)
        serializer = OrderCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_services.order_transition(
            order=order,
            to=OrderStatus.CANCELLED,
            reason=serializer.validated_data["reason"],
        )
        return Response(OrderOutputSerializer(order).data)


class OrderRescheduleApi(APIView):
    @extend_schema(request=OrderRescheduleInputSerializer, responses=OrderOutputSerializer)
    def post(self, request: Request, order_id: int) -> Response:
        """Book an order for another day (and windows): a failed delivery to be tried
        again, or a customer's request. It leaves the routes of its old day and the
        customer is told. Repeating it changes nothing more."""
        order = get_object_or_404(Order, pk=order_id)
        serializer = OrderRescheduleInputSerializer(data=_json_object(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        windows = data.get("time_windows")
        order = order_services.order_reschedule(
            order=order,
            delivery_date=data["delivery_date"],
            time_windows=windows,
            reason=data["reason"],
        )
        return Response(OrderOutputSerializer(order).data)


class OrderEventsApi(APIView):
    @extend_schema(responses=OrderEventSerializer(many=True))
    def get(self, request: Request, order_id: int) -> Response:
        """Every status change of the order: from, to, who, why, when."""
        order = get_object_or_404(Order, pk=order_id)
        return Response(OrderEventSerializer(order_history(order=order), many=True).data)
