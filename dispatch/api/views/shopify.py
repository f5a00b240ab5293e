"""Shopify over HTTP: the endpoint a store's webhooks are sent to (on the tenant's host),
and the owner's API to connect a store. Rules live in dispatch.services.shopify."""

from __future__ import annotations

from collections.abc import Callable

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.serializers.shopify import (
    IntegrationInputSerializer,
    IntegrationOutputSerializer,
    IntegrationOverviewSerializer,
    WebhookAnswerSerializer,
)
from dispatch.models import ShopifyIntegration
from dispatch.services import shopify, store_intake
from tenants.permissions import IsOwner

# --- the webhook endpoint -----------------------------------------------------------------

HEADERS = [
    OpenApiParameter(name, location=OpenApiParameter.HEADER, required=required)
    for name, required in (
        ("X-Shopify-Hmac-Sha256", True),
        ("X-Shopify-Shop-Domain", True),
        ("X-Shopify-Topic", True),
        ("X-Shopify-Event-Id", False),
        ("X-Shopify-Webhook-Id", False),
    )
]


#: What every store's webhook endpoint answers besides its 200 (store_webhook_answer).
WEBHOOK_ERRORS = {
    400: OpenApiResponse(description="Signed, but not a JSON object: nothing kept."),
    401: OpenApiResponse(description="Unknown store or wrong signature: nothing kept."),
    503: OpenApiResponse(description="Kept, but not queued: send it again."),
}


def _error(detail: str, code: str, http_status: int) -> Response:
    return Response({"detail": detail, "code": code}, status=http_status)


def store_webhook_answer(
    receive: Callable[[], store_intake.Receipt | None], *, refused: str
) -> Response:
    """Every store's webhook endpoint answers alike: `receive()` (verify, keep once, queue)
    → 200 accepted / duplicate (a ping, None: 200 and nothing kept), 401 `refused`, 400
    not a JSON object, 503 kept but not queued (the store sends it again)."""
    try:
        receipt = receive()
    except store_intake.WebhookRefused:
        return _error(refused, "invalid_signature", status.HTTP_401_UNAUTHORIZED)
    except store_intake.WebhookMalformed:
        return _error("The body is not a JSON object.", "parse_error", status.HTTP_400_BAD_REQUEST)
    except store_intake.WebhookQueueFailed:
        return _error(
            "Received, but not queued; send it again.",
            "unavailable",
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if receipt is None:
        return Response({"status": "ping", "event_id": ""})
    answer = "duplicate" if receipt.duplicate else "accepted"
    return Response({"status": answer, "event_id": receipt.event_id})


class ShopifyWebhookApi(APIView):
    """Shopify webhooks (orders/create, orders/updated, orders/cancelled, customers/redact,
    shop/redact). Signed with the app's client secret; answered at once, applied in the
    background; the same event delivered again is answered 200 and changes nothing."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        parameters=HEADERS,
        responses={
            200: WebhookAnswerSerializer,
            **WEBHOOK_ERRORS,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = request.body  # the raw bytes the signature covers, before anything parses them
        return store_webhook_answer(
            lambda: shopify.webhook_receive(headers=request.headers, body=body),
            refused="Not a webhook of a store connected here.",
        )


# --- the owner's configuration ------------------------------------------------------------


class ShopifyIntegrationApi(APIView):
    """The tenant's Shopify stores (GET) and connecting one or changing its secret (PUT,
    by store address: repeating it is harmless). Owners only."""

    permission_classes = [IsOwner]

    @extend_schema(operation_id="shopify_overview", responses=IntegrationOverviewSerializer)
    def get(self, request: Request) -> Response:
        body = {
            "webhook_url": request.build_absolute_uri(reverse("api-shopify-webhooks")),
            "topics": list(shopify.TOPICS),
            "stores": ShopifyIntegration.objects.order_by("shop_domain"),
        }
        return Response(IntegrationOverviewSerializer(body).data)

    @extend_schema(
        operation_id="shopify_store_save",
        request=IntegrationInputSerializer,
        responses=IntegrationOutputSerializer,
    )
    def put(self, request: Request) -> Response:
        serializer = IntegrationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        integration = shopify.integration_save(**serializer.validated_data)
        return Response(IntegrationOutputSerializer(integration).data)


class ShopifyIntegrationDetailApi(APIView):
    """One connected store (GET); DELETE disconnects it (kept, for its history). A store
    installed through the app is refused (400, field `shop_domain`): it is disconnected
    on the Stores page, which removes the app from the store too."""

    permission_classes = [IsOwner]

    @extend_schema(operation_id="shopify_store_retrieve", responses=IntegrationOutputSerializer)
    def get(self, request: Request, pk: int) -> Response:
        integration = get_object_or_404(ShopifyIntegration, pk=pk)
        return Response(IntegrationOutputSerializer(integration).data)

    @extend_schema(
        operation_id="shopify_store_disconnect",
        responses={
            200: IntegrationOutputSerializer,
            400: OpenApiResponse(
                description="Installed through the app: disconnect it on the Stores page."
            ),
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        integration = shopify.integration_deactivate(
            integration=get_object_or_404(ShopifyIntegration, pk=pk)
        )
        return Response(IntegrationOutputSerializer(integration).data)
