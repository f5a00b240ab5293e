"""Travel matrices: straight line, OSRM (against a local fake of its table service), cache."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from routing.optimiser.matrix import (
    EARTH_RADIUS_M,
    CachedProvider,
    Matrix,
    MatrixError,
    OsrmProvider,
    SpeedProfile,
    StraightLineProvider,
    decode_matrix,
    encode_matrix,
)
from routing.optimiser.schedule import UNREACHABLE_S

LONDON = (51.5074, -0.1278)
KM_NORTH = 1000 / (EARTH_RADIUS_M * math.pi / 180)  # degrees of latitude in 1 km


def random_points(n: int, seed: int = 1) -> list[tuple[float, float]]:
    """Points within ~20 km of central London, rounded as OSRM requests carry them."""
    rng = np.random.default_rng(seed)
    lat = np.round(LONDON[0] + rng.uniform(-0.2, 0.2, n), 6)
    lng = np.round(LONDON[1] + rng.uniform(-0.3, 0.3, n), 6)
    return list(zip(lat.tolist(), lng.tolist(), strict=True))


# --- straight line ------------------------------------------------------------------------


def test_straight_line_matrix_is_symmetric_with_a_zero_diagonal():
    m = StraightLineProvider().matrix(random_points(50))

    assert m.durations_s.shape == m.distances_m.shape == (50, 50)
    assert m.durations_s.dtype == m.distances_m.dtype == np.int64
    assert (m.distances_m == m.distances_m.T).all()
    assert (m.durations_s == m.durations_s.T).all()
    assert (np.diag(m.distances_m) == 0).all() and (np.diag(m.durations_s) == 0).all()
    off_diagonal = ~np.eye(50, dtype=bool)
    assert (m.distances_m[off_diagonal] > 0).all()


def test_straight_line_distance_is_the_great_circle_times_the_detour_factor():
    north = (LONDON[0] + KM_NORTH, LONDON[1])
    m = StraightLineProvider(detour_factor=1.3).matrix([LONDON, north])
    assert m.distances_m[0, 1] == pytest.approx(1300, rel=0.01)

    # A known pair: one degree of longitude on the equator is 111.2 km.
    m = StraightLineProvider(detour_factor=1.0).matrix([(0.0, 0.0), (0.0, 1.0)])
    assert m.distances_m[0, 1] == pytest.approx(111_195, rel=0.001)


def test_straight_line_duration_follows_the_speed_profile():
    profile = SpeedProfile(breaks_m=(1_000,), speeds_kmh=(18, 72))  # 5 m/s, then 20 m/s
    north = (LONDON[0] + 3 * KM_NORTH, LONDON[1])
    m = StraightLineProvider(detour_factor=1.0, speed_kmh=profile).matrix([LONDON, north])
    assert m.durations_s[0, 1] == pytest.approx(1000 / 5 + 2000 / 20, abs=1)

    m = StraightLineProvider(detour_factor=1.0, speed_kmh=36).matrix([LONDON, north])
    assert m.durations_s[0, 1] == pytest.approx(300, abs=1)


def test_speed_profile_makes_short_hops_slower_and_longer_trips_never_quicker():
    distances = np.linspace(0, 100_000, 2_001)
    seconds = SpeedProfile().durations_s(distances)

    assert seconds[0] == 0
    assert (np.diff(seconds) > 0).all()  # farther is longer
    average_speed = distances[1:] / seconds[1:]
    assert (np.diff(average_speed) >= -1e-9).all()  # ... and never slower on average
    assert average_speed[-1] > 2 * average_speed[0]


@pytest.mark.parametrize(
    "breaks, speeds",
    [((1_000,), (30,)), ((2_000, 1_000), (20, 30, 40)), ((1_000,), (40, 20)), ((), (0,))],
)
def test_speed_profile_refuses_nonsense(breaks, speeds):
    with pytest.raises(ValueError):
        SpeedProfile(breaks_m=breaks, speeds_kmh=speeds)


def test_straight_line_refuses_points_off_the_globe_and_short_detours():
    with pytest.raises(ValueError, match="point 1"):
        StraightLineProvider().matrix([LONDON, (LONDON[1], 200.0)])
    with pytest.raises(ValueError):
        StraightLineProvider(detour_factor=0.9)


def test_straight_line_handles_no_points_and_one_point():
    assert StraightLineProvider().matrix([]).size == 0
    assert StraightLineProvider().matrix([LONDON]).distances_m.tolist() == [[0]]


def test_straight_line_builds_2000_points_quickly():
    points = random_points(2_000)
    started = time.perf_counter()
    m = StraightLineProvider().matrix(points)
    elapsed = time.perf_counter() - started

    assert m.durations_s.shape == m.distances_m.shape == (2_000, 2_000)
    # Well under a second on a laptop; the bound only catches a per-pair Python loop.
    assert elapsed < 3, f"2,000-point matrix took {elapsed:.2f} s"


def test_matrix_is_read_only():
    m = StraightLineProvider().matrix(random_points(3))
    with pytest.raises(ValueError):
        m.durations_s[0, 1] = 5


# --- OSRM ---------------------------------------------------------------------------------


def fake_duration(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Asymmetric on purpose (northbound is slower), so a transposed block shows."""
    return 1e5 * (abs(a[0] - b[0]) + abs(a[1] - b[1])) + 2e5 * max(0.0, b[0] - a[0])


