"""Rate limits per API key and per signed-in user. Keys carry the schema name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle

from core.http import client_ip
from tenants.models import ApiKey

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return f"throttle:{connection.schema_name}:key:{request.auth.pk}"


class UserRateThrottle(SimpleRateThrottle):
    scope = "user"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if isinstance(request.auth, ApiKey) or not request.user.is_authenticated:
            return None
        return f"throttle:{connection.schema_name}:user:{request.user.pk}"


class SignupRateThrottle(AnonRateThrottle):
    scope = "signup"

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or ""
