"""Who may do what: API key scopes and user roles, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

from tenants.models import ApiKey


def _api_key(request: Request) -> ApiKey | None:
    return request.auth if isinstance(request.auth, ApiKey) else None


class HasApiAccess(BasePermission):
    """The default for the tenant API: a key (read scope: safe methods only) or a dispatcher.

    Drivers have their own endpoints (the driver app); the store-facing API is not theirs.
    """

    message = "This API needs an API key or a dispatcher login."

    def has_permission(self, request: Request, view: APIView) -> bool:
        key = _api_key(request)
        if key is not None:
            if request.method not in SAFE_METHODS and not key.can_write:
                self.message = "This API key is read-only."
                return False
            return True
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "can_dispatch", False))


class IsOwner(BasePermission):
    """Tenant administration (users, API keys): owners, signed in; never an API key."""

    message = "Only the account owner may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            _api_key(request) is None
            and user
            and user.is_authenticated
            and getattr(user, "is_owner", False)
        )
