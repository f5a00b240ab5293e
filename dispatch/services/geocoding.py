"""Addresses to coordinates through a pluggable provider: the business's own road region
by default, on this machine.

Configured by GEOCODER: `local` (the default: the addresses of the business's road region,
imported from its OpenStreetMap extract, geo.selectors.address_search), `nominatim` (any
Nominatim-compatible server over HTTP: GEOCODER_URL, GEOCODER_TIMEOUT_S,
GEOCODER_USER_AGENT), `none`, or the dotted path of a class of your own.

Before any of them, the business's own corrections are consulted (a dispatcher moved an
order's pin: that address is there). The local geocoder places an order only when its best
candidate is at least GEOCODER_MIN_CONFIDENCE sure; below that the order is kept, flagged
"needs a location" (`geocode_status=failed`), and the reason names the best candidate and
how sure it was: an order is never put silently on a point that may be wrong. Nominatim's
answers are cached (per tenant, like every cache key here); the local search is not (it is
fast, and a rebuilt region must be seen at once).
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.module_loading import import_string
from rapidfuzz import fuzz

from dispatch import tasks
from dispatch.models import Order
from dispatch.selectors.locations import (
    location_correction_for,
    order_query,
    tenant_address_region,
)
from dispatch.signals import orders_located
from geo.models import fold
from geo.selectors import address_search
from tenants.tasks import enqueue_after_commit

logger = logging.getLogger(__name__)
CACHE_SECONDS = 30 * 24 * 3600
GEOCODE_BATCH = 500


@dataclass(frozen=True)
class GeocodeResult:
    lat: float | None
    lng: float | None
    error: str = ""
    confidence: float | None = None  # the local geocoder's, 0..1
    label: str = ""  # the address matched
    city: str = ""  # the matched address's town, when the geocoder knows it


#: geocode_error's length.
ERROR_CHARS = 200
#: How alike (rapidfuzz ratio) the order's town and the match's must be: a typo passes.
SAME_TOWN = 85


class Geocoder(Protocol):
    def geocode(self, *, query: str, country: str) -> GeocodeResult: ...


class NoGeocoder:
    """For deployments without a geocoder: orders need coordinates from their source."""

    def geocode(self, *, query: str, country: str) -> GeocodeResult:
        return GeocodeResult(None, None, "No geocoder is configured; add lat/lng to the order.")


class NominatimGeocoder:
    """A client of Nominatim's `/search` API (OpenStreetMap's, or a self-hosted one)."""

    def __init__(self, *, url: str, timeout_s: float, user_agent: str) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(f"GEOCODER_URL must be an http(s) URL, not {url!r}")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.user_agent = user_agent

    def geocode(self, *, query: str, country: str) -> GeocodeResult:
        params = {"q": query, "format": "jsonv2", "limit": "1", "addressdetails": "0"}
        if country:
            params["countrycodes"] = country.lower()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            f"{self.url}/search?{urllib.parse.urlencode(params)}",
            headers={"User-Agent": self.user_agent, "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                places = json.loads(response.read())
        except (OSError, ValueError) as exc:
            return GeocodeResult(None, None, f"Geocoder unavailable: {exc.__class__.__name__}.")
        if not places:
            return GeocodeResult(None, None, "Address not found.")
        try:
            return GeocodeResult(float(places[0]["lat"]), float(places[0]["lon"]))
        except (KeyError, TypeError, ValueError):
            return GeocodeResult(None, None, "Geocoder gave an answer without coordinates.")


class LocalGeocoder:
    """The addresses of the business's road region (imported with the region's roads):
    no third party, no key, no network."""

    cacheable = False

    def __init__(self, *, min_confidence: float) -> None:
        self.min_confidence = min_confidence
        self._regions: dict[str, tuple[str, str]] = {}  # per schema: one look per batch

    def geocode(self, *, query: str, country: str) -> GeocodeResult:
        schema = connection.schema_name
        if schema not in self._regions:
            self._regions[schema] = tenant_address_region()
        region, why = self._regions[schema]
        if why:
            return GeocodeResult(None, None, why)
        found = address_search(region, query, limit=2)
        if not found:
            return GeocodeResult(None, None, f"Needs a location: no address like it in {region}.")
        best = found[0]
        if best.confidence < self.min_confidence:
            said = f" ({best.note})" if best.note and best.match != "street" else ""
            return GeocodeResult(
                None,
                None,
                f"Needs a location: the best match, {best.label}, is {best.confidence:.2f} "
                f"sure (below {self.min_confidence:.2f}){said}",
                best.confidence,
                best.label,
            )
        return GeocodeResult(best.lat, best.lon, "", best.confidence, best.label, best.city)


def get_geocoder() -> Geocoder:
    name = settings.GEOCODER
    if name == "local":
        return LocalGeocoder(min_confidence=settings.GEOCODER_MIN_CONFIDENCE)
    if name == "none":
        return NoGeocoder()
    if name == "nominatim":
        return NominatimGeocoder(
            url=settings.GEOCODER_URL,
            timeout_s=settings.GEOCODER_TIMEOUT_S,
            user_agent=settings.GEOCODER_USER_AGENT,
        )
    return import_string(name)()


def geocode_address(*, query: str, country: str, geocoder: Geocoder | None = None) -> GeocodeResult:
    """Geocode with a cache; failures caused by an unreachable geocoder are not cached."""
    geocoder = geocoder or get_geocoder()
    if not getattr(geocoder, "cacheable", True):
        return geocoder.geocode(query=query, country=country)
    digest = hashlib.sha256(f"{country}|{query.lower()}".encode()).hexdigest()
    key = f"geocode:{connection.schema_name}:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return GeocodeResult(*cached)
    result = geocoder.geocode(query=query, country=country)
    if result.lat is not None or result.error == "Address not found.":
        cache.set(key, (result.lat, result.lng, result.error), CACHE_SECONDS)
    return result


def geocode_orders(order_ids: list[int], *, geocoder: Geocoder | None = None) -> dict[str, int]:
    """Geocode the given orders that still wait for it (in the current schema): where a
    dispatcher corrected the address before, there; else by the geocoder."""
    geocoder = geocoder or get_geocoder()
    counts = {"ok": 0, "failed": 0}
    located: list[int] = []
    orders = Order.objects.filter(pk__in=order_ids, geocode_status=Order.GeocodeStatus.PENDING)
    for order in orders:
        corrected = location_correction_for(
            line1=order.address_line1,
            postcode=order.postcode,
            city=order.city,
            country=order.country,
        )
        if corrected is not None:
            _located(order, GeocodeResult(corrected.lat, corrected.lng))
            counts["ok"] += 1
            located.append(order.pk)
            continue
        query = order_query(order)
        result = (
            geocode_address(query=query, country=order.country, geocoder=geocoder)
            if query
            else GeocodeResult(None, None, "The order has no address.")
        )
        if _located(order, _same_town(order, result)):
            counts["ok"] += 1
            located.append(order.pk)
        else:
            counts["failed"] += 1
    if located:  # auto-dispatch may place them now
        orders_located.send(sender=Order, order_ids=located)
    return counts


def _same_town(order: Order, result: GeocodeResult) -> GeocodeResult:
    """The result, unless it is in another town than the order says (a town the region's
    addresses do not know counts for nothing in the search: "Koulukatu 5, Vantaa" would
    land on Helsinki's Koulukatu 5); then the order needs a location, and says why."""
    if result.lat is None or not (result.city and order.city):
        return result
    if fuzz.ratio(fold(order.city), fold(result.city)) >= SAME_TOWN:
        return result
    return GeocodeResult(
        None,
        None,
        f"Needs a location: the best match, {result.label}, is in {result.city}, not {order.city}.",
        result.confidence,
        result.label,
        result.city,
    )


def _located(order: Order, result: GeocodeResult) -> bool:
    if result.lat is None:
        error = result.error
        if len(error) > ERROR_CHARS:
            error = error[: ERROR_CHARS - 1] + "…"
        fields = {"geocode_status": Order.GeocodeStatus.FAILED, "geocode_error": error}
    else:
        fields = {"lat": result.lat, "lng": result.lng, "geocode_error": ""}
        fields["geocode_status"] = Order.GeocodeStatus.OK
    # Only if still pending: an edit made meanwhile (with coordinates) wins.
    Order.objects.filter(pk=order.pk, geocode_status=Order.GeocodeStatus.PENDING).update(**fields)
    return result.lat is not None


def geocode_orders_later(*, order_ids: list[int]) -> None:
    """Queue geocoding of these orders as tenant jobs, in batches, once the current
    transaction commits (the request does not wait for it)."""
    for start in range(0, len(order_ids), GEOCODE_BATCH):
        enqueue_after_commit(
            tasks.geocode_orders,
            order_ids[start : start + GEOCODE_BATCH],
            task_name="geocode_orders",
        )
