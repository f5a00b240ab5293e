"""What the maps draw of a route: its path on the roads, for the plan, the live map, the
driver's app and the customer's page.

`route_geometry` is a route's whole day, start depot → stops in driving order → end depot;
`path_to_drive` is what is still ahead of a driver, from where the van is (or the stop it
reached last) through the stops still to do, back to the depot. Both come from
`roads.road_path`, leg by leg only where the whole route has no road path: a leg that no
road joins (a stop cut off from the network) is drawn straight and flagged, and a tenant
without a road region gets straight legs throughout, which pages draw dashed and explain
with `TravelSource.label` and `reason`.

Paths travel as Google encoded polylines at 5 decimals (about a metre): a 27-stop day on
Helsinki's roads is a few kilobytes. They are cached under the schema, the route, a digest
of the points in their order and the region's build: a moved stop or a rebuilt region makes
a new key, so nothing has to be deleted, and old keys expire.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection

from dispatch.models import OrderStatus
from routing.models import PlanRoute, PlanStop
from routing.services.roads import LatLng, road_path
from tenants.selectors import TravelSource, travel_source

#: Decimal places kept of each coordinate (5: about a metre).
PRECISION = 5
#: How long a computed path is kept; an edit or a rebuild makes a new key before that.
GEOMETRY_TTL_S = 24 * 3600
#: A stop further than this from the road the van stops on gets a dotted line to it: the
#: engine puts every point on the main road network (up to 500 m away), the door is not.
WALK_MIN_M = 25.0
#: Stops still to drive to; an arrived stop is where the van is, a failed one left the route.
TO_DO = frozenset({OrderStatus.PLANNED, OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE})
REACHED = frozenset({OrderStatus.ARRIVED, OrderStatus.DELIVERED})


# --- encoded polylines ----------------------------------------------------------------------


def polyline_encode(points: Sequence[LatLng], precision: int = PRECISION) -> str:
    """Google's encoded polyline format: what Leaflet plug-ins, OSRM and Google read."""
    factor = 10**precision
    out: list[str] = []
    last_lat = last_lng = 0
    for lat, lng in points:
        ilat, ilng = round(lat * factor), round(lng * factor)
        for delta in (ilat - last_lat, ilng - last_lng):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        last_lat, last_lng = ilat, ilng
    return "".join(out)


def polyline_decode(text: str, precision: int = PRECISION) -> list[LatLng]:
    factor = 10**precision
    points: list[LatLng] = []
    index = lat = lng = 0
    while index < len(text):
        deltas = []
        for _ in range(2):
            shift = result = 0
            while True:
                byte = ord(text[index]) - 63
                index += 1
                result |= (byte & 0x1F) << shift
                shift += 5
                if byte < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat, lng = lat + deltas[0], lng + deltas[1]
        points.append((lat / factor, lng / factor))
    return points


# --- paths ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leg:
    """A stretch of the path: on the roads, or straight (`road` False: no region, or no
    road joins its ends). `ends`: the first and last of the points it goes through."""

    line: str  # encoded polyline
    road: bool
    ends: tuple[int, int]

    @property
    def path(self) -> list[LatLng]:
        return polyline_decode(self.line)

    def as_dict(self) -> dict:
        return {"line": self.line, "road": self.road, "ends": list(self.ends)}

    @classmethod
    def of(cls, data: dict) -> Leg:
        return cls(data["line"], data["road"], tuple(data["ends"]))


def _straight_why(source: TravelSource) -> str:
    if source.engine is not None:
        return ""
    return source.reason or "road paths are drawn only from a road region built on this server"


def source_dict(source: TravelSource) -> dict:
    """What a map says of its paths: the source (`TravelSource.as_dict`) and, when every
    path is straight, the legend's words ("Estimated: straight lines x 1.3 — why")."""
    why = _straight_why(source)
    label = source.label if source.kind == "straight" else "Paths drawn straight"
    return {**source.as_dict(), "legend": f"{label} \u2014 {why}" if why else source.label}


