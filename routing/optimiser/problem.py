"""The vehicle-routing problem and its solution, free of Django and of any engine.

Units are integers throughout: times in seconds from an origin the caller chooses (for a
plan, midnight of the plan's date in the tenant's time zone), distances in metres, and
demands in whatever unit each capacity dimension uses (grams, litres, items). Locations
are indexes into the two square matrices `durations_s` and `distances_m`.

Money: `cost_per_km`, `cost_per_hour`, `fixed_cost` and job penalties are in one currency
unit; the objective an engine minimises is fixed costs + distance and time costs +
penalties of the jobs left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

#: A time far enough in the future to mean "no limit" without overflowing int64 sums.
HORIZON_S = 10 * 365 * 24 * 3600
#: The penalty that stands for "required": dropped only when no plan can serve the job.
REQUIRED_PENALTY = 1e9


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Service may start at `start_s` at the earliest and at `end_s` at the latest."""

    start_s: int
    end_s: int

    def __post_init__(self) -> None:
        if self.end_s < self.start_s:
            raise ValueError(f"time window ends ({self.end_s}) before it starts ({self.start_s})")


ANY_TIME = TimeWindow(0, HORIZON_S)


@dataclass(frozen=True, slots=True)
class Break:
    """A pause of `duration_s` that must start inside `window` (a driver's lunch break)."""

    window: TimeWindow
    duration_s: int


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One vehicle with its driver's shift. `end` None means the route may end anywhere."""

    id: str
    start: int
    end: int | None
    shift: TimeWindow = ANY_TIME
    capacity: tuple[int, ...] = ()
    skills: frozenset[str] = frozenset()
    breaks: tuple[Break, ...] = ()
    max_stops: int | None = None
    max_duration_s: int | None = None
    max_distance_m: int | None = None
    cost_per_km: float = 1.0
    cost_per_hour: float = 0.0
    fixed_cost: float = 0.0


@dataclass(frozen=True, slots=True)
class Job:
    """A single visit: a delivery (or a pickup brought back to the end depot).

    `windows` empty means any time. `penalty` None means required; a required job is
    still left out (with its reason) when no plan can serve it, rather than failing the
    whole problem. Among jobs that do not all fit, higher `priority` is kept first.
    """

    id: str
    location: int
    service_s: int = 0
    windows: tuple[TimeWindow, ...] = ()
    delivery: tuple[int, ...] = ()
    pickup: tuple[int, ...] = ()
    skills: frozenset[str] = frozenset()
    priority: int = 0
    penalty: float | None = None


@dataclass(frozen=True, slots=True)
class ShipmentStop:
    location: int
    service_s: int = 0
    windows: tuple[TimeWindow, ...] = ()


@dataclass(frozen=True, slots=True)
class Rush:
    """From `start_s` to `end_s`, travel takes `factor` times as long (a rush hour: 1.3 is
    30% slower). A leg's factor is the one in force when the vehicle sets off on it."""

    start_s: int
    end_s: int
    factor: float

    def __post_init__(self) -> None:
        if self.end_s <= self.start_s:
            raise ValueError(f"a rush period ends ({self.end_s}) before it starts")
        if not 0 < self.factor < 100:
            raise ValueError(f"a rush factor must be positive, not {self.factor}")


@dataclass(frozen=True, slots=True)
class Shipment:
    """A pickup-and-delivery pair: the same vehicle visits the pickup, then the delivery."""

    id: str
    pickup: ShipmentStop
    delivery: ShipmentStop
    amount: tuple[int, ...] = ()
    skills: frozenset[str] = frozenset()
    priority: int = 0
    penalty: float | None = None


