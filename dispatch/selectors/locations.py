"""Where addresses are, for this business: its own corrections first, then its road
region's addresses (geo, imported from the region's OpenStreetMap extract).

A business searches only the region it chose (Tenant.road_region) and only its own
corrections (its schema): the one place that decides which region a request searches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dispatch.models import Depot, LocationCorrection, Order, OrderStatus, location_key
from geo.models import fold
from geo.selectors import Candidate, address_regions, address_search
from tenants.selectors import current_tenant

ATTRIBUTION = "© OpenStreetMap contributors"
#: Remembered corrections shown first in a type-ahead, at most.
CORRECTIONS_SHOWN = 2


@dataclass(frozen=True)
class AddressAnswer:
    """What a search answers: the region searched, the candidates (best first), and why
    there are none when that is not the query's fault (no region chosen or imported)."""

    region: str
    results: list[Candidate] = field(default_factory=list)
    message: str = ""
    attribution: str = ATTRIBUTION


def tenant_address_region() -> tuple[str, str]:
    """The current business's region for addresses, and why it cannot be searched ("" when
    it can)."""
    region = current_tenant().road_region
    if not region:
        return "", (
            "No road region is chosen for this business, so addresses cannot be looked up "
            "here: choose one in the road settings, or give the coordinates."
        )
    if region not in {r.name for r in address_regions()}:
        return region, (
            f"The addresses of the road region {region!r} are not imported on this server: "
            "an operator runs manage.py roads_import for it."
        )
    return region, ""


def location_correction_for(
    *, line1: str, postcode: str = "", city: str = "", country: str = ""
) -> LocationCorrection | None:
    """This business's remembered location of the address, if a dispatcher gave one."""
    if not fold(line1):
        return None
    key = location_key(line1=line1, postcode=postcode, city=city, country=country)
    return LocationCorrection.objects.filter(address_key=key).first()


def _corrections_like(query: str) -> list[Candidate]:
    typed = fold(query)
    if len(typed) < 3:
        return []
    found = LocationCorrection.objects.filter(line_key__startswith=typed)[:CORRECTIONS_SHOWN]
    return [
        Candidate(
            lat=c.lat,
            lon=c.lng,
            confidence=1.0,
            label=c.address,
            kind="correction",
            match="exact",
            note=f"Where your team put it ({c.updated_at:%Y-%m-%d}).",
        )
        for c in found
    ]


def address_candidates(*, query: str, limit: int = 5, corrections: bool = True) -> AddressAnswer:
    """Candidates for what a dispatcher (or an API client) types: this business's own
    corrections that start so (unless `corrections` is False), then its region's
    addresses, best first."""
    region, why = tenant_address_region()
    mine = _corrections_like(query) if corrections else []
    if why:
        return AddressAnswer(region, mine[:limit], why)
    found = mine + address_search(region, query, limit=limit)
    return AddressAnswer(region, found[:limit])


#: Orders whose place a dispatcher may still move (order_update's rule).
MOVABLE = frozenset({OrderStatus.UNASSIGNED, OrderStatus.PLANNED, OrderStatus.DISPATCHED})


@dataclass(frozen=True)
class OrderPin:
    """Where the order's pin goes on its map: the order's own place, or, for an order that
    needs a location, a suggestion (the best search result, else a depot) to confirm or
    drag; `movable`: the dispatcher may move it."""

    lat: float
    lng: float
    suggested: bool
    label: str
    movable: bool


def order_query(order: Order) -> str:
    """The order's address as one line, as the geocoder searches it."""
    parts = (order.address_line1, order.address_line2, order.postcode, order.city, order.region)
    return ", ".join(p for p in parts if p)


def order_pin(*, order: Order) -> OrderPin | None:
    movable = order.status in MOVABLE
    if order.has_location:
        return OrderPin(order.lat, order.lng, False, order.address_text(), movable)
    query = order_query(order)[:200]
    best = address_candidates(query=query, limit=1, corrections=False).results if query else []
    if best:
        c = best[0]
        return OrderPin(c.lat, c.lon, True, f"{c.label} ({c.confidence:.2f} sure)", movable)
    depot = Depot.objects.filter(is_active=True).order_by("pk").first()
    if depot is not None and depot.has_location:
        return OrderPin(depot.lat, depot.lng, True, f"near {depot.name}", movable)
    return None


@dataclass(frozen=True)
class AddressCheck:
    """What the local geocoder will make of an address: `given` (it has coordinates),
    `corrected` (your team placed it before), `found` (a match sure enough to place it),
    `needs` (it will need a location: `label` is the best match, if any)."""

    status: str
    label: str = ""
    confidence: float | None = None


def address_check(
    *,
    line1: str,
    line2: str = "",
    postcode: str = "",
    city: str = "",
    country: str = "",
    region: str = "",
    has_coordinates: bool = False,
    min_confidence: float = 0.8,
) -> AddressCheck:
    if has_coordinates:
        return AddressCheck("given")
    corrected = location_correction_for(line1=line1, postcode=postcode, city=city, country=country)
    if corrected is not None:
        return AddressCheck("corrected", corrected.address)
    query = ", ".join(p for p in (line1, line2, postcode, city, region) if p)[:200]
    if not query.strip():
        return AddressCheck("needs", "no address")
    found = address_candidates(query=query, limit=1, corrections=False).results
    if not found:
        return AddressCheck("needs")
    best = found[0]
    status = "found" if best.confidence >= min_confidence else "needs"
    return AddressCheck(status, best.label, best.confidence)
