"""Generated city-delivery instances, repeatable from a seed (benchmarks and tests).

A 24 x 24 km city: two thirds of the stops in a handful of dense neighbourhoods, the
rest scattered; one depot near the centre. Travel by straight line x 1.3 road detour
at 30 km/h. Stops take 3-8 minutes; 60% carry a two-hour window between 08:00 and
18:00, the rest any time in the shift; demand 1-30 kg and 1-3 parcels. Vans carry
300 kg and 40 parcels; the fleet is what the load needs at 90% fill, plus one van. The
objective is total distance, as in the published comparisons.
"""

from __future__ import annotations

import math

import numpy as np

from .problem import Job, Problem, TimeWindow, Vehicle

CITY_M = 24_000
DETOUR = 1.3
SPEED_MPS = 30 / 3.6


def city(stops: int, *, seed: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0.2 * CITY_M, 0.8 * CITY_M, size=(max(3, stops // 150), 2))
    clustered = (2 * stops) // 3
    which = rng.integers(0, len(centres), size=clustered)
    near = centres[which] + rng.normal(0, 1_500, size=(clustered, 2))
    scattered = rng.uniform(0, CITY_M, size=(stops - clustered, 2))
    depot = np.array([[CITY_M / 2, CITY_M / 2]]) + rng.normal(0, 1_000, size=(1, 2))
    xy = np.clip(np.vstack([depot, near, scattered]), 0, CITY_M)
    straight = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
    distances = np.rint(straight * DETOUR).astype(np.int64)
    durations = np.ceil(straight * DETOUR / SPEED_MPS).astype(np.int64)

    hour = 3600
    jobs = []
    for i in range(1, stops + 1):
        windows: tuple[TimeWindow, ...] = ()
        if rng.random() < 0.6:
            begin = int(rng.integers(8, 17)) * hour
            windows = (TimeWindow(begin, begin + 2 * hour),)
        jobs.append(
            Job(
                id=f"s{i}",
                location=i,
                service_s=int(rng.integers(3, 9)) * 60,
                windows=windows,
                delivery=(int(rng.integers(1, 31)), int(rng.integers(1, 4))),
            )
        )
    kg = sum(j.delivery[0] for j in jobs) / 300
    parcels = sum(j.delivery[1] for j in jobs) / 40
    fleet = math.ceil(max(kg, parcels) / 0.9) + 1
    vehicles = [
        Vehicle(
            id=f"van{k + 1}",
            start=0,
            end=0,
            shift=TimeWindow(7 * hour + 1800, 19 * hour),
            capacity=(300, 40),
        )
        for k in range(fleet)
    ]
    return Problem(durations_s=durations, distances_m=distances, vehicles=vehicles, jobs=jobs)
