"""Travel matrices for the optimiser: the provider the settings name, cached per tenant.

The providers themselves are pure (`routing.optimiser.matrix`); this module only reads
the settings and puts the tenant's cache in front. Settings: ROUTING_MATRIX_PROVIDER
("roads": the tenant's road region, see `routing.services.roads`; "straight" or "osrm"),
ROUTING_DETOUR_FACTOR (straight line), ROUTING_OSRM_URL,
ROUTING_OSRM_PROFILE, ROUTING_OSRM_TIMEOUT_S, ROUTING_OSRM_MAX_TABLE_SIZE (OSRM) and
ROUTING_MATRIX_CACHE_TTL_S (0: no cache).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from routing.optimiser.matrix import (
    UNREACHABLE_M,
    CachedProvider,
    Matrix,
    MatrixProvider,
    OsrmProvider,
    StraightLineProvider,
    as_points,
)
from routing.optimiser.schedule import UNREACHABLE_S
from tenants.selectors import ROADS, TravelSource, travel_source

MATRIX_PROVIDERS = ("roads", "straight", "osrm")


class RoadsProvider:
    """Durations and distances on the tenant's road region, from the engine in this process.

    Each point is first put on the region's main road network (`geo.engine.RoadEngine.table`);
    a pair no road joins is `UNREACHABLE_S` / `UNREACHABLE_M`, which the optimiser leaves
    unassigned with the reason "unreachable", never zero.
    """

    def __init__(self, source: TravelSource) -> None:
        assert source.engine is not None and source.region is not None
        self.engine = source.engine
        self.region = source.region

    @property
    def identity(self) -> str:
        # the build's folder: a rebuilt region is a new cache key
        return f"RoadsProvider({self.region.base.parent})"

    def matrix(self, points: Sequence[tuple[float, float]]) -> Matrix:
        coords = [(float(lat), float(lng)) for lat, lng in as_points(points)]
        n = len(coords)
        if n < 2:
            return Matrix(np.zeros((n, n), np.int64), np.zeros((n, n), np.int64))
        # two points: a van's passing position and its next stop; not worth remembering
        table = self.engine.table(coords, remember=n > 2)
        durations = _cells(table.durations_s, UNREACHABLE_S)
        distances = _cells(table.distances_m, UNREACHABLE_M)
        np.fill_diagonal(durations, 0)
        np.fill_diagonal(distances, 0)
        return Matrix(durations, distances)


def _cells(rows: list[list[float | None]], unreachable: int) -> np.ndarray:
    cells = np.array(rows, np.float64)  # None (no road) becomes NaN
    return np.where(np.isnan(cells), unreachable, np.minimum(np.rint(cells), unreachable)).astype(
        np.int64
    )


def matrix_provider(source: TravelSource | None = None) -> MatrixProvider:
    """The travel-matrix provider for the current tenant (uncached)."""
    name = settings.ROUTING_MATRIX_PROVIDER
    source = source or travel_source()
    try:
        if name == ROADS and source.kind == ROADS:
            return RoadsProvider(source)
        if name == "straight" or name == ROADS:
            return StraightLineProvider(detour_factor=settings.ROUTING_DETOUR_FACTOR)
        if name == "osrm":
            return OsrmProvider(
                settings.ROUTING_OSRM_URL,
                profile=settings.ROUTING_OSRM_PROFILE,
                timeout_s=settings.ROUTING_OSRM_TIMEOUT_S,
                max_table_size=settings.ROUTING_OSRM_MAX_TABLE_SIZE,
            )
    except ValueError as exc:
        raise ImproperlyConfigured(f"ROUTING_* settings: {exc}") from exc
    raise ImproperlyConfigured(
        f"ROUTING_MATRIX_PROVIDER must be one of {', '.join(MATRIX_PROVIDERS)}, not {name!r}."
    )


def travel_matrix(points: Sequence[tuple[float, float]]) -> Matrix:
    """Durations and distances between (lat, lng) points, cached under the current schema.

    Call it inside the tenant's schema (a request, or `schema_context` in a task): the
    cache key carries `connection.schema_name`. Raises `routing.optimiser.matrix
    .MatrixError` when the routing server fails.
    """
    provider = matrix_provider()
    ttl_s = settings.ROUTING_MATRIX_CACHE_TTL_S
    # Two points (a van's position and its next stop, on every GPS fix) are asked once and
    # cost a millisecond: caching each would fill the cache with positions never asked again.
    if ttl_s > 0 and len(points) > 2:
        provider = CachedProvider(provider, cache, namespace=connection.schema_name, ttl_s=ttl_s)
    return provider.matrix(points)
