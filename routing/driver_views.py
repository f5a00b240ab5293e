"""The driver's view of their published route: the stops in the order the dispatcher
sees them, and what changed in the latest version. (Issue 6 turns this into the full
driver app with GPS; until then the page polls for new versions.)"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import role_required
from dispatch.models import Driver, Order
from routing.models import PlanRoute

driver_required = role_required("driver")


def current_route(driver: Driver | None) -> PlanRoute | None:
    """The driver's published route for today, else the next day they have one."""
    if driver is None:
        return None
    routes = PlanRoute.objects.filter(
        driver=driver, version__gt=0, plan__date__gte=timezone.localdate()
    ).select_related("plan", "vehicle")
    return routes.order_by("plan__date", "-plan__published_at").first()


def _driver(request: HttpRequest) -> Driver | None:
    return Driver.objects.filter(user=request.user, is_active=True).first()


@driver_required
def driver_route_view(request: HttpRequest) -> HttpResponse:
    from django.db import connection

    from tracking.services import is_on_duty
    from tracking.tokens import driver_token

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
        )
    return render(request, "routing/driver_route.html", context)


@driver_required
def driver_version_view(request: HttpRequest) -> HttpResponse:
    """Polled by the page: reloads it when the dispatcher changed the route."""
    route = current_route(_driver(request))
    now = f"{route.pk}:{route.version}" if route else "none"
    response = HttpResponse(status=204)
    if request.GET.get("seen") != now:
        response["HX-Refresh"] = "true"
    return response
