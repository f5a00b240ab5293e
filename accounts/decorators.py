"""Role checks for dashboard views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def role_required(*roles: str) -> Callable:
    """Signed in, on this tenant, with one of `roles`; otherwise the login page or a 403.

    The view keeps its roles as `allowed_roles` (decorators that `wraps` it carry the
    attribute along), so sign-in can tell whether a `next` page is one the user may open."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.role not in roles:
                return render(request, "forbidden.html", {"roles": roles}, status=403)
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = frozenset(roles)
        return login_required(wrapped)

    return decorator


dispatcher_required = role_required("owner", "dispatcher")
owner_required = role_required("owner")
