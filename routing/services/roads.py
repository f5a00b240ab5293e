"""Road paths for the current tenant, from its road region (`tenants.selectors
.travel_source` says where its travel times come from: roads, an OSRM server, or straight
lines and why)."""

from __future__ import annotations

from collections.abc import Sequence

from tenants.selectors import TravelSource, travel_source

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
