"""Role checks for dashboard views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def role_required(*roles: str) -> Callable:
    """Signed in, on this tenant, with one of `roles`; otherwise the login page or a 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.role not in roles:
                return render(request, "forbidden.html", {"roles": roles}, status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


dispatcher_required = role_required("owner", "dispatcher")
owner_required = role_required("owner")
