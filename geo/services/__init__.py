"""Road regions on this machine: built from OpenStreetMap extracts, served in process.

A region lives under ROADS_DIR as `<name>/<profile>/builds/<stamp>/region.osrm*`, and
`<name>/<profile>/current` is a symbolic link to the build that serves. A rebuild is made
beside the one serving and the link is swapped in one rename, so readers see the old
region or the new one, never half of one; a build that fails leaves the old region serving.
Older builds are removed once a newer one serves (KEEP_BUILDS kept).

A region's addresses (geo.services.addresses) belong to its name, not to a profile: every
build of any profile imports them again from the same extract, in one transaction, before
the new build serves; if that fails, the build is thrown away and the old one serves on.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from geo.engine import RoadsError, build
from geo.selectors import STAMP, Region, region_home, region_of
from geo.services.addresses import addresses_import

KEEP_BUILDS = 2


def region_build(
    name: str,
    pbf: Path,
    *,
    profile: str = "car",
    progress: Callable[[str], None] = lambda line: None,
) -> Region:
    """Build `pbf` as region `name` for `profile`, import its addresses (the region's,
    whatever the profile) and make it the one serving."""
    home = region_home(name, profile)
    stamp = dt.datetime.now(dt.UTC).strftime(STAMP)
    out = home / "builds" / stamp
    try:
        (home / "builds").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RoadsError(f"Cannot write under ROADS_DIR ({home}): {exc.strerror}.") from None
    build(Path(pbf), out, profile=profile, progress=progress)
    try:
        addresses_import(name, Path(pbf), progress=progress)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    link = home / "current"
    fresh = home / f".current-{stamp}"
    fresh.symlink_to(out.relative_to(home))
    os.replace(fresh, link)  # atomic: the old build serves until this instant
    progress(f"region {name!r} ({profile}) now serves from {out.name}")
    _prune(home, keep=out)
    region = region_of(name, profile)
    assert region is not None  # just swapped in
    return region


def _prune(home: Path, *, keep: Path) -> None:
    builds = sorted((home / "builds").iterdir(), key=lambda p: p.name, reverse=True)
    for old in [b for b in builds if b != keep][KEEP_BUILDS - 1 :]:
        shutil.rmtree(old, ignore_errors=True)
