"""What the optimised order saves: the same route's stops driven in the order their orders
arrived (created), the way a dispatcher without a planner would send them.

Only the sequencing is compared: the stops stay on the route the planner gave them, so
the gain of assigning orders to vans well is not in it (the reports say so). The
distance comes from the same uncorrected travel matrix the route's own distance does
(`routing.services.matrix.travel_matrix`), from the van's start depot to its end depot.
"""

from __future__ import annotations

import itertools
import logging

from routing.models import PlanRoute
from routing.optimiser.matrix import UNREACHABLE_M, MatrixError
from routing.services import matrix

logger = logging.getLogger(__name__)


def arrival_order_distance(route: PlanRoute) -> int | None:
    """Metres from the start depot through `route`'s stops in the order their orders were
    created (oldest first; breaks and stops without coordinates left out) to the end
    depot; 0 for a route without stops. None when no road joins two of them or the
    routing server fails (a report then leaves the route out of the comparison)."""
    stops = (
        route.stops.filter(order__isnull=False, order__lat__isnull=False, order__lng__isnull=False)
        .select_related("order")
        .order_by("order__created_at", "order_id")
    )
    located = [(s.order.lat, s.order.lng) for s in stops]
    if not located:
        return 0
    van = route.vehicle
    start, end = van.start_depot, van.end_depot or van.start_depot
    walk = [(start.lat, start.lng), *located, (end.lat, end.lng)]
    # one column per place, as the planner's problem has it (`problem_for_day`)
    points: list[tuple[float, float]] = []
    index: dict[tuple[float, float], int] = {}
    visits = []
    for lat, lng in walk:
        key = (round(float(lat), 6), round(float(lng), 6))
        if key not in index:
            index[key] = len(points)
            points.append(key)
        visits.append(index[key])
    try:
        distances = matrix.travel_matrix(points).distances_m
    except MatrixError:
        logger.warning("arrival-order distance of route %s: the routing server failed", route.pk)
        return None
    total = 0
    for a, b in itertools.pairwise(visits):
        leg = int(distances[a][b])
        if leg >= UNREACHABLE_M:
            return None
        total += leg
    return total


def arrival_order_store(route: PlanRoute) -> int | None:
    """Compute and store `route.arrival_order_distance_m` (for routes just created)."""
    route.arrival_order_distance_m = arrival_order_distance(route)
    PlanRoute.objects.filter(pk=route.pk).update(
        arrival_order_distance_m=route.arrival_order_distance_m
    )
    return route.arrival_order_distance_m
