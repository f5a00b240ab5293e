"""`Authorization: Bearer <api key>` for API clients, resolved against the host's tenant."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from audit.services import acting_as
from tenants.models import ApiKey
from tenants.services.provisioning import API_KEY_PATTERN, api_key_authenticate

#: An auth-scheme is an RFC 9110 `token`: ASCII letters, digits and a few marks, no spaces.
AUTH_SCHEME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


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
        # Parsed strictly (issue 22): the scheme, ONE ASCII space, the key and nothing else.
        # str.split() would take `\xa0` or `\x1f` for a separator, and leave nothing to
        # index in a header made only of them. Headers reach META decoded as latin-1.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if not AUTH_SCHEME.fullmatch(scheme):
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: send 'Bearer <key>'."
            )
        if scheme.lower() != self.keyword.lower():
            return None  # another scheme: for another authenticator, or none
        if not API_KEY_PATTERN.fullmatch(raw_key):
            raise exceptions.AuthenticationFailed("Send exactly one API key: 'Bearer <key>'.")
        tenant = getattr(connection, "tenant", None)
        key = api_key_authenticate(raw_key=raw_key, tenant=tenant) if tenant else None
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key for this host.")

        acting_as(f"api_key:{key.prefix}")
        return ApiKeyPrincipal(api_key=key), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