@dataclass(eq=False)
class Problem:
    durations_s: np.ndarray
    distances_m: np.ndarray
    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...] = ()
    shipments: tuple[Shipment, ...] = ()
    #: Travel slower (or faster) at some times: legs are timed with the factor in force
    #: when they start (`schedule.route_of`); engines search on `durations_s` as given.
    rush: tuple[Rush, ...] = ()

    def __post_init__(self) -> None:
        self.rush = tuple(sorted(self.rush, key=lambda r: r.start_s))
        if any(a.end_s > b.start_s for a, b in zip(self.rush, self.rush[1:], strict=False)):
            raise ValueError("rush periods must not overlap")
        self.durations_s = np.asarray(self.durations_s, dtype=np.int64)
        self.distances_m = np.asarray(self.distances_m, dtype=np.int64)
        n = self.durations_s.shape[0]
        if self.durations_s.shape != (n, n) or self.distances_m.shape != (n, n):
            raise ValueError("durations and distances must be square matrices of one size")
        self.vehicles = tuple(self.vehicles)
        self.jobs = tuple(self.jobs)
        self.shipments = tuple(self.shipments)
        ids = [j.id for j in self.jobs] + [s.id for s in self.shipments]
        if len(set(ids)) != len(ids):
            raise ValueError("job and shipment ids must be unique")
        if len({v.id for v in self.vehicles}) != len(self.vehicles):
            raise ValueError("vehicle ids must be unique")
        for loc in self._locations():
            if not 0 <= loc < n:
                raise ValueError(f"location {loc} is outside the {n}x{n} matrix")

    def _locations(self):
        for v in self.vehicles:
            yield v.start
            if v.end is not None:
                yield v.end
        for j in self.jobs:
            yield j.location
        for s in self.shipments:
            yield s.pickup.location
            yield s.delivery.location

    def rush_factor(self, t: int) -> float:
        """The travel factor in force at time `t` (1.0 outside every rush period)."""
        for rush in self.rush:
            if rush.start_s <= t < rush.end_s:
                return rush.factor
        return 1.0

    def mean_rush_factor(self, start_s: int, end_s: int) -> float:
        """The time-weighted mean travel factor between `start_s` and `end_s`."""
        if not self.rush or end_s <= start_s:
            return self.rush_factor(start_s)
        extra = sum(
            (r.factor - 1.0) * max(0, min(end_s, r.end_s) - max(start_s, r.start_s))
            for r in self.rush
        )
        return 1.0 + extra / (end_s - start_s)

    @property
    def dimensions(self) -> int:
        """How many capacity dimensions the problem uses (the longest vector anywhere)."""
        vectors = [v.capacity for v in self.vehicles]
        vectors += [j.delivery for j in self.jobs] + [j.pickup for j in self.jobs]
        vectors += [s.amount for s in self.shipments]
        return max((len(x) for x in vectors), default=0)


def padded(vector: tuple[int, ...], dimensions: int) -> tuple[int, ...]:
    """`vector` with zeros appended up to `dimensions` (a missing dimension is zero)."""
    return tuple(vector) + (0,) * (dimensions - len(vector))


def capacity_of(vehicle: Vehicle, dimensions: int) -> tuple[int, ...]:
    """A vehicle's capacity per dimension; a dimension it does not state is unlimited."""
    huge = 2**40
    return tuple(vehicle.capacity) + (huge,) * (dimensions - len(vehicle.capacity))


def penalty_of(item: Job | Shipment) -> float:
    """The cost of leaving `item` out; each point of priority adds 10%, so that among jobs
    that do not all fit the higher priority stays in."""
    base = REQUIRED_PENALTY if item.penalty is None else item.penalty
    return base * (1 + max(item.priority, 0) / 10)


# --- what an engine returns -------------------------------------------------------------


class StepKind(StrEnum):
    JOB = "job"
    PICKUP = "pickup"
    DELIVERY = "delivery"
    BREAK = "break"


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of a route's sequence: `index` into jobs, shipments or the vehicle's breaks."""

    kind: StepKind
    index: int


@dataclass
class RoutePlan:
    """An engine's answer for one vehicle: the order of its steps, nothing computed yet."""

    vehicle: int
    steps: list[Step] = field(default_factory=list)


# --- the solution the rest of the product reads -----------------------------------------


class UnassignedReason(StrEnum):
    CAPACITY = "capacity"  # larger than every vehicle able to take it
    TIME_WINDOW = "time_window"  # no vehicle can reach it inside a window during its shift
    SKILLS = "skills"  # no vehicle has the skills it requires
    UNREACHABLE = "unreachable"  # no road to it from any vehicle's depot
    MAX_DURATION = "max_duration"  # a return trip alone exceeds every route's duration limit
    MAX_DISTANCE = "max_distance"
    NO_ROOM = "no_room"  # servable alone, but every route it fits is full (capacity/time/stops)
    NOT_WORTH_IT = "not_worth_it"  # optional, and serving it costs more than its penalty


@dataclass
class Visit:
    kind: str  # "start", "job", "pickup", "delivery", "break", "end"
    id: str | None
    location: int | None
    arrival_s: int
    start_s: int
    departure_s: int
    waiting_s: int
    load: tuple[int, ...]


@dataclass
class Violation:
    """A constraint a route breaks (after a manual edit, or in a checker's eyes)."""

    code: str  # "time_window", "capacity", "shift", "max_stops", "max_duration", ...
    message: str
    step: int | None = None  # index into the route's visits, when it is about one visit


@dataclass
class Route:
    vehicle_id: str
    visits: list[Visit]
    distance_m: int
    duration_s: int
    waiting_s: int
    cost: float
    violations: list[Violation] = field(default_factory=list)


@dataclass
class Unassigned:
    id: str
    reason: UnassignedReason


@dataclass
class Solution:
    routes: list[Route]
    unassigned: list[Unassigned]
    engine: str
    seconds: float = 0.0

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)

    @property
    def duration_s(self) -> int:
        return sum(r.duration_s for r in self.routes)

    @property
    def cost(self) -> float:
        return sum(r.cost for r in self.routes)

    @property
    def feasible(self) -> bool:
        return not any(r.violations for r in self.routes)