def path_through(
    points: Sequence[LatLng], *, source: TravelSource, remember: bool = True
) -> list[Leg]:
    """The path through `points` in order: one road leg when the roads join them all;
    otherwise leg by leg, the roads where they join, straight where they do not (runs of
    either merged). Without a road engine, one straight leg. `remember` False: the points
    pass (a van's position) and are not kept by the engine."""
    points = [(float(lat), float(lng)) for lat, lng in points]
    n = len(points)
    if n < 2:
        return []
    if source.engine is None:
        return [Leg(polyline_encode(points), False, (0, n - 1))]
    whole = road_path(points, source, remember=remember)
    if whole is not None:
        return [Leg(polyline_encode(whole), True, (0, n - 1))]
    runs: list[tuple[bool, list[LatLng], int, int]] = []  # (road, vertices, first, last)
    for i in range(n - 1):
        a, b = points[i], points[i + 1]
        found = [a, b] if a == b else road_path([a, b], source, remember=remember)
        road, vertices = (found is not None), (found or [a, b])
        if runs and runs[-1][0] == road:
            last = runs[-1][1]
            last.extend(vertices[1:] if vertices[0] == last[-1] else vertices)
            runs[-1] = (road, last, runs[-1][2], i + 1)
        else:
            runs.append((road, list(vertices), i, i + 1))
    return [Leg(polyline_encode(v), road, (first, last)) for road, v, first, last in runs]


def _build(source: TravelSource) -> str:
    """What the source's paths depend on besides the points: the region's build."""
    region = source.region
    if source.engine is None or region is None:
        return "straight"
    return f"{region.name}/{region.profile}/{region.built_at.isoformat()}"


def walks_to(points: Sequence[LatLng], *, source: TravelSource) -> list[str]:
    """For each point the van cannot stop next to (its road point is further than
    WALK_MIN_M), the last stretch from that road point to it, encoded: maps draw it dotted
    so a stop is not mistaken for off the path."""
    if source.engine is None or not points:
        return []
    unique = list(dict.fromkeys((float(lat), float(lng)) for lat, lng in points))
    snaps = source.engine.snap(unique)
    return [
        polyline_encode([snap.at, point])
        for point, snap in zip(unique, snaps, strict=True)
        if snap.connected and snap.off_m > WALK_MIN_M
    ]


def cached_path(
    kind: str, key_id: int, points: Sequence[LatLng], *, source: TravelSource
) -> tuple[list[Leg], list[str]]:
    """`path_through` and `walks_to`, cached under the schema, `kind` and `key_id` (a
    route's id), and a digest of the points in order and the region's build."""
    rounded = [(round(lat, 6), round(lng, 6)) for lat, lng in points]
    digest = hashlib.sha256(json.dumps([_build(source), rounded]).encode()).hexdigest()[:32]
    key = f"{connection.schema_name}:{kind}:{key_id}:{digest}"
    stored = cache.get(key)
    if stored is not None:
        return [Leg.of(leg) for leg in stored["legs"]], stored["walks"]
    legs, walks = path_through(points, source=source), walks_to(points, source=source)
    cache.set(key, {"legs": [leg.as_dict() for leg in legs], "walks": walks}, GEOMETRY_TTL_S)
    return legs, walks


def _depots(route: PlanRoute) -> tuple[LatLng, LatLng]:
    vehicle = route.vehicle
    start = vehicle.start_depot
    end = vehicle.end_depot or start
    return (start.lat, start.lng), (end.lat, end.lng)


def _stops(route: PlanRoute) -> list[PlanStop]:
    """The route's stops in driving order that have a place (prefetched ones are used)."""
    if "stops" in getattr(route, "_prefetched_objects_cache", {}):
        stops = sorted(route.stops.all(), key=lambda s: s.sequence)
    else:
        stops = list(route.stops.select_related("order").order_by("sequence"))
    return [s for s in stops if s.order is not None and s.order.lat is not None]


def _flag(leg: Leg, names: list[str]) -> str:
    first, last = leg.ends
    between = (
        f"{names[first]} and {names[last]}"
        if last == first + 1
        else (f"{names[first]} to {names[last]}")
    )
    return f"No road joins {between}: drawn straight."


