"""Geocoding against a local Nominatim-compatible HTTP server (a fake of its /search)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.services.geocoding import NominatimGeocoder, geocode_address, geocode_orders
from tests.conftest import FIXED_NOW

# Literal December 2026 dates below: the clock is pinned before them.
# their dates are fixed: the clock is too (time-machine, ticking from FIXED_NOW)
pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

KNOWN = {"10 downing street, sw1a 2aa, london": ("51.5034", "-0.1276")}


class FakeNominatim(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        FakeNominatim.requests.append(
            {k: v[0] for k, v in query.items()} | {"ua": self.headers["User-Agent"]}
        )
        found = KNOWN.get(query.get("q", [""])[0].lower())
        body = json.dumps([{"lat": found[0], "lon": found[1]}] if found else []).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def nominatim():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNominatim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeNominatim.requests = []
    cache.clear()
    yield NominatimGeocoder(
        url=f"http://127.0.0.1:{server.server_port}", timeout_s=2, user_agent="dispatch-tests"
    )
    server.shutdown()
    cache.clear()


def _order(**fields) -> Order:
    return Order.objects.create(
        customer_name="C", delivery_date=dt.date(2026, 12, 1), country="GB", **fields
    )


def test_pending_orders_get_coordinates_or_a_reason(alpha, nominatim):
    with schema_context("alpha"):
        found = _order(address_line1="10 Downing Street", postcode="SW1A 2AA", city="London")
        lost = _order(address_line1="1 Nowhere Lane", city="Atlantis")
        counts = geocode_orders([found.pk, lost.pk], geocoder=nominatim)
        found.refresh_from_db()
        lost.refresh_from_db()
    assert counts == {"ok": 1, "failed": 1}
    assert (found.geocode_status, found.lat, found.lng) == ("ok", 51.5034, -0.1276)
    assert (lost.geocode_status, lost.geocode_error) == ("failed", "Address not found.")
    assert lost.pk  # kept, flagged, never dropped
    assert FakeNominatim.requests[0]["countrycodes"] == "gb"
    assert FakeNominatim.requests[0]["ua"] == "dispatch-tests"


def test_answers_are_cached_per_tenant(alpha, beta, nominatim):
    query = {"query": "10 Downing Street, SW1A 2AA, London", "country": "GB"}
    with schema_context("alpha"):
        geocode_address(**query, geocoder=nominatim)
        geocode_address(**query, geocoder=nominatim)
    assert len(FakeNominatim.requests) == 1
    with schema_context("beta"):
        geocode_address(**query, geocoder=nominatim)
    assert len(FakeNominatim.requests) == 2  # another tenant's cache is its own


def test_an_unreachable_geocoder_flags_the_order_and_is_not_cached(alpha):
    down = NominatimGeocoder(url="http://127.0.0.1:9", timeout_s=0.5, user_agent="t")
    cache.clear()
    with schema_context("alpha"):
        order = _order(address_line1="10 Downing Street", postcode="SW1A 2AA", city="London")
        geocode_orders([order.pk], geocoder=down)
        order.refresh_from_db()
        assert order.geocode_status == "failed"
        assert order.geocode_error.startswith("Geocoder unavailable")
        assert geocode_address(query="x", country="GB", geocoder=down).error.startswith("Geocoder")


def test_coordinates_set_meanwhile_are_not_overwritten(alpha, nominatim):
    with schema_context("alpha"):
        order = _order(address_line1="10 Downing Street", postcode="SW1A 2AA", city="London")
        Order.objects.filter(pk=order.pk).update(lat=1.0, lng=2.0, geocode_status="provided")
        geocode_orders([order.pk], geocoder=nominatim)
        order.refresh_from_db()
        assert (order.lat, order.lng, order.geocode_status) == (1.0, 2.0, "provided")


def test_only_http_urls_are_accepted():
    with pytest.raises(ValueError):
        NominatimGeocoder(url="file:///etc/passwd", timeout_s=1, user_agent="t")
