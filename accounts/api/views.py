from django.db import connection
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.api.serializers import (
    MeOutputSerializer,
    UserCreateInputSerializer,
    UserOutputSerializer,
    UserUpdateInputSerializer,
)
from accounts.models import User
from tenants.models import ApiKey
from tenants.permissions import IsOwner


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
        user = services.user_create(**serializer.validated_data)
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
        services.user_update(user=user, acting_user=request.user, **serializer.validated_data)
        return Response(UserOutputSerializer(user).data)
