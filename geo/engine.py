"""Roads from an OpenStreetMap extract, on this machine: OSRM through `osrm-bindings`.

`build` turns an extract (`.osm.pbf`) into a routable graph with the wheel's own
`osrm-extract` and `osrm-contract` (contraction hierarchies) for one profile (car,
bicycle, foot); `RoadEngine` answers tables and routes from it in this process, with no
server. Coordinates go in as (lat, lng), the way the rest of the project writes them;
OSRM's own (lng, lat) order stays inside this module.

A point the engine cannot route from or to comes back as None in a table: the caller
decides what that means, nothing here turns it into zero. OSRM puts a point on the nearest
road, and in a clipped extract that is often a one-way street that leads out of the extract
or a piece of road cut off from the rest (in central Helsinki about 4 random points in 10
land there). `RoadEngine.table(..., snap=True)` deals with it deliberately: each point is
checked against the region's anchors (a few well-connected points found when the region
was built, both ways), and one that cannot reach them or be reached is moved to the nearest
road that can, up to `max_snap_m` away; further than that it stays unreachable.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROFILES = ("car", "bicycle", "foot")
#: How long one build step may take before it is stopped (a country extract takes long).
STEP_TIMEOUT_S = 6 * 3600
#: How far a point may be moved to a road that joins the rest of the network.
MAX_SNAP_M = 500.0
#: Roads tried around a point that is cut off, nearest first, in rounds (most points join
#: one of their next few; in a dense centre the nearest 40 road pieces may all be cut off).
SNAP_ROUNDS = ((1, 4), (4, 12), (12, 40), (40, 100))
SNAP_CANDIDATES = SNAP_ROUNDS[-1][1]
#: Well-connected points kept with a build, and points sampled to find them.
ANCHORS, ANCHOR_SAMPLE = 3, 64
#: Snapping decisions remembered per engine (the same stops are asked again and again;
#: the least recently asked go first).
SNAP_MEMORY = 100_000
EARTH_RADIUS_M = 6_371_008.8

LatLng = tuple[float, float]


class RoadsError(Exception):
    """A region could not be built or read: the message says why, in the operator's words."""


def _profiles_dir() -> Path:
    import osrm  # import here: the engine loads a native library; only road users pay for it

    return Path(osrm.__file__).parent / "share" / "profiles"


def build(
    pbf: Path,
    out_dir: Path,
    *,
    profile: str = "car",
    progress: Callable[[str], None] = lambda line: None,
) -> Path:
    """Build `pbf` for `profile` into `out_dir` (made here, must not exist); returns the
    graph's base path (`out_dir/region.osrm`). Raises RoadsError with the tool's last words
    when the extract cannot be read; `out_dir` is then removed."""
    if profile not in PROFILES:
        raise RoadsError(f"Unknown profile {profile!r}: one of {', '.join(PROFILES)}.")
    pbf = Path(pbf)
    if not pbf.is_file():
        raise RoadsError(f"No such file: {pbf}.")
    if not pbf.name.endswith(".osm.pbf"):
        raise RoadsError(f"{pbf.name}: an OpenStreetMap extract ends in .osm.pbf.")
    out_dir.mkdir(parents=True)
    try:
        source = out_dir / "region.osm.pbf"
        shutil.copyfile(pbf, source)
        lua = _profiles_dir() / f"{profile}.lua"
        base = out_dir / "region.osrm"
        steps = [
            ("extract", ["extract", "-p", str(lua), str(source)]),
            ("contract", ["contract", str(base)]),
        ]
        for name, args in steps:
            started = time.monotonic()
            progress(f"{name}…")
            _run(name, [sys.executable, "-m", "osrm", *args], out_dir)
            progress(f"{name}: {time.monotonic() - started:.1f} s")
        bbox = extract_bbox(source)
        source.unlink()  # the graph is what serves; the extract is the operator's
        anchors = find_anchors(RoadEngine(base, anchors=()), bbox)
        if not anchors:
            raise RoadsError(f"{pbf.name}: no roads for the {profile} profile in this extract.")
        meta = {"profile": profile, "bbox": bbox, "anchors": anchors}
        (out_dir / "region.json").write_text(json.dumps(meta))
        progress(f"anchors: {len(anchors)} well-connected points")
        return base
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise


