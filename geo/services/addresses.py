"""A region's addresses, read from its OpenStreetMap extract and stored for search.

What is kept, from nodes, ways (a building's centre) and multipolygon relations:
- addresses: `addr:housenumber` with `addr:street` (or `addr:place`, as Nordic villages and
  islands are addressed), with `addr:postcode` and `addr:city` when they are there;
- places: anything named that people go to (shops, amenities, offices, tourism, named
  buildings…), with its address when it has one;
- streets: named roads, one point on each (the vertex nearest its middle), so that a street
  without address points can still be found, and its names in other languages (`name:sv`…).

A missing `addr:city` is taken from the nearest address that has one (within
CITY_FROM_NEIGHBOUR_M), else from the object's `is_in:city`; otherwise it stays blank.
The region's rows are replaced in one transaction: search sees the old set or the new one.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from core.bulk import copy_insert
from geo.engine import RoadsError, haversine_m
from geo.models import Address, AddressRegion

#: Keys whose named objects are places people are sent to.
PLACE_KEYS = (
    "shop",
    "amenity",
    "tourism",
    "office",
    "leisure",
    "craft",
    "healthcare",
    "historic",
    "club",
    "building",
)
#: … and these only with these values (a named bus stop is not a delivery address).
PLACE_VALUES = {
    "railway": {"station", "halt"},
    "public_transport": {"station"},
    "aeroway": {"terminal", "aerodrome"},
}
STREET_HIGHWAYS = {
    "trunk",
    "primary",
    "secondary",
    "tertiary",
    "unclassified",
    "residential",
    "living_street",
    "pedestrian",
    "service",
    "road",
    "footway",
    "cycleway",
    "path",
    "track",
}
#: A street's names in other languages, kept so that either finds it.
STREET_ALIASES = ("name:fi", "name:sv", "name:en", "name:se", "alt_name", "official_name")
CITY_FROM_NEIGHBOUR_M = 2_000.0
_CELL = 0.02  # degrees: the grid the neighbour search walks (about 2.2 km of latitude)


@dataclass
class ImportResult:
    region: str
    addresses: int
    places: int
    streets: int
    seconds: float


def _text(tags, key: str, limit: int) -> str:
    value = tags.get(key) or ""
    return " ".join(value.split())[:limit]


def _city(tags) -> str:
    city = _text(tags, "addr:city", 100)
    return city if any(c.isalpha() for c in city) else ""  # a stray "7" is no city


def _is_place(tags) -> bool:
    if any(key in tags for key in PLACE_KEYS):
        return True
    return any(tags.get(key) in values for key, values in PLACE_VALUES.items())


def _centre(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The centre of a ring (area-weighted; a building's middle), else of the points."""
    if len(points) >= 4 and points[0] == points[-1]:
        oy, ox = points[0]  # relative to a corner: a building is tiny next to its degrees
        area = cx = cy = 0.0
        for (y0, x0), (y1, x1) in itertools.pairwise(points):
            y0, x0, y1, x1 = y0 - oy, x0 - ox, y1 - oy, x1 - ox
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        if abs(area) > 1e-14:
            centre = (oy + cy / (3 * area), ox + cx / (3 * area))
            lats, lngs = [p[0] for p in points], [p[1] for p in points]
            if min(lats) <= centre[0] <= max(lats) and min(lngs) <= centre[1] <= max(lngs):
                return centre
    n = len(points)
    return (sum(p[0] for p in points) / n, sum(p[1] for p in points) / n)


def _rows_of(osm_id: str, tags, at: tuple[float, float]) -> list[Address]:
    """The address or place an object with these tags is (none, one)."""
    lat, lng = at
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return []
    number = _text(tags, "addr:housenumber", 40)
    street = _text(tags, "addr:street", 200) or _text(tags, "addr:place", 200)
    name = _text(tags, "name", 200)
    if not (number and street):
        number = street = ""
    fields = {
        "osm_id": osm_id,
        "housenumber": number,
        "street": street,
        "postcode": _text(tags, "addr:postcode", 20) if street else "",
        "city": _city(tags) or _text(tags, "is_in:city", 100),
        "lat": lat,
        "lng": lng,
    }
    if name and _is_place(tags):
        return [Address(kind=Address.Kind.PLACE, name=name, **fields)]
    if street:
        return [Address(kind=Address.Kind.ADDRESS, **fields)]
    return []


