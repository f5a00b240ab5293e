"""What every dispatch API view shares: who is acting, for the records."""

from __future__ import annotations

from rest_framework.request import Request

from tenants.models import ApiKey


def actor_for(request: Request) -> str:
    """How a change is attributed in histories: `api_key:<prefix>` or `user:<email>`."""
    if isinstance(request.auth, ApiKey):
        return f"api_key:{request.auth.prefix}"
    return f"user:{request.user.email}"
