"""Which road regions serve on this machine, and their engines (read-only).

A region is a name and a profile: `ROADS_DIR/<name>/<profile>/current` is a symbolic link
to the build that serves (`geo.services.region_build` makes them). Engines are loaded once
per process and build; the link is read on each use, so a rebuild made by `manage.py
roads_import` reaches a running web process on its next table.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from geo.engine import PROFILES, RoadEngine, RoadsError

# Address search (its own module), for callers to import from here.
from geo.selectors.addresses import Candidate as Candidate
from geo.selectors.addresses import address_regions as address_regions
from geo.selectors.addresses import address_search as address_search

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
STAMP = "%Y%m%dT%H%M%S%fZ"

_engines: dict[Path, RoadEngine] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Region:
    name: str
    profile: str
    built_at: dt.datetime
    base: Path  # the graph's base path, region.osrm

    @property
    def label(self) -> str:
        return f"{self.name} ({self.profile})"


def roads_dir() -> Path:
    return Path(settings.ROADS_DIR)


def check_name(name: str) -> None:
    if not NAME.match(name or ""):
        raise RoadsError(
            f"Region name {name!r}: lower-case letters, digits and dashes, up to 63 characters."
        )


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise RoadsError(f"Unknown profile {profile!r}: one of {', '.join(PROFILES)}.")


def region_home(name: str, profile: str) -> Path:
    check_name(name)
    check_profile(profile)
    return roads_dir() / name / profile


def region_of(name: str, profile: str = "car") -> Region | None:
    """The region serving as `name` for `profile`, or None when none is built."""
    link = region_home(name, profile) / "current"
    if not link.is_symlink():
        return None
    target = link.resolve()
    base = target / "region.osrm"
    if not Path(f"{base}.hsgr").is_file():
        return None
    built = dt.datetime.strptime(target.name, STAMP).replace(tzinfo=dt.UTC)
    return Region(name, profile, built, base)


def regions() -> list[Region]:
    """Every region built on this machine, by name, then profile."""
    if not roads_dir().is_dir():
        return []
    found = (
        region_of(home.name, profile)
        for home in sorted(roads_dir().iterdir())
        if NAME.match(home.name)
        for profile in PROFILES
    )
    return [r for r in found if r is not None]


def region_engine(name: str, profile: str = "car") -> RoadEngine:
    """The engine of the region serving as `name` for `profile` (loaded once per build and
    process). Raises RoadsError when it is not built."""
    region = region_of(name, profile)
    if region is None:
        raise RoadsError(
            f"No region {name!r} ({profile}) is built here: run manage.py roads_import."
        )
    with _lock:
        engine = _engines.get(region.base)
        if engine is None:
            engine = _engines[region.base] = RoadEngine(region.base)
            # the builds this region served before: their files go, so do their engines
            home = region.base.parent.parent.parent
            for stale in [b for b in _engines if b != region.base and b.is_relative_to(home)]:
                del _engines[stale]
        return engine
