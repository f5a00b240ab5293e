"""Roads from an OpenStreetMap extract, on this machine: OSRM through `osrm-bindings`.

`build` turns an extract (`.osm.pbf`) into a routable graph with the wheel's own
`osrm-extract` and `osrm-contract` (contraction hierarchies) for one profile (car,
bicycle, foot); `RoadEngine` answers tables and routes from it in this process, with no
server. Coordinates go in as (lat, lng), the way the rest of the project writes them;
OSRM's own (lng, lat) order stays inside this module.

A point the engine cannot route from or to (snapped onto a piece of road cut off from the
rest, or outside the extract) comes back as None in a table: the caller decides what that
means, nothing here turns it into zero.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("car", "bicycle", "foot")
#: How long one build step may take before it is stopped (a country extract takes long).
STEP_TIMEOUT_S = 6 * 3600

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
        source.unlink()  # the graph is what serves; the extract is the operator's
        return base
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise


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
    where on the road network each point was snapped (lat, lng) with how far away (m)."""

    durations_s: list[list[float | None]]
    distances_m: list[list[float | None]]
    snapped: list[LatLng]
    snapped_off_m: list[float]


@dataclass(frozen=True)
class RoadRoute:
    """The road path through the points in order: (lat, lng) vertices, metres, seconds."""

    path: list[LatLng]
    distance_m: float
    duration_s: float


class RoadEngine:
    """One built region, loaded in this process (memory-mapped by OSRM)."""

    def __init__(self, base: Path) -> None:
        import osrm  # import here: see _profiles_dir

        if not Path(f"{base}.hsgr").is_file():
            raise RoadsError(f"{base}: not a built region (no contracted graph).")
        self.base = Path(base)
        self._osrm = osrm
        self._engine = osrm.OSRM(storage_config=str(base), use_shared_memory=False, algorithm="CH")

    def table(self, points: Sequence[LatLng]) -> RoadTable:
        """The full table between `points` (at least one)."""
        if not points:
            return RoadTable([], [], [], [])
        answer = self._engine.Table(
            self._osrm.TableParameters(
                coordinates=[(lng, lat) for lat, lng in points],
                annotations=["duration", "distance"],
            )
        )
        if answer["code"] != "Ok":
            raise RoadsError(f"the road engine answered {answer['code']}")
        sources = answer["sources"]
        return RoadTable(
            durations_s=[[_number(v) for v in row] for row in answer["durations"]],
            distances_m=[[_number(v) for v in row] for row in answer["distances"]],
            snapped=[(s["location"][1], s["location"][0]) for s in sources],
            snapped_off_m=[float(s["distance"]) for s in sources],
        )

    def route(self, points: Sequence[LatLng]) -> RoadRoute | None:
        """The road path through `points` in order; None when no road joins them."""
        if len(points) < 2:
            return None
        try:
            answer = self._engine.Route(
                self._osrm.RouteParameters(
                    coordinates=[(lng, lat) for lat, lng in points],
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


def _number(value: object) -> float | None:
    return None if value is None else float(value)
