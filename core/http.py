"""Who is asking, by address (the proxy's X-Forwarded-For is applied by daphne's
--proxy-headers before it reaches here)."""

from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """None when there is no address (a sign-in made in code, such as a test's)."""
    return request.META.get("REMOTE_ADDR") or None
