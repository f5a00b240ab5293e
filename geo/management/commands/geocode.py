"""`manage.py geocode --region R --json "ADDRESS"`: the candidates for an address in a
region's addresses (imported with its roads by roads_import), best first, as JSON: each
with lat, lon, confidence (0..1) and the matched address. For operators, and for checking
the search from outside."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from geo.engine import RoadsError
from geo.selectors import address_regions, address_search, check_name
from geo.selectors.addresses import MAX_LIMIT, MAX_QUERY_CHARS


class Command(BaseCommand):
    help = "Search a region's addresses; prints the candidates, best first, as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--region", required=True)
        parser.add_argument("--limit", type=int, default=5, help=f"1 to {MAX_LIMIT}")
        parser.add_argument("--json", action="store_true", help="JSON output (the default)")
        parser.add_argument("address", help='e.g. "Mannerheimintie 5, 00100 Helsinki"')

    def handle(self, *args, region: str, limit: int, address: str, **options) -> None:
        try:
            check_name(region)
        except RoadsError as exc:
            raise CommandError(str(exc)) from None
        known = {r.name: r for r in address_regions()}
        if region not in known:
            names = ", ".join(sorted(known)) or "none yet"
            raise CommandError(
                f"No addresses for region {region!r} here (imported: {names}); "
                "manage.py roads_import imports a region's addresses with its roads."
            )
        if not 1 <= limit <= MAX_LIMIT:
            raise CommandError(f"--limit: 1 to {MAX_LIMIT}.")
        if not address.strip() or len(address) > MAX_QUERY_CHARS or "\x00" in address:
            raise CommandError(f"An address of 1 to {MAX_QUERY_CHARS} characters.")
        found = address_search(region, address, limit=limit)
        self.stdout.write(
            json.dumps(
                [{**c.as_dict(), "address": c.label} for c in found], ensure_ascii=False, indent=2
            )
        )
