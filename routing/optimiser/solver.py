"""The optimiser's front door: race engines on every core and keep the best feasible plan.

Which engines race is decided by the problem and by measurement (docs/benchmarks.md):

* PyVRP can state the whole problem: one PyVRP search per core with different seeds.
  When the day's load comes close to what the fleet can carry, only the first search is
  strict (every required job served); the others are relaxed (required jobs carry a
  prohibitive prize instead), so an over-constrained day still yields the best partial
  plan in the same time rather than nothing.
* Otherwise (breaks, a maximum number of stops, ...): OR-Tools, one differently
  configured search per core.

Each engine runs in its own subprocess (see `routing.optimiser.worker`); every answer is timed
and checked by `routing.optimiser.schedule`, and the best is the one that serves the most valued
jobs at the lowest cost with no broken constraint.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .engines.pyvrp_engine import unsupported
from .mend import checked, reinserted
from .problem import Problem, RoutePlan, Solution, Step, StepKind, capacity_of, padded, penalty_of
from .schedule import UNREACHABLE_S, alone, items_with_steps, solution_of

DAY_S = 24 * 3600

#: Parts the budget is cut into; between parts every search restarts from the best plan
#: found so far. Measured on six instances at 10 s (R109, RC201, R205, RC105, city200,
#: city500): 2 or 3 phases won on one, lost on two, tied on three, so the default is 1.
PHASES = 1
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


def entries_for(
    problem: Problem, *, seed: int, workers: int, tight: bool = False
) -> list[EngineRun]:
    """The engine configurations to race for `problem` on `workers` cores.

    PyVRP searches differ by seed. When the fleet may be too small for the day (`tight`),
    all but the first are relaxed, so a partial plan is ready if the full one is not.
    """
    if unsupported(problem) is None:
        return [EngineRun("pyvrp", seed + k, relaxed=tight and k > 0) for k in range(workers)]
    return [EngineRun("ortools", seed + k, variant=k % 2) for k in range(workers)]


def is_tight(problem: Problem, margin: float = 0.97) -> bool:
    """Whether the day's load comes close to (or beyond) what the whole fleet can carry."""
    dims = problem.dimensions
    if not dims:
        return False
    load = [0] * dims
    for job in problem.jobs:
        for k, (d, p) in enumerate(
            zip(padded(job.delivery, dims), padded(job.pickup, dims), strict=True)
        ):
            load[k] += max(d, p)
    for shipment in problem.shipments:
        for k, a in enumerate(padded(shipment.amount, dims)):
            load[k] += a
    room = [sum(capacity_of(v, dims)[k] for v in problem.vehicles) for k in range(dims)]
    return any(need > margin * have for need, have in zip(load, room, strict=True))


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
    phases: int = PHASES,
    report: RaceReport | None = None,
    initial: list[RoutePlan] | None = None,
    tight: bool | None = None,
) -> Solution:
    """The best plan found for `problem` within about `seconds` of wall-clock time.

    A hard problem never raises: jobs that cannot be served come back unassigned with
    their reason (RuntimeError only when every engine crashed). `phases` > 1 shares the
    best plan between the searches that many times (see `_race`). `report`, when given,
    is filled with what each engine did. `initial` (plans of `problem`, feasible or not)
    warm-starts every search; `tight` True races relaxed searches beside the strict one
    whatever the load (a balanced solve's caps can be as hard to meet as a full fleet).
    """
    started = time.perf_counter()
    workers = workers or workers_available()
    report = report if report is not None else RaceReport()
    # Jobs that no vehicle could serve even on a route of its own are left out before the
    # search (solution_of gives their reason): they only slow the engines down, and a
    # strict PyVRP search could never finish them.
    keep = [(steps, item) for steps, item in items_with_steps(problem) if alone(problem, steps)[0]]
    work, back = _subset(problem, keep)
    if not work.jobs and not work.shipments:
        return solution_of(problem, [], engine="none")
    work = _without_rush(work)
    tight = is_tight(work) if tight is None else tight
    runs = entries_for(work, seed=seed, workers=workers, tight=tight)
    remaining = seconds - (time.perf_counter() - started)
    whole = len(keep) == len(problem.jobs) + len(problem.shipments)  # indexes unchanged
    results = _race(
        work,
        runs,
        seconds=remaining,
        phases=phases if len(runs) > 1 else 1,
        initial=initial if whole else None,
    )
    report.runs.extend(runs)
    best = _best(problem, runs, [back(p) for p in results])
    if best is None:
        # No engine answered with a feasible plan (a day PyVRP states but cannot serve in
        # full, without a relaxed run to fall back on). A second, shorter race: relaxed
        # PyVRP and OR-Tools, both always able to leave jobs out (both run even on one
        # core: this is the path where one engine has already failed).
        remaining = max(1.0, seconds / 2)
        fallback = [EngineRun("ortools", seed, variant=0)]
        if unsupported(work) is None:
            fallback.insert(0, EngineRun("pyvrp", seed, relaxed=True))
        results = _race(work, fallback, seconds=remaining)
        report.runs.extend(fallback)
        best = _best(problem, fallback, [back(p) for p in results])
    if best is None:
        errors = "; ".join(f"{r.engine}: {r.error}" for r in report.runs)
        raise RuntimeError(f"no engine produced a plan ({errors})")
    _, solution, report.winner = best
    solution.seconds = time.perf_counter() - started
    return solution


