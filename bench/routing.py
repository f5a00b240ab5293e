"""Route quality at equal time budgets: the project against PyVRP and VROOM, same run.

Every Solomon instance in ../shared/data/solomon (10 s each) and generated city
instances of 200 and 500 stops (10 s) and 1,000 and 2,000 stops (30 s). Each solver runs
in its own fresh process, one after the other, so none competes with another for the
two cores; each answer is re-scored by the same independent checker (routing.optimiser.checker)
and, for Solomon, in double precision from the file's coordinates.

Usage: make bench-routing   (BENCH_ROUTING_ONLY=R101,city200 to run a subset;
                             BENCH_ROUTING_SCALE=0.5 to halve every budget)
Writes the table into docs/benchmarks.md between the routing markers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.optimiser import instances, solomon  # noqa: E402
from routing.optimiser.checker import check  # noqa: E402
from routing.optimiser.problem import Problem, RoutePlan, Step, StepKind  # noqa: E402
from routing.optimiser.schedule import solution_of  # noqa: E402
from routing.optimiser.worker import peak_rss_kb  # noqa: E402

SOLOMON_DIR = Path(os.environ.get("SOLOMON_DIR", ROOT.parent / "shared" / "data" / "solomon"))
SEED = 1

#: Best-known total distances under the same conventions (distance objective, double
#: precision, at most the file's vehicles). Sources: VROOM-Project/vroom-scripts
#: benchmarks/VRPTW/BKS.json ("<name>_distance", after Braysy & Gendreau 2005, Jung &
#: Moon 2002, Tan et al. 2001), except R109, R201, R205 and RC101, where the LKH-3 tours
#: published in c4v4/LKH3 (CVRPTW/TOURS/Solomon_100) re-scored in double precision are
#: shorter and feasible. The DIMACS tables truncate distances to one decimal and are
#: 0.2-0.5% lower; they are not comparable.
LITERATURE: dict[str, float] = {
    "C101": 828.94,
    "C105": 828.94,
    "C201": 591.56,
    "C205": 588.88,
    "R101": 1642.88,
    "R105": 1360.78,
    "R109": 1151.91,
    "R201": 1147.82,
    "R205": 954.16,
    "R209": 859.39,
    "RC101": 1623.58,
    "RC105": 1518.58,
    "RC201": 1265.56,
    "RC205": 1157.55,
}


# --- the solvers, each run in a fresh process ---------------------------------------------


def run_project(problem: Problem, seconds: float) -> dict:
    from routing.optimiser.solver import RaceReport, solve

    report = RaceReport()
    solution = solve(problem, seconds=seconds, seed=SEED, report=report)
    plans = _plans_of(problem, solution)
    winner = report.winner
    relaxed = "-relaxed" if winner.relaxed else ""
    note = f"{winner.engine}{relaxed} seed {winner.seed}"
    return {"plans": plans, "extra_rss_kb": report.peak_rss_kb, "note": note}


def run_ortools(problem: Problem, seconds: float) -> dict:
    """The project's OR-Tools engine alone (its two variants raced on the two cores): what a
    day with breaks or a stop limit, which PyVRP cannot state, gets."""
    from routing.optimiser import solver

    runs = [
        solver.EngineRun("ortools", SEED, variant=0),
        solver.EngineRun("ortools", SEED + 1, variant=1),
    ]
    results = solver._race(problem, runs, seconds=seconds)
    best = solver._best(problem, runs, results)
    return {"plans": _plans_of(problem, best[1]) if best else None, "note": ""}


def run_pyvrp(problem: Problem, seconds: float) -> dict:
    """PyVRP 0.14 as documented: solve(data, MaxRuntime, seed) on one core."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    from routing.optimiser.engines.pyvrp_engine import build

    data, client_job, members = build(problem)
    best = pyvrp.solve(data, stop=MaxRuntime(seconds), seed=SEED, collect_stats=False).best
    plans, used = [], [0] * len(members)
    for route in best.routes():
        t = route.vehicle_type()
        vehicle = members[t][used[t]]
        used[t] += 1
        steps = [Step(StepKind.JOB, client_job[a.idx]) for a in route if a.is_client()]
        plans.append(RoutePlan(vehicle, steps))
    return {"plans": plans, "note": "" if best.is_feasible() else "infeasible"}


