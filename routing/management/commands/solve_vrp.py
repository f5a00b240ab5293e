"""Solve a routing problem from a file, without a database (benchmarks and users)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from routing.optimiser import solomon
from routing.optimiser.solver import RaceReport, solve


class Command(BaseCommand):
    help = (
        "Solve a vehicle-routing instance file and print the routes. Solomon conventions: "
        "Euclidean distance, travel time equal to distance, at most the file's vehicle "
        "count, objective total distance."
    )
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("file")
        parser.add_argument("--format", choices=["solomon"], default="solomon")
        parser.add_argument("--seconds", type=float, default=10.0, help="time budget (wall clock)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--workers", type=int, default=None, help="processes (default: cores)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options) -> None:
        if options["seconds"] <= 0:
            raise CommandError("--seconds must be positive")
        try:
            instance = solomon.read(options["file"])
        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from exc
        except solomon.SolomonFormatError as exc:
            raise CommandError(str(exc)) from exc
        report = RaceReport()
        solution = solve(
            solomon.to_problem(instance),
            seconds=options["seconds"],
            seed=options["seed"],
            workers=options["workers"],
            report=report,
        )
        routes = [[int(v.id) for v in r.visits if v.kind == "job"] for r in solution.routes]
        result = {
            "distance": round(solomon.exact_distance(instance, routes), 4),
            "vehicles": len(routes),
            "routes": routes,
            "unassigned": sorted(int(u.id) for u in solution.unassigned),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(
            f"{instance.name}: distance {result['distance']:.2f}, "
            f"{result['vehicles']} vehicles, {len(result['unassigned'])} unassigned "
            f"({report.winner.engine if report.winner else '-'}, "
            f"{solution.seconds:.1f} s)"
        )
        for k, route in enumerate(routes, start=1):
            self.stdout.write(f"Route #{k}: {' '.join(map(str, route))}")
