from django.db import connection
from django.db.models import QuerySet
from django.http.request import split_domain_port
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services as account_services
from accounts.models import User
from tenants.api.serializers import (
    ApiKeyCreatedOutputSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    MeOutputSerializer,
    SignupInputSerializer,
    SignupOutputSerializer,
    UserCreateInputSerializer,
    UserOutputSerializer,
    UserUpdateInputSerializer,
)
from tenants.models import ApiKey
from tenants.permissions import IsOwner
from tenants.selectors import api_keys_of
from tenants.services import provisioning as services
from tenants.throttling import SignupGlobalRateThrottle, SignupRateThrottle, throttle_wait


def tenant_base_url(request: Request, host: str) -> str:
    """The new tenant's address as the signing-up client reaches this server: its scheme,
    and the port of the Host it asked for (not the port the server listens on, which a
    proxy in front hides: nginx on :8080 before uvicorn on :8000)."""
    _, port = split_domain_port(request.get_host())
    default = "443" if request.is_secure() else "80"
    netloc = host if port in ("", default) else f"{host}:{port}"
    return f"{request.scheme}://{netloc}"


class SignupApi(APIView):
    """Create a tenant: its host, its owner's login and a first API key (public host only)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Every try counts for its address (SIGNUP_RATE); only a valid body counts for
    # everyone (SIGNUP_GLOBAL_RATE, below), as on the sign-up page (tenants.views).
    throttle_classes = [SignupRateThrottle]

    @extend_schema(request=SignupInputSerializer, responses={201: SignupOutputSerializer}, auth=[])
    def post(self, request: Request) -> Response:
        serializer = SignupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wait_s = throttle_wait(request, [SignupGlobalRateThrottle])
        if wait_s is not None:
            raise Throttled(wait=wait_s)
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


class MeApi(APIView):
    """Who the request is made as, on which tenant: check a key or a login with this."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        key = request.auth if isinstance(request.auth, ApiKey) else None
        tenant = connection.tenant
        data = {
            "tenant": tenant.slug,
            "tenant_name": tenant.name,
            "principal": "api_key" if key else "user",
            "email": None if key else request.user.email,
            "role": None if key else request.user.role,
            "scope": key.scope if key else None,
        }
        return Response(MeOutputSerializer(data).data)


class UserListApi(ListAPIView):
    """Team members (GET, paginated) and adding one (POST)."""

    permission_classes = [IsOwner]
    serializer_class = UserOutputSerializer
    queryset = User.objects.all()

    @extend_schema(request=UserCreateInputSerializer, responses={201: UserOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = UserCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = account_services.user_create(**serializer.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailApi(APIView):
    permission_classes = [IsOwner]

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request: Request, user_id: int) -> Response:
        return Response(UserOutputSerializer(get_object_or_404(User, pk=user_id)).data)

    @extend_schema(request=UserUpdateInputSerializer, responses=UserOutputSerializer)
    def patch(self, request: Request, user_id: int) -> Response:
        user = get_object_or_404(User, pk=user_id)
        serializer = UserUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account_services.user_update(
            user=user, acting_user=request.user, **serializer.validated_data
        )
        return Response(UserOutputSerializer(user).data)