def _without_rush(problem: Problem) -> Problem:
    """What the engines search: rush hours folded into the durations as the mean factor of
    the working day (from the first shift's start to the last one's end). The plans they
    return are timed leg by leg with the real factors (`_best`), and mended where the mean
    was too kind."""
    if not problem.rush:
        return problem
    starts = [v.shift.start_s for v in problem.vehicles]
    ends = [min(v.shift.end_s, v.shift.start_s + DAY_S) for v in problem.vehicles]
    factor = problem.mean_rush_factor(min(starts), max(ends))
    dur = problem.durations_s
    scaled = np.where(dur >= UNREACHABLE_S, dur, np.rint(dur * factor)).astype(np.int64)
    return Problem(
        durations_s=scaled,
        distances_m=problem.distances_m,
        vehicles=problem.vehicles,
        jobs=problem.jobs,
        shipments=problem.shipments,
    )


def _jobs_in(plans: list[RoutePlan]) -> set[int]:
    return {s.index for p in plans for s in p.steps if s.kind is StepKind.JOB}


def _best(problem: Problem, runs: list[EngineRun], results: list) -> tuple | None:
    best = None
    for run, plans in zip(runs, results, strict=True):
        if plans is None:
            continue
        if problem.rush:  # timed with the real factors: what the mean hid is mended, and
            # the stops mending gave up are offered to every van (another may have time)
            mended = [checked(problem, p) for p in plans]
            dropped = _jobs_in(plans) - _jobs_in(mended)
            plans = reinserted(problem, mended, sorted(dropped)) if dropped else mended
        solution = solution_of(problem, plans, engine=run.engine)
        if not solution.feasible:
            broken = [v for r in solution.routes for v in r.violations]
            run.error = f"infeasible answer: {broken[0].message}"
            continue
        run.objective = objective(problem, solution)
        if best is None or run.objective < best[0]:
            best = (run.objective, solution, run)
    return best


def _subset(problem: Problem, keep: list) -> tuple[Problem, Callable]:
    """`problem` with only the items in `keep`, and a function that maps a plan of the
    subset back to the indexes of `problem`."""
    if len(keep) == len(problem.jobs) + len(problem.shipments):
        return problem, lambda plans: plans
    jobs = [steps[0].index for steps, _ in keep if steps[0].kind is StepKind.JOB]
    shipments = [steps[0].index for steps, _ in keep if steps[0].kind is not StepKind.JOB]
    subset = Problem(
        durations_s=problem.durations_s,
        distances_m=problem.distances_m,
        vehicles=problem.vehicles,
        jobs=[problem.jobs[i] for i in jobs],
        shipments=[problem.shipments[i] for i in shipments],
        rush=problem.rush,
    )

    def back(plans: list[RoutePlan] | None) -> list[RoutePlan] | None:
        if plans is None:
            return None
        origin = {StepKind.JOB: jobs, StepKind.PICKUP: shipments, StepKind.DELIVERY: shipments}
        return [
            RoutePlan(
                p.vehicle,
                [
                    s if s.kind is StepKind.BREAK else Step(s.kind, origin[s.kind][s.index])
                    for s in p.steps
                ],
            )
            for p in plans
        ]

    return subset, back


