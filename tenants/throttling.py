"""Rate limits per API key, per signed-in user and on sign-up. Keys carry the schema name."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import connection
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, SimpleRateThrottle

from core.http import client_ip
from tenants.models import ApiKey

if TYPE_CHECKING:
    from django.http import HttpRequest
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
    """Sign-ups per client address (SIGNUP_RATE), on the page and the API alike."""

    scope = "signup"

    def get_ident(self, request: Request) -> str:
        return client_ip(request) or ""


class SignupGlobalRateThrottle(SimpleRateThrottle):
    """Sign-ups from everyone together (SIGNUP_GLOBAL_RATE): each one provisions a schema,
    so a crowd of addresses cannot create tenants without bound either. Asked only for a
    valid form or body whose address is within SIGNUP_RATE (tenants.views.signup_view,
    tenants.api.views.SignupApi): tries refused by their own address's limit, and invalid
    forms, would otherwise let one address use it up for everyone."""

    scope = "signup_global"

    def get_cache_key(self, request: Request, view: APIView | None) -> str | None:
        return "throttle:public:signup:all"


def throttle_wait(
    request: HttpRequest, throttle_classes: Iterable[type[BaseThrottle]]
) -> float | None:
    """DRF's throttles for a plain Django view, counted in the same cache as the API's:
    None when every one allows the request, else the seconds to wait (at least 1). Asked
    in order, stopping at the first that refuses: unlike DRF's own check, a request one
    throttle refuses is not counted by the ones after it."""
    for throttle_class in throttle_classes:
        throttle = throttle_class()
        if not throttle.allow_request(request, None):
            return max(1.0, throttle.wait() or 0.0)
    return None
