"""Travel-time and distance matrices between points, for the route optimiser.

Pure Python over numpy (no Django): `routing.services.matrix` picks the provider named in
the settings and puts the per-tenant cache in front of it. Points are (lat, lng) in degrees;
cell [i, j] is the trip from point i to point j, in seconds and in metres. A cell at
`UNREACHABLE_S` (in both matrices) means no road joins the two points.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import requests

from .schedule import UNREACHABLE_S

logger = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
UNREACHABLE_M = UNREACHABLE_S  # the distance of a trip that has no road


class MatrixError(Exception):
    """A travel matrix could not be had: the routing server failed, was slow, or refused."""


@dataclass(frozen=True, slots=True, eq=False)
class Matrix:
    """Square int64 matrices of travel durations (s) and road distances (m), read-only."""

    durations_s: np.ndarray
    distances_m: np.ndarray

    def __post_init__(self) -> None:
        durations = _read_only(self.durations_s)
        distances = _read_only(self.distances_m)
        n = durations.shape[0] if durations.ndim == 2 else -1
        if durations.shape != (n, n) or distances.shape != (n, n):
            raise ValueError("durations and distances must be square matrices of one size")
        object.__setattr__(self, "durations_s", durations)
        object.__setattr__(self, "distances_m", distances)

    @property
    def size(self) -> int:
        return self.durations_s.shape[0]


def _read_only(values: Any) -> np.ndarray:
    # A view, so that the caller's own array stays writable; the matrix may be shared
    # through the cache, so nobody may change it in place.
    view = np.asarray(values, dtype=np.int64).view()
    view.flags.writeable = False
    return view


class MatrixProvider(Protocol):
    """Anything that answers travel matrices.

    `identity` names the provider and every parameter that changes its answers (not the
    ones that only change how it gets them); `CachedProvider` puts it in the cache key.
    """

    @property
    def identity(self) -> str: ...

    def matrix(self, points: Sequence[tuple[float, float]]) -> Matrix: ...


def as_points(points: Sequence[tuple[float, float]] | np.ndarray) -> np.ndarray:
    """The points as an (n, 2) float array of (lat, lng), checked to be on the globe."""
    coords = np.asarray(points, dtype=np.float64)
    if coords.size == 0:
        return coords.reshape(0, 2)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError("points must be a sequence of (lat, lng) pairs")
    lat, lng = coords[:, 0], coords[:, 1]
    bad = ~(np.isfinite(lat) & np.isfinite(lng) & (np.abs(lat) <= 90) & (np.abs(lng) <= 180))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"point {i} {tuple(coords[i])} is not a (lat, lng) in degrees")
    return coords


# --- straight line ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SpeedProfile:
    """Driving speed by how far into a trip the vehicle is, so short hops are slower.

    The first `breaks_m[0]` metres of a trip are driven at `speeds_kmh[0]`, the stretch up
    to `breaks_m[1]` at `speeds_kmh[1]`, and so on; the last speed holds past the last
    break. It stands in for what a road network shows: on a short hop, side streets,
    junctions and parking dominate; a long trip reaches main roads. The default (25 km/h
    for 2 km, 40 km/h to 10 km, 65 km/h beyond) makes 1 km take 144 s, 5 km 558 s and
    30 km 2,116 s (about 51 km/h on average).
    """

    breaks_m: tuple[float, ...] = (2_000.0, 10_000.0)
    speeds_kmh: tuple[float, ...] = (25.0, 40.0, 65.0)

    def __post_init__(self) -> None:
        breaks, speeds = tuple(map(float, self.breaks_m)), tuple(map(float, self.speeds_kmh))
        if len(speeds) != len(breaks) + 1:
            raise ValueError("a speed profile needs one speed more than it has breaks")
        if any(not math.isfinite(b) for b in breaks) or any(
            b <= a for a, b in itertools.pairwise((0.0, *breaks))
        ):
            raise ValueError("speed-profile breaks must be positive and increasing")
        if any(not (math.isfinite(s) and s > 0) for s in speeds):
            raise ValueError("speeds must be positive")
        # Never slower further into a trip: a longer trip is never slower on average.
        if any(b < a for a, b in itertools.pairwise(speeds)):
            raise ValueError("speeds must not decrease from one break to the next")
        object.__setattr__(self, "breaks_m", breaks)
        object.__setattr__(self, "speeds_kmh", speeds)

    @classmethod
    def constant(cls, speed_kmh: float) -> SpeedProfile:
        return cls(breaks_m=(), speeds_kmh=(speed_kmh,))

    def durations_s(self, distances_m: np.ndarray) -> np.ndarray:
        """Seconds to drive each distance (float array of the same shape)."""
        d = np.asarray(distances_m, dtype=np.float64)
        speeds_ms = [s / 3.6 for s in self.speeds_kmh]
        seconds = d / speeds_ms[-1]
        # Each band below the last adds the time it costs over driving it at the top speed.
        lower = 0.0
        for upper, speed in zip(self.breaks_m, speeds_ms[:-1], strict=True):
            extra = 1.0 / speed - 1.0 / speeds_ms[-1]
            if extra:
                band = np.clip(d - lower, 0.0, upper - lower)
                band *= extra
                seconds += band
            lower = upper
        return seconds

    @property
    def identity(self) -> str:
        return f"breaks={list(self.breaks_m)},speeds={list(self.speeds_kmh)}"


DEFAULT_SPEED_PROFILE = SpeedProfile()


class StraightLineProvider:
    """Great-circle distance times a detour factor, driven at a speed profile (offline).

    Vectorised: a 2,000-point matrix takes a fraction of a second and ~200 MB of memory
    for the moment it is built.
    """

    def __init__(
        self,
        detour_factor: float = 1.3,
        speed_kmh: float | SpeedProfile = DEFAULT_SPEED_PROFILE,
    ) -> None:
        if not (math.isfinite(detour_factor) and detour_factor >= 1.0):
            raise ValueError("the detour factor must be 1 or more (roads are never shorter)")
        self.detour_factor = float(detour_factor)
        self.profile = (
            speed_kmh if isinstance(speed_kmh, SpeedProfile) else SpeedProfile.constant(speed_kmh)
        )

    @property
    def identity(self) -> str:
        return f"StraightLineProvider(detour={self.detour_factor},{self.profile.identity})"

    def matrix(self, points: Sequence[tuple[float, float]]) -> Matrix:
        coords = as_points(points)
        road_m = great_circle_m(coords)
        road_m *= self.detour_factor
        durations = np.rint(self.profile.durations_s(road_m)).astype(np.int64)
        distances = np.rint(road_m).astype(np.int64)
        return Matrix(durations, distances)


def great_circle_m(coords: np.ndarray) -> np.ndarray:
    """Haversine distances (m) between every pair of (lat, lng) points, as an (n, n) array.

    Computed from unit vectors (haversine = (1 - cos of the central angle) / 2, and that
    cosine is a dot product), so the n² part is one matrix product and no trigonometry
    but one arcsin; good to a few centimetres, which rounding to metres hides.
    """
    lat, lng = np.radians(coords[:, 0]), np.radians(coords[:, 1])
    unit = np.stack([np.cos(lat) * np.cos(lng), np.cos(lat) * np.sin(lng), np.sin(lat)], axis=1)
    hav = unit @ unit.T
    np.subtract(1.0, hav, out=hav)
    hav *= 0.5
    np.clip(hav, 0.0, 1.0, out=hav)
    np.sqrt(hav, out=hav)
    np.arcsin(hav, out=hav)
    hav *= 2.0 * EARTH_RADIUS_M
    np.fill_diagonal(hav, 0.0)
    return hav


# --- OSRM ---------------------------------------------------------------------------------


class OsrmProvider:
    """Road durations and distances from an OSRM server's `table` service.

    A matrix larger than the server's `--max-table-size` (100 by default) is asked for in
    blocks of at most `max_table_size` sources by `max_table_size` destinations, one request
    each over one connection, and stitched. Unreachable pairs (OSRM's `null`) become
    `UNREACHABLE_S` / `UNREACHABLE_M`; the diagonal is 0. `timeout_s` is per request.
    """

    def __init__(
        self,
        base_url: str,
        profile: str = "driving",
        timeout_s: float = 30,
        max_table_size: int = 100,
        session: requests.Session | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the OSRM URL must be an http(s) URL, not {base_url!r}")
        if not profile or "/" in profile:
            raise ValueError(f"not an OSRM profile name: {profile!r}")
        if max_table_size < 1:
            raise ValueError("max_table_size must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout_s = timeout_s
        self.max_table_size = int(max_table_size)
        self.session = session

    @property
    def identity(self) -> str:
        return f"OsrmProvider(url={self.base_url},profile={self.profile})"

    def matrix(self, points: Sequence[tuple[float, float]]) -> Matrix:
        coords = as_points(points)
        n = len(coords)
        durations = np.zeros((n, n), dtype=np.int64)
        distances = np.zeros((n, n), dtype=np.int64)
        if n > 1:
            blocks = [
                slice(i, min(i + self.max_table_size, n)) for i in range(0, n, self.max_table_size)
            ]
            session = self.session or requests.Session()
            try:
                for rows in blocks:
                    for cols in blocks:
                        block = self._table(session, coords, rows, cols)
                        durations[rows, cols], distances[rows, cols] = block
            finally:
                if self.session is None:
                    session.close()
            np.fill_diagonal(durations, 0)
            np.fill_diagonal(distances, 0)
        return Matrix(durations, distances)

    def _table(
        self, session: requests.Session, coords: np.ndarray, rows: slice, cols: slice
    ) -> tuple[np.ndarray, np.ndarray]:
        """One request: durations and distances from the points `rows` to the points `cols`."""
        query = "annotations=duration,distance"
        if rows == cols:  # a block on the diagonal: its points to each other
            located = coords[rows]
        else:
            located = np.concatenate([coords[rows], coords[cols]])
            n_rows, n_cols = rows.stop - rows.start, cols.stop - cols.start
            query += "&sources=" + ";".join(map(str, range(n_rows)))
            query += "&destinations=" + ";".join(map(str, range(n_rows, n_rows + n_cols)))
        path = ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in located)
        url = f"{self.base_url}/table/v1/{self.profile}/{path}?{query}"
        try:
            response = session.get(url, timeout=self.timeout_s)
        except requests.Timeout as exc:
            raise MatrixError(
                f"OSRM at {self.base_url} did not answer within {self.timeout_s:g} s"
            ) from exc
        except requests.RequestException as exc:
            raise MatrixError(f"OSRM at {self.base_url} is unreachable: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or response.status_code != 200 or body.get("code") != "Ok":
            raise MatrixError(_osrm_failure(self.base_url, response, body))
        shape = (rows.stop - rows.start, cols.stop - cols.start)
        return (
            _cells(body.get("durations"), shape, UNREACHABLE_S, "durations"),
            _cells(body.get("distances"), shape, UNREACHABLE_M, "distances"),
        )


def _osrm_failure(base_url: str, response: requests.Response, body: Any) -> str:
    if isinstance(body, dict) and body.get("code"):
        text = f"OSRM at {base_url} refused the table request ({body['code']}"
        text += f": {body['message']})" if body.get("message") else ")"
        if body["code"] == "TooBig":
            text += "; set the max table size no higher than the server's --max-table-size"
        return text
    return (
        f"OSRM at {base_url} answered HTTP {response.status_code} without a table: "
        f"{response.text[:200]!r}"
    )


def _cells(values: Any, shape: tuple[int, int], unreachable: int, name: str) -> np.ndarray:
    """OSRM's rows of floats and nulls as ints, null (no route) as `unreachable`."""
    if values is None:
        raise MatrixError(
            f"OSRM answered without {name}; the server may not support "
            "annotations=duration,distance"
        )
    try:
        cells = np.array(values, dtype=np.float64)  # null becomes NaN
    except (TypeError, ValueError) as exc:
        raise MatrixError(f"OSRM answered {name} that are not numbers") from exc
    if cells.shape != shape:
        raise MatrixError(f"OSRM answered {name} of shape {cells.shape}, not {shape}")
    cells = np.where(np.isnan(cells), unreachable, np.minimum(np.rint(cells), unreachable))
    return cells.astype(np.int64)


# --- cache --------------------------------------------------------------------------------


class CachedProvider:
    """A provider with a cache in front: the same points ask the provider only once per `ttl_s`.

    `cache` is anything with Django-cache-like `get(key)` and `set(key, value, timeout)`.
    The key carries `namespace` (the tenant's schema name), the provider's identity and a
    digest of the points rounded to 6 decimals (~0.1 m), in order. The entry is compact
    bytes (int32 when the values fit): a 1,000-point matrix is 8 MB.
    A cache that fails is logged and bypassed: planning must not stop for it.
    """

    KEY_PREFIX = "routing:matrix:v1"

    def __init__(self, provider: MatrixProvider, cache: Any, *, namespace: str, ttl_s: int) -> None:
        if not namespace:
            raise ValueError("a namespace (the tenant's schema name) is required")
        self.provider = provider
        self.cache = cache
        self.namespace = namespace
        self.ttl_s = ttl_s

    @property
    def identity(self) -> str:
        return self.provider.identity

    def key(self, points: Sequence[tuple[float, float]]) -> str:
        coords = as_points(points)
        micro = np.rint(coords * 1e6).astype("<i8")
        points_digest = hashlib.sha256(micro.tobytes()).hexdigest()[:32]
        provider_digest = hashlib.sha256(self.provider.identity.encode()).hexdigest()[:16]
        return f"{self.KEY_PREFIX}:{self.namespace}:{provider_digest}:{len(coords)}:{points_digest}"

    def matrix(self, points: Sequence[tuple[float, float]]) -> Matrix:
        key = self.key(points)
        try:
            blob = self.cache.get(key)
        except Exception:  # any backend's own errors: compute instead
            logger.warning("travel-matrix cache unavailable for get", exc_info=True)
            blob = None
        if blob is not None:
            try:
                return decode_matrix(blob)
            except ValueError:
                logger.warning("unreadable travel-matrix cache entry %s; recomputing", key)
        matrix = self.provider.matrix(points)
        try:
            self.cache.set(key, encode_matrix(matrix), self.ttl_s)
        except Exception:  # as above
            logger.warning("travel-matrix cache unavailable for set", exc_info=True)
        return matrix


_HEADER = struct.Struct("<4sBI")  # magic, bytes per value, n
_MAGIC = b"RMX1"


def encode_matrix(matrix: Matrix) -> bytes:
    """Both matrices as a header + the raw durations then distances, int32 when they fit.

    Not compressed: zlib saves ~40% but costs more time than building a straight-line
    matrix, and a 1,000-point entry is 8 MB either way within a Redis value's limits.
    """
    both = np.stack([matrix.durations_s, matrix.distances_m])
    int32 = np.iinfo(np.int32)
    fits = both.size == 0 or (int32.min <= both.min() and both.max() <= int32.max)
    dtype = np.dtype("<i4" if fits else "<i8")
    return _HEADER.pack(_MAGIC, dtype.itemsize, matrix.size) + both.astype(dtype).tobytes()


def decode_matrix(blob: bytes) -> Matrix:
    """The matrix `encode_matrix` made; ValueError for anything else."""
    if not isinstance(blob, bytes | bytearray) or len(blob) < _HEADER.size:
        raise ValueError("not an encoded travel matrix")
    magic, itemsize, n = _HEADER.unpack_from(blob)
    if magic != _MAGIC or itemsize not in (4, 8):
        raise ValueError("not an encoded travel matrix")
    if len(blob) - _HEADER.size != 2 * n * n * itemsize:
        raise ValueError("truncated travel matrix")
    raw = np.frombuffer(blob, dtype=f"<i{itemsize}", offset=_HEADER.size)
    both = raw.reshape(2, n, n).astype(np.int64)
    return Matrix(both[0], both[1])
