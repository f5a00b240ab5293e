"""Resolve the tenant from the host, and keep suspended tenants out."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import set_urlconf
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware

from core.observability import tenant_var


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


#: Seconds a client should wait before trying again while the database is away.
RETRY_AFTER_S = 5


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After while PostgreSQL is unreachable (restarting, failing over):
    nothing was done, and the same request may be sent again."""
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {
                "detail": "The database is unavailable for a moment; nothing was done. "
                "Send the request again.",
                "code": "database_unavailable",
            },
            status=503,
        )
    else:
        response = HttpResponse(
            "<!doctype html><title>Back in a moment</title><h1>Back in a moment</h1>"
            "<p>The service is restarting. Reload this page in a few seconds.</p>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


class DatabaseUnavailableMiddleware:
    """A view that lost its database (a restart, a fail-over) answers 503 with
    Retry-After instead of a server error."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            return database_unavailable(request)
        return None


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' host resolution, with JSON/HTML answers for unknown and suspended tenants."""

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        if _wants_json(request):
            return JsonResponse(
                {"detail": f"No tenant is served at {hostname}.", "code": "unknown_host"},
                status=404,
            )
        return render(request, "unknown_host.html", {"hostname": hostname}, status=404)

    def get_tenant(self, domain_model, hostname):
        domain = domain_model.objects.select_related("tenant").get(domain=hostname)
        # A business's own tracking host serves only the tracking pages (below).
        domain.tenant.on_tracking_host = domain.is_tracking_host
        return domain.tenant

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            response = super().process_request(request)
        except (OperationalError, InterfaceError):  # the host lookup found no database
            return database_unavailable(request)
        if response is not None:
            return response
        tenant = getattr(request, "tenant", None)
        if getattr(tenant, "on_tracking_host", False):
            request.urlconf = settings.TRACKING_HOST_URLCONF
            set_urlconf(request.urlconf)
        tenant_var.set(getattr(tenant, "schema_name", None))  # for this request's log records
        # Times on the tenant's pages are shown in the tenant's time zone (stored in UTC).
        zone = getattr(tenant, "time_zone", "") or "UTC"
        timezone.activate(zoneinfo.ZoneInfo(zone))
        if tenant is not None and getattr(tenant, "status", "active") != "active":
            if _wants_json(request):
                return JsonResponse(
                    {"detail": "This account is suspended.", "code": "tenant_suspended"}, status=403
                )
            return render(request, "suspended.html", {"tenant": tenant}, status=403)
        return None
