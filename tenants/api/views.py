from django.db import connection
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants import services
from tenants.api.serializers import (
    ApiKeyCreatedOutputSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    SignupInputSerializer,
    SignupOutputSerializer,
)
from tenants.models import ApiKey
from tenants.permissions import IsOwner
from tenants.selectors import api_keys_of
from tenants.throttling import SignupRateThrottle


def tenant_base_url(request: Request, host: str) -> str:
    port = request.get_port()
    default = "443" if request.is_secure() else "80"
    netloc = host if port == default else f"{host}:{port}"
    return f"{request.scheme}://{netloc}"


class SignupApi(APIView):
    """Create a tenant: its host, its owner's login and a first API key (public host only)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [SignupRateThrottle]

    @extend_schema(request=SignupInputSerializer, responses={201: SignupOutputSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = SignupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.tenant_provision(**serializer.validated_data)
        base = tenant_base_url(request, result.domain.domain)
        body = {
            "tenant": result.tenant.slug,
            "url": f"{base}/",
            "login_url": f"{base}/login/",
            "owner_email": result.owner_email,
            "api_key": result.api_key_secret,
            "provisioning_ms": round(result.seconds * 1000, 1),
        }
        return Response(SignupOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class ApiKeyListApi(ListAPIView):
    """The tenant's API keys (GET, paginated) and creating one (POST)."""

    permission_classes = [IsOwner]
    serializer_class = ApiKeyOutputSerializer
    queryset = ApiKey.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self) -> QuerySet[ApiKey]:
        return api_keys_of(tenant=connection.tenant)

    @extend_schema(
        request=ApiKeyCreateInputSerializer, responses={201: ApiKeyCreatedOutputSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = ApiKeyCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw = services.api_key_create(
            tenant=connection.tenant,
            created_by_email=request.user.email,
            **serializer.validated_data,
        )
        key.key = raw
        return Response(ApiKeyCreatedOutputSerializer(key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(responses=ApiKeyOutputSerializer)
    def get(self, request: Request, key_id: int) -> Response:
        key = get_object_or_404(api_keys_of(tenant=connection.tenant), pk=key_id)
        return Response(ApiKeyOutputSerializer(key).data)

    @extend_schema(responses=ApiKeyOutputSerializer)
    def delete(self, request: Request, key_id: int) -> Response:
        """Revoke the key (kept, marked revoked, for the record)."""
        try:
            key = services.api_key_revoke(tenant=connection.tenant, key_id=key_id)
        except ApiKey.DoesNotExist as exc:
            raise NotFound() from exc
        return Response(ApiKeyOutputSerializer(key).data)