@dataclass(frozen=True)
class RouteGeometry:
    """A route's path for its day: depot → stops in driving order → end depot."""

    route_id: int
    source: TravelSource
    legs: list[Leg]
    names: list[str] = field(default_factory=list)  # the points' names: depot, #1, #2…
    walks: list[str] = field(default_factory=list)  # road point → stop, encoded (`walks_to`)

    @property
    def flags(self) -> list[str]:
        """A sentence per leg drawn straight although the tenant has roads."""
        if self.source.engine is None:
            return []
        return [_flag(leg, self.names) for leg in self.legs if not leg.road]

    @property
    def vertices(self) -> int:
        return sum(len(leg.path) for leg in self.legs)

    def as_dict(self) -> dict:
        return {
            "legs": [leg.as_dict() for leg in self.legs],
            "walks": self.walks,
            "flags": self.flags,
        }


def route_geometry(route: PlanRoute, *, source: TravelSource | None = None) -> RouteGeometry:
    """The road path of `route`'s day, cached (see the module doc). Its stops are read
    with their orders (prefetch `stops__order` to spare a query per route)."""
    source = source or travel_source()
    stops = _stops(route)
    if not stops:
        return RouteGeometry(route.pk, source, [])
    start, end = _depots(route)
    points = [start, *[(s.order.lat, s.order.lng) for s in stops], end]
    names = ["the depot", *[f"stop #{s.sequence}" for s in stops], "the depot"]
    legs, walks = cached_path("route-geometry", route.pk, points, source=source)
    return RouteGeometry(route.pk, source, legs, names, walks)


@dataclass(frozen=True)
class DrivePath:
    """What is still ahead of a driver: from `start` (`starts_from`: "van", its position;
    "last_stop", the stop reached last; or "depot") to the next stop (`next`), then through
    the other stops still to do back to the depot (`rest`); `stops`: those, next first."""

    route_id: int
    source: TravelSource
    start: LatLng
    starts_from: str
    next: list[Leg]
    rest: list[Leg]
    stops: list[dict]
    walks: list[str] = field(default_factory=list)

    @property
    def vertices(self) -> int:
        return sum(len(leg.path) for leg in (*self.next, *self.rest))

    def as_dict(self) -> dict:
        return {
            "route": self.route_id,
            "start": [round(self.start[0], PRECISION), round(self.start[1], PRECISION)],
            "starts_from": self.starts_from,
            "next": [leg.as_dict() for leg in self.next],
            "rest": [leg.as_dict() for leg in self.rest],
            "stops": self.stops,
            "walks": self.walks,
        }


def path_to_drive(
    route: PlanRoute, *, position: LatLng | None = None, source: TravelSource | None = None
) -> DrivePath:
    """The path still ahead of `route`'s driver, from `position` when the van's is known.
    The stop the driver set off to (en route) comes next, then the others in their order.
    The van's stretch is computed each time (a millisecond on the roads); the rest is
    cached like a route."""
    source = source or travel_source()
    stops = _stops(route)
    depot, end = _depots(route)
    todo = [s for s in stops if s.order.status in TO_DO]
    heading = [s for s in todo if s.order.status == OrderStatus.EN_ROUTE]
    if heading:
        todo.remove(heading[0])
        todo.insert(0, heading[0])
    reached = [s for s in stops if s.order.status in REACHED]
    if position is not None:
        start, starts_from = (float(position[0]), float(position[1])), "van"
    elif reached:
        start, starts_from = (reached[-1].order.lat, reached[-1].order.lng), "last_stop"
    else:
        start, starts_from = depot, "depot"
    ahead = [(s.order.lat, s.order.lng) for s in todo]
    passing = starts_from == "van"  # a position passed once: not kept by the engine
    if not ahead:  # every stop done: the way back
        back = path_through([start, end], source=source, remember=not passing)
        return DrivePath(route.pk, source, start, starts_from, back, [], [])
    first = path_through([start, ahead[0]], source=source, remember=not passing)
    rest, walks = cached_path("route-rest", route.pk, [*ahead, end], source=source)
    listed = [
        {
            "order": s.order_id,
            "sequence": s.sequence,
            "lat": round(s.order.lat, PRECISION),
            "lng": round(s.order.lng, PRECISION),
            "name": s.order.customer_name,
            "status": s.order.status,
        }
        for s in todo
    ]
    return DrivePath(route.pk, source, start, starts_from, first, rest, listed, walks)
