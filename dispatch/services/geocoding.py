"""Addresses to coordinates through a pluggable provider (Nominatim-compatible by default).

Configured by GEOCODER (`nominatim` or `none`), GEOCODER_URL, GEOCODER_TIMEOUT_S and
GEOCODER_USER_AGENT. Results are cached (per tenant, like every cache key here). An order
that cannot be geocoded is kept and flagged `failed` with the reason, never dropped.
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

from dispatch import tasks
from dispatch.models import Order
from tenants.tasks import enqueue_after_commit

logger = logging.getLogger(__name__)
CACHE_SECONDS = 30 * 24 * 3600
GEOCODE_BATCH = 500


@dataclass(frozen=True)
class GeocodeResult:
    lat: float | None
    lng: float | None
    error: str = ""


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


def get_geocoder() -> Geocoder:
    name = settings.GEOCODER
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
    digest = hashlib.sha256(f"{country}|{query.lower()}".encode()).hexdigest()
    key = f"geocode:{connection.schema_name}:{digest}"
    cached = cache.get(key)
    if cached is not None:
        return GeocodeResult(*cached)
    result = (geocoder or get_geocoder()).geocode(query=query, country=country)
    if result.lat is not None or result.error == "Address not found.":
        cache.set(key, (result.lat, result.lng, result.error), CACHE_SECONDS)
    return result


def geocode_orders(order_ids: list[int], *, geocoder: Geocoder | None = None) -> dict[str, int]:
    """Geocode the given orders that still wait for it (in the current schema)."""
    geocoder = geocoder or get_geocoder()
    counts = {"ok": 0, "failed": 0}
    orders = Order.objects.filter(pk__in=order_ids, geocode_status=Order.GeocodeStatus.PENDING)
    for order in orders:
        query = ", ".join(
            p
            for p in (
                order.address_line1,
                order.address_line2,
                order.postcode,
                order.city,
                order.region,
            )
            if p
        )
        result = (
            geocode_address(query=query, country=order.country, geocoder=geocoder)
            if query
            else GeocodeResult(None, None, "The order has no address.")
        )
        if result.lat is None:
            fields = {"geocode_status": Order.GeocodeStatus.FAILED, "geocode_error": result.error}
            counts["failed"] += 1
        else:
            fields = {"lat": result.lat, "lng": result.lng, "geocode_error": ""}
            fields["geocode_status"] = Order.GeocodeStatus.OK
            counts["ok"] += 1
        # Only if still pending: an edit made meanwhile (with coordinates) wins.
        Order.objects.filter(pk=order.pk, geocode_status=Order.GeocodeStatus.PENDING).update(
            **fields
        )
    return counts


def geocode_orders_later(*, order_ids: list[int]) -> None:
    """Queue geocoding of these orders as tenant jobs, in batches, once the current
    transaction commits (the request does not wait for it)."""
    for start in range(0, len(order_ids), GEOCODE_BATCH):
        enqueue_after_commit(
            tasks.geocode_orders,
            order_ids[start : start + GEOCODE_BATCH],
            task_name="geocode_orders",
        )
