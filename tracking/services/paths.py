"""The road path still to drive, as the day's maps show it (current schema).

- The dispatcher's live map: each driver's path from their last position through the stops
  still to do (`driver_path`). The map asks for it when a driver appears, then at most every
  PATH_EVERY_S per driver as positions arrive, and trims it to the van in between: the
  position fan-out (`hub`) stays one small message per tenant, and nothing is computed for
  drivers no one is watching.
- The driver's app: the same path for the signed-in driver's route.
- The customer's page: only the way from the van to this customer's address
  (`customer_path`), while the driver is on the way to them; never another customer's stop.
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.db.models import Prefetch
from django.utils import timezone

from dispatch.models import Order, OrderStatus
from routing.models import PlanRoute, PlanStop
from routing.selectors import published_stop, route_colour
from routing.services.geometry import path_through, path_to_drive, source_dict, walks_to
from tenants.selectors import travel_source
from tracking.models import DriverPosition
from tracking.selectors import tracking_settings

#: How often a map asks again for a driver's path as positions arrive (the page's own
#: throttle; pages say it in their data attributes).
PATH_EVERY_S = 20
#: The customer's path is kept this long per position (a reload asks for it again).
CUSTOMER_PATH_TTL_S = 60


def _with_stops(routes):
    stops = PlanStop.objects.select_related("order").order_by("sequence")
    return routes.select_related(
        "plan", "vehicle__start_depot", "vehicle__end_depot"
    ).prefetch_related(Prefetch("stops", queryset=stops))


def route_today(driver_id: int) -> PlanRoute | None:
    """The driver's published route for the tenant's today (the newest version of it)."""
    routes = PlanRoute.objects.filter(
        driver_id=driver_id, version__gt=0, plan__date=timezone.localdate()
    )
    return _with_stops(routes).order_by("-plan__published_at").first()


def driver_path(driver_id: int, *, route: PlanRoute | None = None, tenant=None) -> dict:
    """The driver's path still to drive on `route` (default: their route today), from
    their last position when there is one: what the live map and the driver's app draw."""
    if route is None:
        route = route_today(driver_id)
    else:
        route = _with_stops(PlanRoute.objects.filter(pk=route.pk)).first()
    source = travel_source(tenant)
    position = DriverPosition.objects.filter(driver_id=driver_id).first()
    out = {
        "driver": driver_id,
        "route": None,
        "source": source_dict(source),
        "position": None,
        "every_s": PATH_EVERY_S,
    }
    if position is not None:
        out["position"] = {"lat": position.lat, "lng": position.lng, "seq": position.seq}
    if route is None:
        return out
    # a position says where the van is today, not where a later day's route starts
    today = route.plan.date == timezone.localdate()
    at = (position.lat, position.lng) if position is not None and today else None
    drive = path_to_drive(route, position=at, source=source)
    return {**out, **drive.as_dict(), "colour": route_colour(route)}


def customer_path(order_id: int, *, tenant) -> dict | None:
    """The road path from the van to this order's address, while the driver is on the
    way to it and the business shows the map; None otherwise. Only the van's position and
    this address go in: the path cannot pass another customer's stop on purpose, and
    nothing of the route is sent."""
    row = tracking_settings()
    order = Order.objects.filter(pk=order_id).only("status", "lat", "lng").first()
    if (
        order is None
        or not row.tracking_show_map
        or order.status != OrderStatus.EN_ROUTE
        or order.lat is None
    ):
        return None
    stop = published_stop(order.pk)
    if stop is None:
        return None
    position = DriverPosition.objects.filter(driver_id=stop.route.driver_id).first()
    if position is None:
        return None
    key = f"{connection.schema_name}:customer-path:{order.pk}:{position.seq}"
    found = cache.get(key)
    if found is None:
        source = travel_source(tenant)
        van, door = (position.lat, position.lng), (order.lat, order.lng)
        legs = path_through([van, door], source=source, remember=False)  # a passing position
        found = {
            "legs": [{"line": leg.line, "road": leg.road} for leg in legs],
            "walks": walks_to([(order.lat, order.lng)], source=source),
            "attribution": source.attribution,
            "seq": position.seq,
            "every_s": PATH_EVERY_S,
        }
        cache.set(key, found, CUSTOMER_PATH_TTL_S)
    return found
