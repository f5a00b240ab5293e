"""The Shopify app's endpoints on the public host, which Shopify knows as the app's own
addresses (shopify.app.toml): the install's OAuth callback and the app's webhooks. Neither
knows a tenant from the host: the callback finds it by the install's state (and sends the
browser on to that tenant's host), a webhook by its shop (tenants.models.StoreShop).
Rules live in stores.services.shopify_app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dispatch.api.serializers.shopify import WebhookAnswerSerializer
from dispatch.api.views.shopify import HEADERS, WEBHOOK_ERRORS, store_webhook_answer
from stores.services import shopify_app
from stores.views.shopify import refused_page
from tenants.api.views import tenant_base_url


@never_cache
@require_GET
def callback_view(request: HttpRequest) -> HttpResponse:
    """Shopify's redirect after the shop owner approved the app: checked, then sent on,
    query and all, to the install's tenant's host, where its owner finishes it
    (stores.views.shopify.callback_view); a refusal is a page saying why (400)."""
    try:
        tenant = shopify_app.install_route(request.GET)
    except shopify_app.InstallRefused as exc:
        return refused_page(request, exc.reason)
    domain = tenant.get_primary_domain()
    base = tenant_base_url(request, domain.domain) if domain else ""
    path = reverse("store-shopify-callback", urlconf="config.urls_tenant")
    return HttpResponseRedirect(f"{base}{path}?{request.META.get('QUERY_STRING', '')}")


class AppWebhookApi(APIView):
    """The app's webhooks (orders/create, orders/updated, orders/cancelled, app/uninstalled,
    customers/data_request, customers/redact, shop/redact), signed with the app's secret:
    checked before anything, kept once in the shop's tenant (the compliance topics in every
    tenant that held the shop) and applied in the background."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        operation_id="shopify_app_webhook",
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
            lambda: shopify_app.webhook_receive(headers=request.headers, body=body),
            refused="Not a webhook of a shop with the app installed.",
        )