def run_vroom(problem: Problem, seconds: float) -> dict:
    """VROOM 1.15 through pyvroom: exploration level 5, both cores, the same budget."""
    import numpy as np
    import vroom

    inp = vroom.Input()
    inp.set_durations_matrix(profile="car", matrix_input=problem.durations_s.astype(np.uint32))
    inp.set_costs_matrix(profile="car", matrix_input=problem.distances_m.astype(np.uint32))
    for k, v in enumerate(problem.vehicles):
        inp.add_vehicle(
            vroom.Vehicle(
                k + 1,
                start=v.start,
                end=v.end,
                capacity=list(v.capacity),
                time_window=vroom.TimeWindow(v.shift.start_s, v.shift.end_s),
            )
        )
    dims = problem.dimensions
    for j, job in enumerate(problem.jobs):
        inp.add_job(
            vroom.Job(
                j + 1,
                location=job.location,
                default_service=job.service_s,
                delivery=vroom.Amount(list(job.delivery) + [0] * (dims - len(job.delivery))),
                time_windows=[vroom.TimeWindow(w.start_s, w.end_s) for w in job.windows],
            )
        )
    answer = inp.solve(exploration_level=5, nb_threads=2, timeout=timedelta(seconds=seconds))
    plans = []
    for route in answer.to_dict()["routes"]:
        steps = [Step(StepKind.JOB, s["id"] - 1) for s in route["steps"] if s["type"] == "job"]
        plans.append(RoutePlan(route["vehicle"] - 1, steps))
    return {"plans": plans, "note": ""}


def _plans_of(problem: Problem, solution) -> list[RoutePlan]:
    index = {j.id: i for i, j in enumerate(problem.jobs)}
    vehicles = {v.id: i for i, v in enumerate(problem.vehicles)}
    return [
        RoutePlan(
            vehicles[r.vehicle_id],
            [Step(StepKind.JOB, index[v.id]) for v in r.visits if v.kind == "job"],
        )
        for r in solution.routes
    ]


def _child(target, problem, seconds, conn) -> None:
    started = time.perf_counter()
    try:
        answer = target(problem, seconds)
    except Exception as exc:  # noqa: BLE001 - a crashed solver is a row in the table
        answer = {"plans": None, "note": f"{type(exc).__name__}: {exc}"}
    answer["seconds"] = time.perf_counter() - started
    answer["rss_kb"] = peak_rss_kb()
    conn.send(answer)
    conn.close()


def measured(target, problem: Problem, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(target, problem, seconds, child))
    proc.start()
    answer = parent.recv() if parent.poll(seconds * 3 + 120) else {"plans": None, "note": "hung"}
    proc.join(10)
    if proc.is_alive():
        proc.kill()
    answer["peak_mb"] = (answer.get("rss_kb", 0) + answer.get("extra_rss_kb", 0)) / 1024
    return answer


# --- scoring ----------------------------------------------------------------------------


def score(problem: Problem, answer: dict, instance=None) -> dict:
    """Distance (km for city instances, Solomon units otherwise), routes, and validity."""
    if answer.get("plans") is None:
        return {"distance": None, "vehicles": None, "ok": False, "why": answer.get("note")}
    solution = solution_of(problem, answer["plans"], engine="scored")
    errors = check(problem, solution)
    if solution.unassigned:
        errors.append(f"{len(solution.unassigned)} stops left out")
    if instance is not None:
        routes = [[int(v.id) for v in r.visits if v.kind == "job"] for r in solution.routes]
        errors += solomon.exact_violations(instance, routes)
        distance = solomon.exact_distance(instance, routes)
    else:
        distance = solution.distance_m / 1000
    return {
        "distance": distance,
        "vehicles": len(solution.routes),
        "ok": not errors,
        "why": "; ".join(errors[:2]),
    }


def cases() -> list[tuple[str, Problem, object, float]]:
    only = {x for x in os.environ.get("BENCH_ROUTING_ONLY", "").split(",") if x}
    scale = float(os.environ.get("BENCH_ROUTING_SCALE", "1"))
    out = []
    if not SOLOMON_DIR.is_dir():
        print(f"no Solomon instances at {SOLOMON_DIR} (set SOLOMON_DIR): city instances only")
    for path in sorted(SOLOMON_DIR.glob("*.txt")):
        if only and path.stem not in only:
            continue
        instance = solomon.read(path)
        out.append((path.stem, solomon.to_problem(instance), instance, 10 * scale))
    for stops, seconds in ((200, 10), (500, 10), (1000, 30), (2000, 30)):
        name = f"city{stops}"
        if not only or name in only:
            out.append((name, instances.city(stops, seed=SEED), None, seconds * scale))
    return out


