"""The Shopify app over the API: the owner starts installing it on a shop. Rules live in
stores.services.shopify_app; the store list and disconnecting are dispatch's
(/api/v1/integrations/shopify)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from stores.api.serializers.shopify import InstallInputSerializer, InstallOutputSerializer
from stores.services import shopify_app
from tenants.permissions import IsOwner
from tenants.selectors import current_tenant


class ShopifyInstallApi(APIView):
    """Start installing the Shopify app on a store: answers the address to send the
    store's owner to (400 with field errors: not a store address, no app on this server,
    the store connected to another account). Owners only."""

    permission_classes = [IsOwner]

    @extend_schema(
        operation_id="shopify_app_install",
        request=InstallInputSerializer,
        responses=InstallOutputSerializer,
    )
    def post(self, request: Request) -> Response:
        serializer = InstallInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        url = shopify_app.install_start(
            tenant=current_tenant(), user=request.user, **serializer.validated_data
        )
        return Response(InstallOutputSerializer({"authorize_url": url}).data)


urlpatterns = [
    path(
        "integrations/shopify/install",
        ShopifyInstallApi.as_view(),
        name="api-shopify-install",
    ),
]
