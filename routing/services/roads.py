"""Road paths for the current tenant, and where its travel times come from.

`travel_source()` (`tenants.selectors`) answers for the current tenant: its road region
when it is built here (`geo`), an OSRM server when the platform is configured for one, or
straight lines, and then why. Plans, ETAs and pages show `TravelSource.label` so that a
time made from straight lines never passes for a road time.
"""

from __future__ import annotations

from collections.abc import Sequence

from tenants.selectors import (  # noqa: F401 - routing's callers find them here too
    ATTRIBUTION,
    OSRM,
    ROADS,
    STRAIGHT,
    TravelSource,
    travel_source,
)

LatLng = tuple[float, float]


def road_path(
    points: Sequence[LatLng], source: TravelSource | None = None, *, remember: bool = True
) -> list[LatLng] | None:
    """The road path through `points` in order, as (lat, lng) vertices; None when the
    tenant has no road region (draw straight segments, and say so) or no road joins them.
    `remember` False: the points are passing (a van's position), not kept by the engine."""
    source = source or travel_source()
    if source.engine is None or len(points) < 2:
        return None
    route = source.engine.route(points, remember=remember)
    return route.path if route is not None else None