def fmt(x, digits=2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def main() -> None:
    ref_file = SOLOMON_DIR / "REFERENCE.md"
    reference = solomon.best_known(ref_file) if ref_file.exists() else {}
    ratios_pyvrp, ratios_vroom, ratios_ortools, gaps = [], [], [], []
    header = (
        "| instance | stops | budget s | project | veh | PyVRP | veh | VROOM | veh "
        "| gap to ref | gap to lit. | ÷ PyVRP | ÷ VROOM | s (proj/PyVRP/VROOM) "
        "| peak MB (proj/PyVRP/VROOM) | project's winner | our OR-Tools engine alone | ÷ PyVRP |"
    )
    lines = [header, "|" + "---|" * 18]
    print(header, flush=True)
    for name, problem, instance, seconds in cases():
        result = {}
        solvers = [("project", run_project), ("pyvrp", run_pyvrp), ("vroom", run_vroom)]
        solvers.append(("ortools", run_ortools))
        for label, target in solvers:
            answer = measured(target, problem, seconds)
            result[label] = (answer, score(problem, answer, instance))
        (pa, ps), (ya, ys), (va, vs) = result["project"], result["pyvrp"], result["vroom"]
        ratio = lambda a, b: a["distance"] / b["distance"] if a["ok"] and b["ok"] else None  # noqa: E731
        os_ = result["ortools"][1]
        r_ortools = ratio(os_, ys)
        if r_ortools:
            ratios_ortools.append(r_ortools)
        r_pyvrp, r_vroom = ratio(ps, ys), ratio(ps, vs)
        ref = reference.get(name)
        gap_ref = (ps["distance"] / ref - 1) * 100 if ref and ps["ok"] else None
        lit = LITERATURE.get(name)
        gap_lit = (ps["distance"] / lit - 1) * 100 if lit and ps["ok"] else None
        if r_pyvrp:
            ratios_pyvrp.append(r_pyvrp)
        if r_vroom:
            ratios_vroom.append(r_vroom)
        if gap_ref is not None:
            gaps.append(gap_ref)
        flag = lambda s: "" if s["ok"] else f" ✗ ({s['why']})"  # noqa: E731
        line = (
            f"| {name} | {len(problem.jobs)} | {seconds:g} "
            f"| {fmt(ps['distance'])}{flag(ps)} | {ps['vehicles'] or '—'} "
            f"| {fmt(ys['distance'])}{flag(ys)} | {ys['vehicles'] or '—'} "
            f"| {fmt(vs['distance'])}{flag(vs)} | {vs['vehicles'] or '—'} "
            f"| {fmt(gap_ref)}% | {fmt(gap_lit)}% | {fmt(r_pyvrp, 4)} | {fmt(r_vroom, 4)} "
            f"| {pa['seconds']:.1f} / {ya['seconds']:.1f} / {va['seconds']:.1f} "
            f"| {pa['peak_mb']:.0f} / {ya['peak_mb']:.0f} / {va['peak_mb']:.0f} "
            f"| {pa.get('note', '')} | {fmt(os_['distance'])}{flag(os_)} | {fmt(r_ortools, 4)} |"
        )
        print(line, flush=True)
        lines.append(line)
    median = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    summary = (
        f"| **median** | | | | | | | | | {fmt(median(gaps))}% | | "
        f"**{fmt(median(ratios_pyvrp), 4)}** | **{fmt(median(ratios_vroom), 4)}** | | | | "
        f"| **{fmt(median(ratios_ortools), 4)}** |"
    )
    worst = (
        f"| **worst** | | | | | | | | | | | {fmt(max(ratios_pyvrp, default=None), 4)} "
        f"| {fmt(max(ratios_vroom, default=None), 4)} | | | | "
        f"| {fmt(max(ratios_ortools, default=None), 4)} |"
    )
    lines += [summary, worst]
    print(summary)
    print(worst)
    if not os.environ.get("BENCH_ROUTING_ONLY"):
        write_docs(lines)


def write_docs(lines: list[str]) -> None:
    from bench.docs import write_section

    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    command = f"Command: `make bench-routing` — run on {time.strftime('%Y-%m-%d')}, {machine}."
    write_section("routing", [command, "", *lines], intro="## Route optimiser\n\n")


if __name__ == "__main__":
    main()
