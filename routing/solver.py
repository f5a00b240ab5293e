"""The optimiser's front door: race engines on every core and keep the best feasible plan.

Which engines race is decided by the problem and by measurement (docs/benchmarks.md):

* PyVRP can state the whole problem: one PyVRP search per core with different seeds.
  The first is strict (every required job must be served); the others are relaxed
  (required jobs carry a prohibitive prize instead), so that an over-constrained day
  still yields the best partial plan in the same time rather than nothing.
* Otherwise (breaks, a maximum number of stops, ...): OR-Tools, one differently
  configured search per core.

Each engine runs in its own subprocess (see `routing.worker`); every answer is timed
and checked by `routing.schedule`, and the best is the one that serves the most valued
jobs at the lowest cost with no broken constraint.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .engines.pyvrp_engine import penalty_of, unsupported
from .problem import Problem, RoutePlan, Solution
from .schedule import solution_of

#: Seconds a worker needs beyond its search to start, build its model and answer.
_GRACE_S = 5.0


@dataclass
class EngineRun:
    engine: str
    seed: int
    variant: int = 0
    relaxed: bool = False
    seconds: float = 0.0
    error: str | None = None
    objective: float | None = None
    peak_rss_kb: int = 0


@dataclass
class RaceReport:
    runs: list[EngineRun] = field(default_factory=list)
    winner: EngineRun | None = None

    @property
    def peak_rss_kb(self) -> int:
        """The memory of all workers at once (they run side by side)."""
        return sum(r.peak_rss_kb for r in self.runs)


def workers_available() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def entries_for(problem: Problem, *, seed: int, workers: int) -> list[EngineRun]:
    """The engine configurations to race for `problem` on `workers` cores."""
    if unsupported(problem) is None:
        return [EngineRun("pyvrp", seed + k, relaxed=k > 0) for k in range(workers)]
    return [EngineRun("ortools", seed + k, variant=k % 2) for k in range(workers)]


def objective(problem: Problem, solution: Solution) -> float:
    """What the race minimises: costs plus the penalty of every job left out."""
    items = {i.id: i for i in (*problem.jobs, *problem.shipments)}
    return solution.cost + sum(penalty_of(items[u.id]) for u in solution.unassigned)


def solve(
    problem: Problem,
    *,
    seconds: float,
    seed: int = 1,
    workers: int | None = None,
    report: RaceReport | None = None,
) -> Solution:
    """The best plan found for `problem` within about `seconds` of wall-clock time.

    Never raises for a hard problem: jobs that cannot be served come back unassigned
    with their reason. `report`, when given, is filled with what each engine did.
    """
    started = time.perf_counter()
    workers = workers or workers_available()
    report = report if report is not None else RaceReport()
    if not problem.jobs and not problem.shipments:
        return Solution([], [], "none")
    runs = entries_for(problem, seed=seed, workers=workers)
    results = _race(problem, runs, seconds=seconds)
    report.runs.extend(runs)
    best: tuple[float, Solution, EngineRun] | None = None
    for run, plans in zip(runs, results, strict=True):
        if plans is None:
            continue
        solution = solution_of(problem, plans, engine=run.engine)
        if not solution.feasible:
            run.error = f"infeasible answer: {solution.routes[0].violations[:1]}"
            continue
        run.objective = objective(problem, solution)
        if best is None or run.objective < best[0]:
            best = (run.objective, solution, run)
    if best is None:
        # every PyVRP search failed (a problem it states but cannot serve in full and a
        # relaxed run that crashed): OR-Tools always returns a partial plan
        remaining = max(1.0, seconds - (time.perf_counter() - started))
        fallback = [EngineRun("ortools", seed, variant=0)]
        plans = _race(problem, fallback, seconds=remaining)[0]
        report.runs.extend(fallback)
        if plans is None:
            errors = "; ".join(f"{r.engine}: {r.error}" for r in report.runs)
            raise RuntimeError(f"no engine produced a plan ({errors})")
        solution = solution_of(problem, plans, engine="ortools")
        best = (objective(problem, solution), solution, fallback[0])
    _, solution, report.winner = best
    solution.seconds = time.perf_counter() - started
    return solution


def _race(problem: Problem, runs: list[EngineRun], *, seconds: float) -> list:
    """Start every run in its own process at once; collect each one's plans (or None)."""
    processes = []
    deadline = time.time() + seconds
    for run in runs:
        request = {
            "problem": problem,
            "engine": run.engine,
            "deadline": deadline,
            "seed": run.seed,
            "variant": run.variant,
            "relaxed": run.relaxed,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "routing.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        processes.append((proc, pickle.dumps(request)))
    timeout = seconds + _GRACE_S + max(len(p) for _, p in processes) / 5e7
    with ThreadPoolExecutor(len(processes)) as pool:  # feed and drain every pipe at once
        answers = list(pool.map(lambda pp: _collect(*pp, timeout=timeout), processes))
    results: list[list[RoutePlan] | None] = []
    for run, (answer, error) in zip(runs, answers, strict=True):
        if answer is None:
            run.error = error
            results.append(None)
            continue
        run.seconds, run.peak_rss_kb = answer["seconds"], answer["peak_rss_kb"]
        run.error = answer["error"]
        results.append(answer["plans"])
    return results


def _collect(proc: subprocess.Popen, payload: bytes, *, timeout: float):
    try:
        out, err = proc.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, "timed out"
    if proc.returncode != 0 or not out:
        return None, f"exit {proc.returncode}: {err.decode(errors='replace')[-500:]}"
    return pickle.loads(out), None  # noqa: S301 - written by our own worker process