def fake_distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return 1.1e5 * (abs(a[0] - b[0]) + abs(a[1] - b[1])) + 3e4 * max(0.0, a[1] - b[1])


class FakeOsrm:
    """A local HTTP server answering OSRM's `table` service, recording every request.

    `answer`: "ok", "no_segment" (400 with OSRM's error JSON), "not_ok" (200 but code
    NoTable), "http500" (plain-text 500) or "slow" (holds the request until closed).
    Points in `islands` have no road to or from any other point.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer = "ok"
        self.islands: set[tuple[float, float]] = set()
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.handle(self)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        _, service, version, profile, coordinates = parts.path.split("/", 4)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        points = [
            (float(lat), float(lng))
            for lng, lat in (pair.split(",") for pair in coordinates.split(";"))
        ]
        sources = [int(i) for i in query["sources"].split(";")] if "sources" in query else None
        destinations = (
            [int(i) for i in query["destinations"].split(";")] if "destinations" in query else None
        )
        self.requests.append(
            {
                "service": f"{service}/{version}/{profile}",
                "points": points,
                "sources": sources,
                "destinations": destinations,
                "annotations": query.get("annotations"),
            }
        )
        if self.answer == "slow":
            self.release.wait(10)
            return self.reply(request, 504, {"code": "Timeout"})
        if self.answer == "http500":
            return self.reply(request, 500, b"Internal Server Error")
        if self.answer == "no_segment":
            message = "Could not find a matching segment for coordinate 1"
            return self.reply(request, 400, {"code": "NoSegment", "message": message})
        if self.answer == "not_ok":
            return self.reply(request, 200, {"code": "NoTable", "message": "No table found"})

        everyone = range(len(points))
        rows = [points[i] for i in (everyone if sources is None else sources)]
        cols = [points[i] for i in (everyone if destinations is None else destinations)]

        def cell(f, a, b):
            if a != b and (a in self.islands or b in self.islands):
                return None
            return f(a, b)

        body = {
            "code": "Ok",
            "durations": [[cell(fake_duration, a, b) for b in cols] for a in rows],
            "distances": [[cell(fake_distance, a, b) for b in cols] for a in rows],
            "sources": [{"location": [a[1], a[0]], "name": ""} for a in rows],
            "destinations": [{"location": [b[1], b[0]], "name": ""} for b in cols],
        }
        return self.reply(request, 200, body)

    @staticmethod
    def reply(request: BaseHTTPRequestHandler, status: int, body: dict | bytes) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


@pytest.fixture
def osrm():
    fake = FakeOsrm()
    yield fake
    fake.close()


def expected(points, f) -> np.ndarray:
    m = np.array([[f(a, b) for b in points] for a in points])
    m = np.rint(m).astype(np.int64)
    np.fill_diagonal(m, 0)
    return m


def test_osrm_matrix_in_one_request(osrm):
    points = random_points(30)
    m = OsrmProvider(osrm.url, profile="car").matrix(points)

    assert len(osrm.requests) == 1
    sent = osrm.requests[0]
    assert sent["service"] == "table/v1/car"
    assert sent["annotations"] == "duration,distance"
    assert sent["points"] == points  # lng,lat in the URL, read back as (lat, lng)
    assert (m.durations_s == expected(points, fake_duration)).all()
    assert (m.distances_m == expected(points, fake_distance)).all()
    assert (m.durations_s != m.durations_s.T).any()  # the fake's asymmetry came through


def test_osrm_large_matrix_is_asked_for_in_blocks_and_stitched(osrm):
    points = random_points(250)
    m = OsrmProvider(osrm.url, max_table_size=100).matrix(points)

    assert (m.durations_s == expected(points, fake_duration)).all()
    assert (m.distances_m == expected(points, fake_distance)).all()
    # 3 groups of points (100, 100, 50): every group to every group, one request each.
    shapes = []
    for sent in osrm.requests:
        n_sources = len(sent["sources"]) if sent["sources"] is not None else len(sent["points"])
        n_dests = (
            len(sent["destinations"]) if sent["destinations"] is not None else len(sent["points"])
        )
        assert n_sources <= 100 and n_dests <= 100
        shapes.append((n_sources, n_dests))
    assert sorted(shapes) == sorted((a, b) for a in (100, 100, 50) for b in (100, 100, 50))


def test_osrm_unreachable_cells_become_the_sentinel(osrm):
    points = random_points(5)
    osrm.islands.add(points[3])
    m = OsrmProvider(osrm.url).matrix(points)

    others = [0, 1, 2, 4]
    assert (m.durations_s[3, others] == UNREACHABLE_S).all()
    assert (m.durations_s[others, 3] == UNREACHABLE_S).all()
    assert (m.distances_m[3, others] == UNREACHABLE_S).all()
    assert m.durations_s[3, 3] == 0
    assert m.durations_s[0, 1] == round(fake_duration(points[0], points[1]))


def test_osrm_error_code_raises_with_osrms_message(osrm):
    osrm.answer = "no_segment"
    with pytest.raises(MatrixError, match="NoSegment: Could not find a matching segment"):
        OsrmProvider(osrm.url).matrix(random_points(3))

    osrm.answer = "not_ok"
    with pytest.raises(MatrixError, match="NoTable: No table found"):
        OsrmProvider(osrm.url).matrix(random_points(3))


def test_osrm_http_500_raises(osrm):
    osrm.answer = "http500"
    with pytest.raises(MatrixError, match="HTTP 500"):
        OsrmProvider(osrm.url).matrix(random_points(3))


def test_osrm_timeout_raises(osrm):
    osrm.answer = "slow"
    started = time.perf_counter()
    with pytest.raises(MatrixError, match=r"did not answer within 0\.3 s"):
        OsrmProvider(osrm.url, timeout_s=0.3).matrix(random_points(3))
    assert time.perf_counter() - started < 5


def test_osrm_server_not_listening_raises():
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as unused:
        url = f"http://127.0.0.1:{unused.server_address[1]}"
    with pytest.raises(MatrixError, match="unreachable"):
        OsrmProvider(url).matrix(random_points(3))


def test_osrm_is_not_asked_for_fewer_than_two_points(osrm):
    assert OsrmProvider(osrm.url).matrix([LONDON]).durations_s.tolist() == [[0]]
    assert OsrmProvider(osrm.url).matrix([]).size == 0
    assert osrm.requests == []


# --- cache --------------------------------------------------------------------------------


class DictCache:
    def __init__(self) -> None:
        self.data: dict[str, object] = {}
        self.sets: list[tuple[str, int]] = []

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value, timeout):
        self.sets.append((key, timeout))
        self.data[key] = value


class CountingProvider:
    def __init__(self, provider) -> None:
        self.provider = provider
        self.calls = 0

    @property
    def identity(self) -> str:
        return self.provider.identity

    def matrix(self, points):
        self.calls += 1
        return self.provider.matrix(points)


def test_cache_answers_the_second_call_without_the_provider():
    provider, cache = CountingProvider(StraightLineProvider()), DictCache()
    cached = CachedProvider(provider, cache, namespace="alpha", ttl_s=600)
    points = random_points(40)

    first = cached.matrix(points)
    second = cached.matrix(points)

    assert provider.calls == 1
    assert (second.durations_s == first.durations_s).all()
    assert (second.distances_m == first.distances_m).all()
    assert cache.sets == [(cached.key(points), 600)]


def test_cache_entries_are_not_shared_between_tenants():
    provider, cache = CountingProvider(StraightLineProvider()), DictCache()
    points = random_points(10)
    alpha = CachedProvider(provider, cache, namespace="alpha", ttl_s=600)
    beta = CachedProvider(provider, cache, namespace="beta", ttl_s=600)

    alpha.matrix(points)
    beta.matrix(points)

    assert provider.calls == 2
    assert alpha.key(points) != beta.key(points)
    assert "alpha" in alpha.key(points) and "beta" in beta.key(points)


def test_cache_misses_for_other_points_and_other_provider_settings():
    provider, cache = CountingProvider(StraightLineProvider()), DictCache()
    cached = CachedProvider(provider, cache, namespace="alpha", ttl_s=600)
    points = random_points(10)
    cached.matrix(points)

    moved = [*points[:-1], (points[-1][0] + 1e-4, points[-1][1])]
    cached.matrix(moved)
    cached.matrix(list(reversed(points)))
    assert provider.calls == 3

    longer = StraightLineProvider(detour_factor=1.5)
    other = CachedProvider(longer, cache, namespace="alpha", ttl_s=1)
    assert other.key(points) != cached.key(points)
    osrm_a = CachedProvider(OsrmProvider("http://a:5000"), cache, namespace="alpha", ttl_s=1)
    osrm_b = CachedProvider(OsrmProvider("http://b:5000"), cache, namespace="alpha", ttl_s=1)
    assert osrm_a.key(points) != osrm_b.key(points)


def test_cache_entry_is_compact_and_round_trips():
    m = StraightLineProvider().matrix(random_points(1_000))
    blob = encode_matrix(m)

    assert len(blob) < 2 * 1_000 * 1_000 * 4 + 100  # int32, not Python ints or int64
    back = decode_matrix(blob)
    assert (back.durations_s == m.durations_s).all() and (back.distances_m == m.distances_m).all()

    sentinel = Matrix(np.array([[0, UNREACHABLE_S], [3, 0]]), np.array([[0, 2**40], [5, 0]]))
    back = decode_matrix(encode_matrix(sentinel))
    assert back.distances_m[0, 1] == 2**40 and back.durations_s[0, 1] == UNREACHABLE_S


def test_unreadable_or_failing_cache_falls_back_to_the_provider():
    provider, cache = CountingProvider(StraightLineProvider()), DictCache()
    cached = CachedProvider(provider, cache, namespace="alpha", ttl_s=600)
    points = random_points(4)
    cache.data[cached.key(points)] = b"garbage"
    assert cached.matrix(points).size == 4

    class BrokenCache:
        def get(self, key):
            raise ConnectionError("cache down")

        set = get

    broken = CachedProvider(provider, BrokenCache(), namespace="alpha", ttl_s=600)
    assert broken.matrix(points).size == 4
    assert provider.calls == 2


# --- Django side --------------------------------------------------------------------------


class RecordingCache:
    """Django's cache, with every key asked for and whether it was there."""

    def __init__(self, cache) -> None:
        self.cache = cache
        self.gets: list[tuple[str, bool]] = []

    def get(self, key):
        value = self.cache.get(key)
        self.gets.append((key, value is not None))
        return value

    def set(self, key, value, timeout):
        self.cache.set(key, value, timeout)


