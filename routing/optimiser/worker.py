"""One engine in its own process, answering the race's requests over its pipes.

The race in `routing.optimiser.solver` starts one of these per core and sends pickled requests on
stdin: the first carries the problem, later ones (the next phase) only a seed, a deadline
and the plans to start from. Each answer is pickled to stdout; end of input ends the
process. A plain subprocess, not `multiprocessing`, because the solver is called from
django-q2 workers, which are daemonic and may not have `multiprocessing` children.
"""

from __future__ import annotations

import pickle
import resource
import sys
import time

_ANSWER_S = 0.1


def peak_rss_kb() -> int:
    """This process's peak resident memory. VmHWM belongs to the process's own address
    space; `ru_maxrss` would also count the parent's memory at the fork before exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(problem, request: dict, cache: dict) -> dict:
    started = time.perf_counter()
    engine = request["engine"]
    # the parent's deadline (the monotonic clock, shared by every process on the machine)
    # less the time to answer
    seconds = request["deadline"] - time.monotonic() - _ANSWER_S
    plans, error = None, None
    try:
        if engine == "pyvrp":
            from .engines import pyvrp_engine

            plans = pyvrp_engine.solve(
                problem,
                seconds=seconds,
                seed=request["seed"],
                relaxed=request.get("relaxed", False),
                initial=request.get("initial"),
                cache=cache,
            )
        elif engine == "ortools":
            from .engines import ortools_engine

            plans = ortools_engine.solve(
                problem,
                seconds=seconds,
                seed=request["seed"],
                variant=request.get("variant", 0),
                initial=request.get("initial"),
            )
        else:
            error = f"unknown engine {engine!r}"
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which keeps the others
        error = f"{type(exc).__name__}: {exc}"
    return {
        "plans": plans,
        "error": error,
        "seconds": time.perf_counter() - started,
        "peak_rss_kb": peak_rss_kb(),
    }


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    problem, cache = None, {}
    while True:
        try:
            request = pickle.load(stdin)  # noqa: S301 - written by our own parent process
        except EOFError:
            return
        problem = request.get("problem", problem)
        pickle.dump(run(problem, request, cache), stdout)
        stdout.flush()


if __name__ == "__main__":
    main()
