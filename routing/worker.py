"""One engine run in its own process: a pickled request on stdin, a pickled answer on stdout.

The race in `routing.solver` starts one of these per core. A plain subprocess, not
`multiprocessing`, because the solver is called from django-q2 workers, which are
daemonic processes and may not have children of their own through `multiprocessing`.
"""

from __future__ import annotations

import pickle
import resource
import sys
import time

_ANSWER_S = 0.1


def run(request: dict) -> dict:
    started = time.perf_counter()
    problem, engine = request["problem"], request["engine"]
    # the parent's deadline (wall clock, shared by all processes) less the time to answer
    seconds = request["deadline"] - time.time() - _ANSWER_S
    plans, error = None, None
    try:
        if engine == "pyvrp":
            from .engines import pyvrp_engine

            relaxed = request.get("relaxed", False)
            plans = pyvrp_engine.solve(
                problem, seconds=seconds, seed=request["seed"], relaxed=relaxed
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
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main() -> None:
    request = pickle.load(sys.stdin.buffer)  # noqa: S301 - written by our own parent process
    answer = run(request)
    sys.stdout.buffer.write(pickle.dumps(answer))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
