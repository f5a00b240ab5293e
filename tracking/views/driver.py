"""The driver's pages: today's published route and what changed in its latest version,
and the app's actions over HTTP (duty, stop buttons when the socket is down)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import role_required
from core.forms import flash_service_errors
from dispatch.models import Driver, Order
from routing.models import PlanRoute
from tracking.services import day as services
from tracking.services.day import is_on_duty
from tracking.services.paths import driver_path
from tracking.services.tokens import driver_token

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
        messages.success(
            request,
            "Shift started: your position is shared with dispatch."
            if on
            else "Shift ended: your position is no longer shared.",
        )
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


def current_route(driver: Driver | None) -> PlanRoute | None:
    """The driver's published route for today, else the next day they have one."""
    if driver is None:
        return None
    routes = PlanRoute.objects.filter(
        driver=driver, version__gt=0, plan__date__gte=timezone.localdate()
    ).select_related("plan", "vehicle")
    return routes.order_by("plan__date", "-plan__published_at").first()


@driver_required
def driver_route_view(request: HttpRequest) -> HttpResponse:
    driver = _driver(request)
    route = current_route(driver)
    on_duty = driver is not None and is_on_duty(driver.pk)
    context: dict = {"route": route, "driver": driver, "on_duty": on_duty}
    if on_duty:
        context["token"] = driver_token(
            schema=connection.schema_name, driver_id=driver.pk, user_id=request.user.pk
        )
    if route is not None:
        version = route.versions.order_by("-number").first()
        changes = version.changes if version else {}
        names = dict(
            Order.objects.filter(pk__in=[pk for ids in changes.values() for pk in ids]).values_list(
                "pk", "customer_name"
            )
        )
        context.update(
            version=version,
            changes={
                kind: [(pk, names.get(pk, "")) for pk in ids] for kind, ids in changes.items()
            },
            added=set(changes.get("added", [])) | set(changes.get("moved", [])),
            stops=route.stops.select_related("order").order_by("sequence"),
            path=driver_path(driver.pk, route=route),
            map_settings={"RESET_VIEW": False},
        )
    return render(request, "tracking/driver_route.html", context)


@driver_required
def driver_path_view(request: HttpRequest) -> JsonResponse:
    """The compact map's path, asked again as the driver moves: from the van's last
    position to the next stop, then the stops still to do."""
    driver = _driver(request)
    route = current_route(driver)
    if driver is None or route is None:
        return JsonResponse({"route": None})
    return JsonResponse(driver_path(driver.pk, route=route))


@driver_required
def driver_version_view(request: HttpRequest) -> HttpResponse:
    """Polled by the page: reloads it when the dispatcher changed the route."""
    route = current_route(_driver(request))
    now = f"{route.pk}:{route.version}" if route else "none"
    response = HttpResponse(status=204)
    if request.GET.get("seen") != now:
        response["HX-Refresh"] = "true"
    return response
