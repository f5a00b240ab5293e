"""Resolve the tenant from the host, and keep suspended tenants out."""

from __future__ import annotations

import zoneinfo

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django_tenants.middleware.main import TenantMainMiddleware


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class TenantMiddleware(TenantMainMiddleware):
    """django-tenants' host resolution, with JSON/HTML answers for unknown and suspended tenants."""

    def no_tenant_found(self, request: HttpRequest, hostname: str) -> HttpResponse:
        if _wants_json(request):
            return JsonResponse(
                {"detail": f"No tenant is served at {hostname}.", "code": "unknown_host"},
                status=404,
            )
        return render(request, "unknown_host.html", {"hostname": hostname}, status=404)

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = getattr(request, "tenant", None)
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
