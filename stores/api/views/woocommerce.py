"""WooCommerce over HTTP: the endpoint a store's webhooks are sent to (on the tenant's
host), and the owner's API to connect a store. Rules live in stores.services.woocommerce."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.views.shopify import WEBHOOK_ERRORS, store_webhook_answer
from stores.api.serializers.woocommerce import (
    WooCommerceStoreInputSerializer,
    WooCommerceStoreOutputSerializer,
    WooCommerceStoreOverviewSerializer,
    WooCommerceWebhookAnswerSerializer,
)
from stores.models import WooCommerceStore
from stores.services import woocommerce
from tenants.permissions import IsOwner

# --- the webhook endpoint -----------------------------------------------------------------

HEADERS = [
    OpenApiParameter(name, location=OpenApiParameter.HEADER, required=False)
    for name in (
        "X-WC-Webhook-Source",
        "X-WC-Webhook-Topic",
        "X-WC-Webhook-Signature",
        "X-WC-Webhook-Delivery-ID",
        "X-WC-Webhook-ID",
    )
]


class WooCommerceWebhookApi(APIView):
    """WooCommerce webhooks (order.created, order.updated, order.deleted, order.restored),
    signed with the webhook's secret; answered at once, applied in the background; the
    same delivery again is answered 200 and changes nothing. The ping WooCommerce sends
    when a webhook is saved (`webhook_id=<n>`, unsigned) is answered 200 and not kept."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="woocommerce_webhook_receive",
        request=OpenApiTypes.OBJECT,
        parameters=HEADERS,
        responses={
            200: WooCommerceWebhookAnswerSerializer,
            **WEBHOOK_ERRORS,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = request.body  # the raw bytes the signature covers, before anything parses them
        return store_webhook_answer(
            lambda: woocommerce.webhook_receive(headers=request.headers, body=body),
            refused="Not a webhook of a store connected here.",
        )


# --- the owner's configuration ------------------------------------------------------------


class WooCommerceStoresApi(APIView):
    """The tenant's WooCommerce stores and where to send their webhooks (GET); connecting
    one or changing its keys (PUT, by address: repeating it is harmless). Owners only."""

    permission_classes = [IsOwner]

    @extend_schema(
        operation_id="woocommerce_overview", responses=WooCommerceStoreOverviewSerializer
    )
    def get(self, request: Request) -> Response:
        body = {
            "webhook_url": request.build_absolute_uri(reverse("api-woocommerce-webhooks")),
            "topics": list(woocommerce.TOPICS),
            "stores": WooCommerceStore.objects.order_by("url"),
        }
        return Response(WooCommerceStoreOverviewSerializer(body).data)

    @extend_schema(
        operation_id="woocommerce_store_save",
        request=WooCommerceStoreInputSerializer,
        responses=WooCommerceStoreOutputSerializer,
    )
    def put(self, request: Request) -> Response:
        serializer = WooCommerceStoreInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        store = woocommerce.store_save(**serializer.validated_data)
        return Response(WooCommerceStoreOutputSerializer(store).data)


class WooCommerceStoreApi(APIView):
    """One store (GET); DELETE disconnects it (kept, for its history and a reconnect)."""

    permission_classes = [IsOwner]

    @extend_schema(
        operation_id="woocommerce_store_retrieve", responses=WooCommerceStoreOutputSerializer
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            WooCommerceStoreOutputSerializer(get_object_or_404(WooCommerceStore, pk=pk)).data
        )

    @extend_schema(
        operation_id="woocommerce_store_disconnect", responses=WooCommerceStoreOutputSerializer
    )
    def delete(self, request: Request, pk: int) -> Response:
        store = woocommerce.store_disconnect(store=get_object_or_404(WooCommerceStore, pk=pk))
        return Response(WooCommerceStoreOutputSerializer(store).data)


urlpatterns = [
    path(
        "integrations/woocommerce/webhooks",
        WooCommerceWebhookApi.as_view(),
        name="api-woocommerce-webhooks",
    ),
    path("integrations/woocommerce", WooCommerceStoresApi.as_view(), name="api-woocommerce"),
    path(
        "integrations/woocommerce/<int:pk>",
        WooCommerceStoreApi.as_view(),
        name="api-woocommerce-store",
    ),
]
