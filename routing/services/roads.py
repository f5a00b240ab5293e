"""Road regions on this machine: built from OpenStreetMap extracts, served in process.

A region lives under ROADS_DIR as `<name>/builds/<stamp>-<profile>/region.osrm*`, and
`<name>/current` is a symbolic link to the build that serves. A rebuild is made beside the
one serving and the link is swapped in one rename, so readers see the old region or the
new one, never half of one; a build that fails leaves the old region serving. Older
builds are removed once a newer one serves (KEEP_BUILDS kept).

Engines are loaded once per process and build (the link is read on each use, so a rebuild
made by `manage.py roads_import` reaches a running web process on its next table).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from routing.optimiser.roads import PROFILES, RoadEngine, RoadsError, build

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
KEEP_BUILDS = 2

_engines: dict[Path, RoadEngine] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Region:
    name: str
    profile: str
    built_at: dt.datetime
    base: Path  # the graph's base path, region.osrm


def roads_dir() -> Path:
    return Path(settings.ROADS_DIR)


def _check_name(name: str) -> None:
    if not NAME.match(name or ""):
        raise RoadsError(
            f"Region name {name!r}: lower-case letters, digits and dashes, up to 63 characters."
        )


def region_build(
    name: str,
    pbf: Path,
    *,
    profile: str = "car",
    progress: Callable[[str], None] = lambda line: None,
) -> Region:
    """Build `pbf` as region `name` for `profile` and make it the one serving."""
    _check_name(name)
    home = roads_dir() / name
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    out = home / "builds" / f"{stamp}-{profile}"
    build(Path(pbf), out, profile=profile, progress=progress)
    link = home / "current"
    fresh = home / f".current-{stamp}"
    fresh.symlink_to(out.relative_to(home))
    os.replace(fresh, link)  # atomic: the old build serves until this instant
    progress(f"region {name!r} ({profile}) now serves from {out.name}")
    _prune(home, keep=out)
    return region_of(name)


def _prune(home: Path, *, keep: Path) -> None:
    builds = sorted((home / "builds").iterdir(), key=lambda p: p.name, reverse=True)
    for old in [b for b in builds if b != keep][KEEP_BUILDS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)


def region_of(name: str) -> Region | None:
    """The region serving as `name`, or None when none is built."""
    _check_name(name)
    link = roads_dir() / name / "current"
    if not link.is_symlink():
        return None
    target = link.resolve()
    base = target / "region.osrm"
    if not Path(f"{base}.hsgr").is_file():
        return None
    stamp, _, profile = target.name.partition("-")
    built = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=dt.UTC)
    return Region(name, profile if profile in PROFILES else "car", built, base)


def regions() -> list[Region]:
    """Every region built on this machine, by name."""
    if not roads_dir().is_dir():
        return []
    found = (region_of(p.name) for p in sorted(roads_dir().iterdir()) if NAME.match(p.name))
    return [r for r in found if r is not None]


def region_engine(name: str) -> RoadEngine:
    """The engine of the region serving as `name` (loaded once per build and process)."""
    region = region_of(name)
    if region is None:
        raise RoadsError(f"No region {name!r} is built here: run manage.py roads_import.")
    with _lock:
        engine = _engines.get(region.base)
        if engine is None:
            engine = _engines[region.base] = RoadEngine(region.base)
            # the builds this region served before: their files go, so do their engines
            home = region.base.parent.parent.parent
            for stale in [b for b in _engines if b != region.base and b.is_relative_to(home)]:
                del _engines[stale]
        return engine