def _race(
    problem: Problem,
    runs: list[EngineRun],
    *,
    seconds: float,
    phases: int = 1,
    initial: list[RoutePlan] | None = None,
) -> list:
    """Run every entry in its own process at once; each one's final plans (or None).

    With `phases` > 1 the budget is cut in parts; after each part every process starts
    the next from the best plan any of them has found so far (a new seed each time), so a
    search stuck in a poor region is not wasted.
    """
    # The deadlines sent to the workers are on the monotonic clock, which every process on
    # the machine shares and which a step of the wall clock (NTP, a test's moved clock)
    # does not move: a wall-clock deadline could leave a worker a year, or nothing.
    started = time.monotonic()
    # the directory that holds the `routing` package, where `-m` finds the worker
    cwd = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    workers = []
    for _ in runs:
        # stderr to a file, not a pipe: a chatty engine cannot block; closed below
        err = tempfile.TemporaryFile()  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "routing.optimiser.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=cwd,
        )
        workers.append((proc, err))
    results: list[list[RoutePlan] | None] = [None] * len(runs)
    incumbent: tuple[float, list[RoutePlan]] | None = None
    try:
        with ThreadPoolExecutor(len(runs)) as pool:
            for phase in range(phases):
                deadline = started + seconds * (phase + 1) / phases
                requests = []
                for run in runs:
                    request = {
                        "engine": run.engine,
                        "deadline": deadline,
                        "seed": run.seed + 1000 * phase,
                        "variant": run.variant,
                        "relaxed": run.relaxed,
                    }
                    if phase == 0:
                        request["problem"] = problem
                        if initial:
                            request["initial"] = initial
                    elif incumbent is not None:
                        request["initial"] = incumbent[1]
                    requests.append(pickle.dumps(request))
                timeout = deadline - time.monotonic() + _GRACE_S + len(requests[0]) / 5e7
                calls = [
                    pool.submit(_ask, proc, payload)
                    for (proc, _), payload in zip(workers, requests, strict=True)
                ]
                for k, (run, call) in enumerate(zip(runs, calls, strict=True)):
                    answer, error = _answer(call, workers[k], timeout)
                    if answer is None:
                        run.error = run.error or error
                        continue
                    run.seconds += answer["seconds"]
                    run.peak_rss_kb = max(run.peak_rss_kb, answer["peak_rss_kb"])
                    run.error = answer["error"]
                    if answer["plans"] is None:
                        continue
                    results[k] = answer["plans"]
                    if phase == phases - 1:
                        continue  # the last phase: no one starts from the incumbent
                    value = _value(problem, answer["plans"])
                    if value is not None and (incumbent is None or value < incumbent[0]):
                        incumbent = (value, answer["plans"])
                if all(proc.poll() is not None for proc, _ in workers):
                    break
    finally:
        for proc, err in workers:
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(timeout=_GRACE_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            err.close()
    return results


def _ask(proc: subprocess.Popen, payload: bytes) -> dict:
    proc.stdin.write(payload)
    proc.stdin.flush()
    return pickle.load(proc.stdout)  # noqa: S301 - written by our own worker process


def _answer(call, worker, timeout: float) -> tuple[dict | None, str | None]:
    proc, err = worker
    try:
        return call.result(timeout=max(timeout, 0.1)), None
    except TimeoutError:
        proc.kill()  # unblocks the reading thread
        return None, "timed out"
    except (EOFError, OSError, pickle.UnpicklingError):
        proc.wait()
        err.seek(0)
        tail = err.read().decode(errors="replace")[-500:]
        return None, f"exit {proc.returncode}: {tail}"


def _value(problem: Problem, plans: list[RoutePlan]) -> float | None:
    """The objective of `plans`, or None when they break a constraint."""
    solution = solution_of(problem, plans, engine="")
    return objective(problem, solution) if solution.feasible else None
