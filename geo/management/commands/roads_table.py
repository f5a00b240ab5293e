"""`manage.py roads_table --region R --json LON,LAT LON,LAT …`: the road engine's own table
between the points, as OSRM answers it (seconds and metres, null where no road joins two
points, no time-of-day factor): for operators, and for checking the engine from outside."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from geo.engine import PROFILES, RoadsError
from geo.selectors import region_engine


def _point(text: str) -> tuple[float, float]:
    """ "LON,LAT" -> (lat, lng), refused unless both are numbers on the globe."""
    try:
        lon, lat = (float(part) for part in text.split(","))
    except ValueError:
        raise CommandError(f"{text!r}: a point is LON,LAT, e.g. 24.9384,60.1699") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CommandError(f"{text!r}: longitude -180..180, latitude -90..90")
    return lat, lon


class Command(BaseCommand):
    help = "Print the road engine's table (durations in s, distances in m) between points."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--region", required=True)
        parser.add_argument("--profile", choices=PROFILES, default="car")
        parser.add_argument(
            "--snapped",
            action="store_true",
            help="put each point on the main road network first, as plans do",
        )
        parser.add_argument("--json", action="store_true", help="JSON output (the default)")
        parser.add_argument("points", nargs="+", metavar="LON,LAT")

    def handle(
        self, *args, region: str, profile: str, snapped: bool, points: list[str], **options
    ) -> None:
        coordinates = [_point(p) for p in points]
        try:
            engine = region_engine(region, profile)
            table = engine.table(coordinates) if snapped else engine.raw_table(coordinates)
        except RoadsError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            json.dumps({"durations": table.durations_s, "distances": table.distances_m})
        )