class _Streets:
    """Named roads, joined into streets where their ways share an end (one street may be
    several ways); one point per street, the vertex nearest the middle of all of them."""

    def __init__(self) -> None:
        #: (way id, name, its two end nodes, its points, its other names)
        self.ways: list[tuple[int, str, list[int], list[tuple[float, float]], set[str]]] = []

    def add(self, way, tags) -> None:
        name = _text(tags, "name", 200)
        points = [(n.lat, n.lon) for n in way.nodes if n.location.valid()]
        if not points:
            return
        ends = [way.nodes[0].ref, way.nodes[-1].ref]
        aliases = {_text(tags, key, 200) for key in STREET_ALIASES} - {"", name}
        self.ways.append((way.id, name, ends, points, aliases))

    def rows(self) -> list[Address]:
        parent = list(range(len(self.ways)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        by_end: dict[tuple[str, int], int] = {}
        for i, (_, name, ends, _, _) in enumerate(self.ways):
            for end in ends:
                j = by_end.setdefault((name, end), i)
                parent[root(i)] = root(j)
        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(len(self.ways)):
            groups[root(i)].append(i)
        out = []
        for members in groups.values():
            way_id, name = self.ways[members[0]][:2]
            points = [p for i in members for p in self.ways[i][3]]
            mid = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
            at = min(points, key=lambda p: (p[0] - mid[0]) ** 2 + (p[1] - mid[1]) ** 2)
            aliases = sorted({a for i in members for a in self.ways[i][4]})
            for alias in ["", *aliases]:
                out.append(
                    Address(
                        kind=Address.Kind.STREET,
                        osm_id=f"w{way_id}",
                        street=name,
                        name=alias,
                        lat=at[0],
                        lng=at[1],
                    )
                )
        return out


def read_extract(pbf: Path) -> list[Address]:
    """The addresses, places and streets in the extract (unsaved, keys not yet filled)."""
    import osmium  # import here: only an import reads extracts

    rows: list[Address] = []
    streets = _Streets()
    wanted = osmium.filter.KeyFilter("addr:housenumber", "name")
    processor = (
        osmium.FileProcessor(str(pbf))
        .with_locations()
        .with_areas(osmium.filter.KeyFilter("addr:housenumber", "name"))
        .with_filter(wanted)
    )
    try:
        for obj in processor:
            tags = obj.tags
            if obj.is_node():
                if obj.location.valid():
                    rows += _rows_of(f"n{obj.id}", tags, (obj.location.lat, obj.location.lon))
            elif obj.is_way():
                if tags.get("highway") in STREET_HIGHWAYS and "name" in tags:
                    streets.add(obj, tags)
                    continue
                points = [(n.lat, n.lon) for n in obj.nodes if n.location.valid()]
                if points:
                    rows += _rows_of(f"w{obj.id}", tags, _centre(points))
            elif obj.is_area() and not obj.from_way():
                points = [(n.lat, n.lon) for ring in obj.outer_rings() for n in ring]
                if points:
                    rows += _rows_of(f"r{obj.orig_id()}", tags, _centre(points))
    except RuntimeError as exc:  # osmium's own words: not a pbf, truncated…
        raise RoadsError(f"{Path(pbf).name}: cannot read its addresses ({exc}).") from None
    return rows + streets.rows()


def _fill_cities(rows: list[Address]) -> None:
    """A blank city from the nearest row that has one, within CITY_FROM_NEIGHBOUR_M."""
    grid: dict[tuple[int, int], list[Address]] = defaultdict(list)
    for row in rows:
        if row.city:
            grid[(math.floor(row.lat / _CELL), math.floor(row.lng / _CELL))].append(row)
    if not grid:
        return
    for row in rows:
        if row.city:
            continue
        cell = (math.floor(row.lat / _CELL), math.floor(row.lng / _CELL))
        near = [
            other
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            for other in grid.get((cell[0] + dy, cell[1] + dx), ())
        ]
        if near:
            best = min(near, key=lambda o: (o.lat - row.lat) ** 2 + (o.lng - row.lng) ** 2)
            if haversine_m((row.lat, row.lng), (best.lat, best.lng)) <= CITY_FROM_NEIGHBOUR_M:
                row.city = best.city


def addresses_import(
    name: str,
    pbf: Path,
    *,
    progress: Callable[[str], None] = lambda line: None,
    rows: Iterable[Address] | None = None,
) -> ImportResult:
    """Read `pbf`'s addresses and make them region `name`'s, replacing its old ones in one
    transaction (a failure leaves the old ones). `rows`: already read (tests, benchmarks)."""
    started = time.monotonic()
    progress("addresses…")
    found = list(rows) if rows is not None else read_extract(Path(pbf))
    _fill_cities(found)
    for row in found:
        row.region = name
        row.fill_keys()
    counts = {kind: sum(r.kind == kind for r in found) for kind in Address.Kind.values}
    with transaction.atomic():
        with connection.cursor() as cursor:  # two builds of one region: one after the other
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"geo.addresses:{name}"])
        Address.objects.filter(region=name).delete()
        copy_insert(Address, found)
        AddressRegion.objects.update_or_create(
            name=name,
            defaults={
                "imported_at": timezone.now(),
                "source": Path(pbf).name[:255],
                "addresses": counts[Address.Kind.ADDRESS],
                "places": counts[Address.Kind.PLACE],
                "streets": counts[Address.Kind.STREET],
                "seconds": time.monotonic() - started,
            },
        )
    result = ImportResult(
        name,
        counts[Address.Kind.ADDRESS],
        counts[Address.Kind.PLACE],
        counts[Address.Kind.STREET],
        time.monotonic() - started,
    )
    progress(
        f"addresses: {result.addresses} addresses, {result.places} places, "
        f"{result.streets} streets in {result.seconds:.1f} s"
    )
    return result
