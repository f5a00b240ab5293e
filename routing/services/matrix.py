"""Travel matrices for the optimiser: the provider the settings name, cached per tenant.

The providers themselves are pure (`routing.optimiser.matrix`); this module only reads
the settings and puts the tenant's cache in front. Settings: ROUTING_MATRIX_PROVIDER
("straight" or "osrm"), ROUTING_DETOUR_FACTOR (straight line), ROUTING_OSRM_URL,
ROUTING_OSRM_PROFILE, ROUTING_OSRM_TIMEOUT_S, ROUTING_OSRM_MAX_TABLE_SIZE (OSRM) and
ROUTING_MATRIX_CACHE_TTL_S (0: no cache).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from routing.optimiser.matrix import (
    CachedProvider,
    Matrix,
    MatrixProvider,
    OsrmProvider,
    StraightLineProvider,
)

MATRIX_PROVIDERS = ("straight", "osrm")


def matrix_provider() -> MatrixProvider:
    """The travel-matrix provider the settings name (uncached)."""
    name = settings.ROUTING_MATRIX_PROVIDER
    try:
        if name == "straight":
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
    if ttl_s > 0:
        provider = CachedProvider(provider, cache, namespace=connection.schema_name, ttl_s=ttl_s)
    return provider.matrix(points)
