"""`manage.py roads_import FILE.osm.pbf [--profile car|bicycle|foot] [--name REGION]`:
build a road region from an OpenStreetMap extract (https://download.geofabrik.de has one
per country and region), and import the extract's addresses for the region (whatever the
profile; replaced in one transaction). A rebuild swaps in atomically; a bad file is an
error and leaves the region that was serving, and its addresses."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geo.engine import PROFILES, RoadsError
from geo.services import region_build


class Command(BaseCommand):
    help = (
        "Build a road region (travel times and paths) and import its addresses (address "
        "search) from an OpenStreetMap extract."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="an OpenStreetMap extract, .osm.pbf")
        parser.add_argument("--profile", choices=PROFILES, default="car")
        parser.add_argument("--name", help="the region's name (default: the file's, e.g. helsinki)")

    def handle(self, *args, file: Path, profile: str, name: str | None, **options) -> None:
        name = name or file.name.removesuffix(".osm.pbf").lower().replace("_", "-")
        started = time.monotonic()
        try:
            region = region_build(
                name, file, profile=profile, progress=lambda line: self.stdout.write(line)
            )
        except RoadsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"region {region.name} ({region.profile}) built in "
                f"{time.monotonic() - started:.1f} s"
            )
        )
