"""Where the current tenant's travel times come from, said once for every caller.

`travel_source()` answers for the tenant in `connection.tenant`: its road region when it is
built here (`geo`), an OSRM server when the platform is configured for one, or straight
lines, and then why. Plans, ETAs and pages show `TravelSource.label` so that a time made
from straight lines never passes for a road time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from geo.engine import RoadEngine, RoadsError
from geo.selectors import Region, region_engine, region_of

LatLng = tuple[float, float]

ROADS, OSRM, STRAIGHT = "roads", "osrm", "straight"
ATTRIBUTION = "© OpenStreetMap contributors"


@dataclass(frozen=True)
class TravelSource:
    kind: str  # ROADS, OSRM or STRAIGHT
    label: str  # what pages say, e.g. "Roads: helsinki (car)"
    reason: str = ""  # for straight lines: why, in the dispatcher's words
    region: Region | None = None
    engine: RoadEngine | None = field(default=None, compare=False, repr=False)

    @property
    def is_roads(self) -> bool:
        return self.kind in (ROADS, OSRM)

    @property
    def attribution(self) -> str:
        return ATTRIBUTION if self.kind == ROADS else ""

    def as_dict(self) -> dict:
        """For APIs and pages' scripts."""
        return {
            "kind": self.kind,
            "label": self.label,
            "reason": self.reason,
            "region": self.region.name if self.region else "",
            "profile": self.region.profile if self.region else "",
            "attribution": self.attribution,
        }


def travel_source(tenant=None) -> TravelSource:
    """The current tenant's (or `tenant`'s) source of travel times."""
    tenant = tenant if tenant is not None else getattr(connection, "tenant", None)
    provider = settings.ROUTING_MATRIX_PROVIDER
    if provider == OSRM:
        return TravelSource(OSRM, f"Roads: OSRM server ({settings.ROUTING_OSRM_PROFILE})")
    detour = f"straight lines \u00d7 {settings.ROUTING_DETOUR_FACTOR:g}"
    if provider == STRAIGHT:
        return _straight(detour, "the platform is set to straight lines")
    name = getattr(tenant, "road_region", "")
    profile = getattr(tenant, "road_profile", "car")
    if not name:
        return _straight(detour, "no road region is chosen in Settings → Roads")
    try:
        region = region_of(name, profile)
        engine = region_engine(name, profile) if region else None
    except RoadsError as exc:
        return _straight(detour, f"road region {name} ({profile}) cannot be read: {exc}")
    if region is None or engine is None:
        return _straight(detour, f"road region {name} ({profile}) is not built on this server")
    return TravelSource(ROADS, f"Roads: {region.label}", region=region, engine=engine)


def _straight(detour: str, reason: str) -> TravelSource:
    return TravelSource(STRAIGHT, f"Estimated: {detour}", reason=reason)


def road_path(points: Sequence[LatLng], source: TravelSource | None = None) -> list[LatLng] | None:
    """The road path through `points` in order, as (lat, lng) vertices; None when the
    tenant has no road region (draw straight segments, and say so) or no road joins them."""
    source = source or travel_source()
    if source.engine is None or len(points) < 2:
        return None
    route = source.engine.route(points)
    return route.path if route is not None else None