def extract_bbox(pbf: Path) -> tuple[float, float, float, float]:
    """The extract's bounding box (south, west, north, east), from its header, else from
    its nodes (a pbf written without one)."""
    import osmium  # import here: only a build reads extracts

    reader = osmium.io.Reader(str(pbf), osmium.osm.osm_entity_bits.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if box.valid():
        return (box.bottom_left.lat, box.bottom_left.lon, box.top_right.lat, box.top_right.lon)
    lats, lngs = [], []
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        lats.append(node.location.lat)
        lngs.append(node.location.lon)
    if not lats:
        raise RoadsError(f"{pbf.name}: the extract holds no nodes.")
    return (min(lats), min(lngs), max(lats), max(lngs))


def find_anchors(
    engine: RoadEngine, bbox: tuple[float, float, float, float], *, seed: int = 19
) -> list[LatLng]:
    """A few points on the region's main road network: of points spread over the extract
    (each put on its nearest road), those that reach, and are reached from, the most others."""
    south, west, north, east = bbox
    rng = random.Random(seed)  # noqa: S311 - a spread of points, not a secret
    sample = [(rng.uniform(south, north), rng.uniform(west, east)) for _ in range(ANCHOR_SAMPLE)]
    raw = engine.raw_table(sample)
    n = len(sample)
    both = [[raw.durations_s[i][j] is not None for j in range(n)] for i in range(n)]
    score = [sum(both[i][j] and both[j][i] for j in range(n)) for i in range(n)]
    best = sorted(range(n), key=lambda i: -score[i])[:ANCHORS]
    return [raw.snapped[i] for i in best if score[i] > 1]


def _run(step: str, command: list[str], cwd: Path) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - our interpreter, the wheel's tool, our paths
            command, cwd=cwd, capture_output=True, text=True, timeout=STEP_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise RoadsError(f"osrm-{step} took longer than {STEP_TIMEOUT_S} s.") from None
    if done.returncode != 0:
        said = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        why = "\n".join(said[-5:]) or f"exit status {done.returncode}"
        raise RoadsError(f"osrm-{step} failed:\n{why}")


@dataclass(frozen=True)
class RoadTable:
    """Seconds and metres between every pair of points (None: no road joins them), and
    where on the road network each point was snapped (lat, lng) with how far away (m);
    `cut_off[i]`: point i joins no road of the main network within the snapping distance."""

    durations_s: list[list[float | None]]
    distances_m: list[list[float | None]]
    snapped: list[LatLng]
    snapped_off_m: list[float]
    cut_off: list[bool] = field(default_factory=list)


@dataclass(frozen=True)
class Snap:
    """Where a point joins the road network: the road point, how far it is, and whether it
    is on the main network (False: nothing within the snapping distance is)."""

    at: LatLng
    off_m: float
    connected: bool


class _Memory:
    """A bounded map, the least recently used entry out first; safe across threads (the
    web process serves many requests with one engine)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys) -> dict:
        with self._lock:
            found = {}
            for key in keys:
                value = self._items.get(key)
                if value is not None:
                    self._items.move_to_end(key)
                    found[key] = value
            return found

    def put_many(self, found: dict) -> None:
        with self._lock:
            for key, value in found.items():
                self._items[key] = value
                self._items.move_to_end(key)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class RoadRoute:
    """The road path through the points in order: (lat, lng) vertices, metres, seconds."""

    path: list[LatLng]
    distance_m: float
    duration_s: float


class RoadEngine:
    """One built region, loaded in this process (memory-mapped by OSRM)."""

    def __init__(
        self, base: Path, *, anchors: Sequence[LatLng] | None = None, max_snap_m: float = MAX_SNAP_M
    ) -> None:
        import osrm  # import here: see _profiles_dir

        if not Path(f"{base}.hsgr").is_file():
            raise RoadsError(f"{base}: not a built region (no contracted graph).")
        self.base = Path(base)
        self._osrm = osrm
        self._engine = osrm.OSRM(storage_config=str(base), use_shared_memory=False, algorithm="CH")
        if anchors is None:
            meta = Path(base).parent / "region.json"
            anchors = json.loads(meta.read_text())["anchors"] if meta.is_file() else ()
        self.anchors: tuple[LatLng, ...] = tuple((float(a), float(b)) for a, b in anchors)
        self.max_snap_m = max_snap_m
        self._snaps = _Memory(SNAP_MEMORY)
        self._road_joined = _Memory(SNAP_MEMORY)

    def raw_table(self, points: Sequence[LatLng]) -> RoadTable:
        """The engine's own table between `points`: each on its nearest road, whatever
        that road joins (what `manage.py roads_table` prints)."""
        if not points:
            return RoadTable([], [], [], [], [])
        answer = self._ask_table(points, annotations=["duration", "distance"])
        if answer["code"] != "Ok":
            raise RoadsError(f"the road engine answered {answer['code']}")
        sources = answer["sources"]
        return RoadTable(
            # OSRM's cells are already floats, or None where no road joins two points
            durations_s=[list(row) for row in answer["durations"]],
            distances_m=[list(row) for row in answer["distances"]],
            snapped=[(s["location"][1], s["location"][0]) for s in sources],
            snapped_off_m=[float(s["distance"]) for s in sources],
            cut_off=[False] * len(points),
        )

    def _ask_table(self, points: Sequence[LatLng], **params):
        """OSRM's table, each point looked for within `max_snap_m` of a road first: an
        unbounded search for the nearest road costs about six times as much, and is only
        needed for a point further than that from any road (asked again without a bound)."""
        coordinates = [(lng, lat) for lat, lng in points]
        try:
            return self._engine.Table(
                self._osrm.TableParameters(
                    coordinates=coordinates, radiuses=[self.max_snap_m] * len(points), **params
                )
            )
        except RuntimeError as exc:
            if "NoSegment" not in str(exc):
                raise
        return self._engine.Table(self._osrm.TableParameters(coordinates=coordinates, **params))

    def table(self, points: Sequence[LatLng], *, remember: bool = True) -> RoadTable:
        """The table between `points`, each first put on the main road network (`snap`):
        None remains only where a point has no connected road within `max_snap_m`.
        `remember` False: the points' snaps are not kept (a van's passing positions).

        Cost: one table when every point is on the main network or was snapped before
        (the anchor rides along to tell which are), a second one when some were moved."""
        if not points:
            return RoadTable([], [], [], [], [])
        key = [(round(lat, 6), round(lng, 6)) for lat, lng in points]
        known = self._snaps.get_many(key)
        if self.anchors and len(known) < len(set(key)):
            anchor = self.anchors[0]
            asked = [known[k].at if k in known else k for k in key]
            raw = self.raw_table([*asked, anchor])
            last = len(asked)
            found = {}
            for i, k in enumerate(key):
                if k in known or k in found:
                    continue
                off = haversine_m(k, raw.snapped[i])
                joined = off <= self.max_snap_m and raw.durations_s[i][last] is not None
                if joined and raw.durations_s[last][i] is not None:
                    found[k] = Snap(raw.snapped[i], off, True)
            if remember:
                self._snaps.put_many(found)
            known |= found
            if all(k in known and known[k].connected for k in key):  # nobody moved or cut
                snaps = [known[k] for k in key]
                return RoadTable(
                    durations_s=[row[:last] for row in raw.durations_s[:last]],
                    distances_m=[row[:last] for row in raw.distances_m[:last]],
                    snapped=[s.at for s in snaps],
                    snapped_off_m=[s.off_m for s in snaps],
                    cut_off=[False] * last,
                )
        snaps = self._snapped(key, known, remember=remember)
        raw = self.raw_table([s.at for s in snaps])
        cut_off = [not s.connected for s in snaps]
        for i, cut in enumerate(cut_off):  # no road joins it to the rest: no time either way
            if cut:
                for table in (raw.durations_s, raw.distances_m):
                    for j in range(len(snaps)):
                        if j != i:
                            table[i][j] = table[j][i] = None
        return RoadTable(
            durations_s=raw.durations_s,
            distances_m=raw.distances_m,
            snapped=[s.at for s in snaps],
            snapped_off_m=[s.off_m for s in snaps],
            cut_off=cut_off,
        )

    def snap(self, points: Sequence[LatLng], *, remember: bool = True) -> list[Snap]:
        """Where each point joins the main road network (remembered per engine unless
        `remember` is False)."""
        key = [(round(lat, 6), round(lng, 6)) for lat, lng in points]
        return self._snapped(key, self._snaps.get_many(key), remember=remember)

    def _snapped(self, key: list[LatLng], known: dict, *, remember: bool) -> list[Snap]:
        todo = sorted(set(key) - known.keys())
        found = self._snap_new(todo) if todo else {}
        if remember:
            self._snaps.put_many(found)
        known = {**known, **found}
        return [known[k] for k in key]

    def _snap_new(self, points: list[LatLng]) -> dict[LatLng, Snap]:
        joined, nearest = self._joined(points)
        if not self.anchors:  # a build without anchors: the nearest road, as OSRM does
            return {p: Snap(at, off, True) for p, (at, off) in zip(points, nearest, strict=True)}
        out: dict[LatLng, Snap] = {}
        cut = []
        for point, (at, off), ok in zip(points, nearest, joined, strict=True):
            if ok and off <= self.max_snap_m:
                out[point] = Snap(at, off, True)
            else:
                cut.append(point)
        if cut:
            around = dict(zip(cut, self._nearest(cut, SNAP_CANDIDATES), strict=True))
            # in rounds, nearest first: most points join one of their next few roads
            for start, stop in SNAP_ROUNDS:
                flat = [
                    (point, at, off)
                    for point in cut
                    if point not in out
                    for at, off in around[point][start:stop]  # [0]: OSRM's own, cut off
                    if off <= self.max_snap_m
                ]
                good = self._roads_joined({at for _, at, _ in flat})
                for point, at, off in flat:
                    if good[at] and point not in out:
                        out[point] = Snap(at, off, True)
            first = dict(zip(points, nearest, strict=True))
            for point in cut:
                if point not in out:
                    out[point] = Snap(*first[point], False)
        return out

    def _nearest(self, points: list[LatLng], number: int) -> list[list[tuple[LatLng, float]]]:
        """For each point, its `number` nearest road points (lat, lng) and how far (m),
        nearest first; none further than `max_snap_m`."""
        out = []
        for lat, lng in points:
            params = self._osrm.NearestParameters(
                coordinates=[(lng, lat)], radiuses=[self.max_snap_m]
            )
            params.number_of_results = number
            try:
                answer = self._engine.Nearest(params)
            except RuntimeError as exc:
                if "NoSegment" not in str(exc):
                    raise RoadsError(f"the road engine failed near {lat},{lng}: {exc}") from None
                out.append([])  # no road within max_snap_m: nothing to try
                continue
            out.append(
                [
                    ((float(w["location"][1]), float(w["location"][0])), _metres((lat, lng), w))
                    for w in answer["waypoints"]
                ]
            )
        return out

    def _roads_joined(self, roads: set[LatLng]) -> dict[LatLng, bool]:
        """Whether each road point joins the main network; neighbouring cut-off points
        share their candidates, so each is asked once (and remembered per engine)."""
        known = self._road_joined.get_many(roads)
        todo = sorted(roads - known.keys())
        found = dict(zip(todo, self._joined(todo)[0], strict=True)) if todo else {}
        self._road_joined.put_many(found)
        return {**known, **found}

    def _joined(self, points: list[LatLng]) -> tuple[list[bool], list[tuple[LatLng, float]]]:
        """Whether each point, on its nearest road, reaches every anchor and is reached from
        each; and that road point (lat, lng) with how far it is (m)."""
        # The anchors are on one strongly connected network: reaching one both ways is
        # reaching them all; the others are for a build whose first anchor went wrong.
        anchors = self.anchors[:1]
        n, k = len(points), len(anchors)
        located = [*points, *anchors]
        mine, theirs = list(range(n)), list(range(n, n + k))
        answers = [
            self._ask_table(
                located, sources=sources, destinations=destinations, annotations=["duration"]
            )
            for sources, destinations in ((mine, theirs or mine[:1]), (theirs or mine[:1], mine))
        ]
        out, back = answers[0]["durations"], answers[1]["durations"]
        nearest = [
            ((float(w["location"][1]), float(w["location"][0])), _metres(p, w))
            for p, w in zip(points, answers[0]["sources"], strict=True)
        ]
        joined = [
            all(v is not None for v in out[i]) and all(row[i] is not None for row in back)
            for i in range(n)
        ]
        return joined, nearest

    def route(self, points: Sequence[LatLng], *, remember: bool = True) -> RoadRoute | None:
        """The road path through `points` in order, each put on the main road network
        first; None when no road joins them (a point cut off from the network: far from
        any road of the region, or on a piece of road that leads nowhere)."""
        if len(points) < 2:
            return None
        snaps = self.snap(points, remember=remember)
        if not all(s.connected for s in snaps):
            return None
        try:
            answer = self._engine.Route(
                self._osrm.RouteParameters(
                    coordinates=[(lng, lat) for lat, lng in (s.at for s in snaps)],
                    geometries="geojson",
                    overview="full",
                )
            )
        except RuntimeError:  # NoRoute and friends are raised, not answered
            return None
        if answer["code"] != "Ok" or not answer["routes"]:
            return None
        best = answer["routes"][0]
        path = [(float(lat), float(lng)) for lng, lat in best["geometry"]["coordinates"]]
        return RoadRoute(path, float(best["distance"]), float(best["duration"]))


def _metres(point: LatLng, waypoint) -> float:
    """How far the road point is from `point`: OSRM says so; measured when it does not."""
    try:
        return float(waypoint["distance"])
    except (KeyError, TypeError, ValueError):
        return haversine_m(point, (waypoint["location"][1], waypoint["location"][0]))


def haversine_m(a: LatLng, b: LatLng) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2
    h += math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
