"""The driver app's actions over HTTP (duty, stop buttons when the socket is down) and the
dispatcher's live map."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required, role_required
from config.forms import flash_service_errors
from dispatch.models import Driver
from tenants.formats import Formats
from tenants.selectors import current_tenant
from tracking import services

driver_required = role_required("driver")


def _driver(request: HttpRequest) -> Driver | None:
    return Driver.objects.filter(user=request.user, is_active=True).first()


@driver_required
@require_POST
def duty_view(request: HttpRequest) -> HttpResponse:
    driver = _driver(request)
    if driver is None:
        messages.error(request, "Your account is not linked to a driver; ask your dispatcher.")
    else:
        on = request.POST.get("on_duty") == "1"
        services.duty_set(driver=driver, on_duty=on)
        messages.success(request, "Shift started: your position is shared with dispatch."
                         if on else "Shift ended: your position is no longer shared.")  # fmt: skip
    return redirect("driver:route")


@driver_required
@require_POST
def stop_view(request: HttpRequest) -> HttpResponse:
    """A stop button pressed while the socket was down (the same rule as over the socket)."""
    driver = _driver(request)
    try:
        if driver is None:
            raise ValidationError({"driver": "Your account is not linked to a driver."})
        order_id = request.POST.get("order", "")
        services.stop_event(
            driver=driver,
            order_id=int(order_id) if order_id.isdigit() else None,
            event=request.POST.get("event"),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"errors": exc.message_dict}, status=400)
        flash_service_errors(request, exc)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"ok": True})
    return redirect("driver:route")


@dispatcher_required
def live_map_view(request: HttpRequest) -> HttpResponse:
    tenant = current_tenant()
    return render(
        request,
        "tracking/live_map.html",
        {
            "map_settings": {"RESET_VIEW": False},
            "time_zone": tenant.time_zone,
            "language_tag": Formats.of(tenant).language_tag,
        },
    )
