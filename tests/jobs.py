"""Job functions the task tests enqueue (imported by the worker by dotted path)."""

from django.db import connection

from accounts.models import User


def where_am_i(label: str) -> dict:
    return {
        "label": label,
        "schema": connection.schema_name,
        "emails": sorted(User.objects.values_list("email", flat=True)),
    }


def solve_a_line(stops: int) -> dict:
    """Run the optimiser's race (worker subprocesses) from inside a django-q2 worker,
    whose processes are daemonic and may not start `multiprocessing` children."""
    import numpy as np

    from routing.optimiser.problem import Job, Problem, Vehicle
    from routing.optimiser.solver import RaceReport, solve

    pos = np.arange(stops + 1)
    matrix = np.abs(pos[:, None] - pos[None, :]) * 1000
    problem = Problem(
        durations_s=matrix // 10,
        distances_m=matrix,
        vehicles=[Vehicle("van", start=0, end=0)],
        jobs=[Job(f"j{i}", location=i) for i in range(1, stops + 1)],
    )
    report = RaceReport()
    solution = solve(problem, seconds=1, workers=2, report=report)
    return {
        "schema": connection.schema_name,
        "distance_m": solution.distance_m,
        "engines": [run.engine for run in report.runs],
        "errors": [run.error for run in report.runs],
    }


def log_a_line(message: str) -> None:
    """Logs once, so that a test can see what a job's log records carry."""
    import logging

    logging.getLogger("tests.jobs").warning(message)
