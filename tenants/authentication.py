"""`Authorization: Bearer <api key>` for API clients, resolved against the host's tenant."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from audit.services import acting_as
from tenants.models import ApiKey
from tenants.services.provisioning import api_key_authenticate


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Stands in for `request.user` when a request is made with an API key."""

    api_key: ApiKey
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self) -> None:
        return None

    @property
    def email(self) -> str:
        return f"api-key:{self.api_key.prefix}"

    def __str__(self) -> str:
        return f"API key {self.api_key.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send exactly one API key: 'Bearer <key>'.")
        tenant = getattr(connection, "tenant", None)
        key = api_key_authenticate(raw_key=parts[1], tenant=tenant) if tenant else None
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key for this host.")

        acting_as(f"api_key:{key.prefix}")
        return ApiKeyPrincipal(api_key=key), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
