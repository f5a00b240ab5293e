"""Solomon's VRPTW text format, and the problem it states under the DIMACS conventions.

Conventions: Euclidean distance in double precision, travel time equal to distance, at
most the file's vehicle count, every customer served inside its window, objective the
total distance. Engines work in integers, so coordinates are scaled by `SCALE`: travel
times are rounded up (a route feasible in integers is feasible in real numbers) and
distances rounded to the nearest unit; `exact_distance()` re-scores a solution in
double precision from the file's own coordinates.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .problem import Job, Problem, TimeWindow, Vehicle

SCALE = 1000


@dataclass(frozen=True)
class Customer:
    number: int
    x: float
    y: float
    demand: int
    ready: float
    due: float
    service: float


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    depot: Customer
    customers: tuple[Customer, ...]


class SolomonFormatError(ValueError):
    pass


def read(path: str | Path) -> SolomonInstance:
    """Parse a Solomon file; raises SolomonFormatError with the line at fault."""
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    lines = [line for line in lines if line]
    try:
        name = lines[0]
        at = next(i for i, line in enumerate(lines) if line.upper().startswith("NUMBER"))
        vehicles, capacity = (int(x) for x in lines[at + 1].split()[:2])
        block = next(i for i, line in enumerate(lines) if line.upper().startswith("CUSTOMER"))
        first = next(i for i in range(block + 1, len(lines)) if lines[i].split()[0].isdigit()) - 1
    except (StopIteration, ValueError, IndexError) as exc:
        raise SolomonFormatError(f"{path}: not a Solomon file (VEHICLE block missing)") from exc
    rows = []
    for number, line in enumerate(lines[first + 1 :], start=first + 2):
        fields = line.split()
        if len(fields) != 7:
            raise SolomonFormatError(f"{path}: line {number}: expected 7 columns: {line!r}")
        try:
            no, x, y, demand, ready, due, service = (float(f) for f in fields)
        except ValueError as exc:
            raise SolomonFormatError(f"{path}: line {number}: {exc}") from exc
        rows.append(Customer(int(no), x, y, int(demand), ready, due, service))
    if not rows or rows[0].number != 0:
        raise SolomonFormatError(f"{path}: the first customer row must be the depot (0)")
    return SolomonInstance(name, vehicles, capacity, rows[0], tuple(rows[1:]))


def euclidean(instance: SolomonInstance) -> np.ndarray:
    points = [(c.x, c.y) for c in (instance.depot, *instance.customers)]
    xy = np.array(points, dtype=float)
    return np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))


def to_problem(instance: SolomonInstance) -> Problem:
    """The instance as a Problem: location 0 the depot, location i customer i's row."""
    exact = euclidean(instance)
    scaled = lambda t: round(t * SCALE)  # noqa: E731
    depot = instance.depot
    vehicles = [
        Vehicle(
            id=f"v{k + 1}",
            start=0,
            end=0,
            shift=TimeWindow(scaled(depot.ready), scaled(depot.due)),
            capacity=(instance.capacity,),
        )
        for k in range(instance.vehicles)
    ]
    jobs = [
        Job(
            id=str(c.number),
            location=i,
            service_s=scaled(c.service),
            windows=(TimeWindow(scaled(c.ready), scaled(c.due)),),
            delivery=(c.demand,),
        )
        for i, c in enumerate(instance.customers, start=1)
    ]
    return Problem(
        durations_s=np.ceil(exact * SCALE).astype(np.int64),
        distances_m=np.rint(exact * SCALE).astype(np.int64),
        vehicles=vehicles,
        jobs=jobs,
    )


def exact_distance(instance: SolomonInstance, routes: list[list[int]]) -> float:
    """Total distance in double precision of routes given as customer numbers."""
    exact = euclidean(instance)
    index = {c.number: i for i, c in enumerate(instance.customers, start=1)}
    total = 0.0
    for route in routes:
        path = [0, *(index[n] for n in route), 0]
        total += sum(exact[a, b] for a, b in itertools.pairwise(path))
    return total


def exact_violations(instance: SolomonInstance, routes: list[list[int]]) -> list[str]:
    """Every DIMACS rule the routes break, checked in double precision (empty when valid)."""
    exact = euclidean(instance)
    by_number = {c.number: (i, c) for i, c in enumerate(instance.customers, start=1)}
    problems = []
    seen = [n for route in routes for n in route]
    if sorted(seen) != sorted(by_number):
        missing = sorted(set(by_number) - set(seen))
        doubled = sorted({n for n in seen if seen.count(n) > 1})
        problems.append(f"customers missing {missing[:10]} or visited twice {doubled[:10]}")
    if len([r for r in routes if r]) > instance.vehicles:
        problems.append(f"{len(routes)} routes, the file allows {instance.vehicles}")
    for k, route in enumerate(routes):
        t, here, load = instance.depot.ready, 0, 0
        for n in route:
            i, c = by_number[n]
            t = max(t + exact[here, i], c.ready)
            if t > c.due + 1e-9:
                problems.append(f"route {k}: customer {n} served at {t:.3f} after {c.due}")
            t += c.service
            load += c.demand
            here = i
        if t + exact[here, 0] > instance.depot.due + 1e-9:
            problems.append(f"route {k}: back at the depot after {instance.depot.due}")
        if load > instance.capacity:
            problems.append(f"route {k}: load {load} over capacity {instance.capacity}")
    return problems


def best_known(path: str | Path) -> dict[str, float]:
    """`{instance: distance}` from a REFERENCE.md-style markdown table next to the files."""
    out = {}
    for line in Path(path).read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2:
            try:
                out[cells[0]] = float(cells[1])
            except ValueError:
                continue
    return out
