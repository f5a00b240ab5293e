"""The endpoint a Shopify store's webhooks are sent to, on the tenant's host."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.services import shopify


class WebhookAnswerSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["accepted", "duplicate"])
    event_id = serializers.CharField()


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
            400: OpenApiResponse(description="Signed, but not a JSON object."),
            401: OpenApiResponse(description="Unknown store or wrong signature: nothing kept."),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        body = request.body  # the raw bytes, before anything parses them
        try:
            receipt = shopify.webhook_receive(headers=request.headers, body=body)
        except shopify.WebhookRefused:
            return Response(
                {"detail": "Not a webhook of a store connected here.", "code": "invalid_signature"},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        except shopify.WebhookMalformed:
            return Response(
                {"detail": "The body is not a JSON object.", "code": "parse_error"},
                status=status.HTTP_400_BAD_REQUEST,
            )
        answer = "duplicate" if receipt.duplicate else "accepted"
        return Response({"status": answer, "event_id": receipt.event_id})