@pytest.mark.django_db
def test_travel_matrix_is_cached_per_tenant_schema(alpha, beta, monkeypatch):
    from django.core.cache import cache
    from django_tenants.utils import schema_context

    from routing.services import matrix as services

    recorder = RecordingCache(cache)
    monkeypatch.setattr(services, "cache", recorder)
    points = random_points(12, seed=12)  # points no other test caches

    with schema_context(alpha.tenant.schema_name):
        first = services.travel_matrix(points)
        services.travel_matrix(points)
    with schema_context(beta.tenant.schema_name):
        services.travel_matrix(points)

    (alpha_key, alpha_hit_1), (alpha_key_2, alpha_hit_2), (beta_key, beta_hit) = recorder.gets
    assert alpha_key == alpha_key_2 and (alpha_hit_1, alpha_hit_2) == (False, True)
    assert beta_key != alpha_key and beta_hit is False
    assert alpha.tenant.schema_name in alpha_key and beta.tenant.schema_name in beta_key
    assert first.size == 12


def test_matrix_provider_follows_the_settings(settings):
    from django.core.exceptions import ImproperlyConfigured

    from routing.services.matrix import matrix_provider

    settings.ROUTING_MATRIX_PROVIDER = "straight"
    settings.ROUTING_DETOUR_FACTOR = 1.4
    provider = matrix_provider()
    assert isinstance(provider, StraightLineProvider) and provider.detour_factor == 1.4

    settings.ROUTING_MATRIX_PROVIDER = "osrm"
    settings.ROUTING_OSRM_URL = "http://osrm.internal:5000/"
    settings.ROUTING_OSRM_PROFILE = "truck"
    provider = matrix_provider()
    assert isinstance(provider, OsrmProvider)
    assert (provider.base_url, provider.profile) == ("http://osrm.internal:5000", "truck")

    settings.ROUTING_MATRIX_PROVIDER = "valhalla"
    with pytest.raises(ImproperlyConfigured, match="valhalla"):
        matrix_provider()


def test_unknown_matrix_provider_stops_startup():
    env = {**os.environ, "DISPATCH_DATABASE_FREE": "1", "ROUTING_MATRIX_PROVIDER": "google"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: ROUTING_MATRIX_PROVIDER must be" in result.stderr
