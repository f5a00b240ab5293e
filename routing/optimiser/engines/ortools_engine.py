"""OR-Tools' routing library as an engine for every field of the problem model.

OR-Tools visits nodes, not locations, so each job, shipment pickup and delivery, vehicle
start and vehicle end becomes its own node mapped to a matrix location (an open route
ends at a dummy node that is free to reach). All transits are C++ matrices or vectors:
no Python runs per arc during the search. Every stop sits in a disjunction (a required
one with a prohibitive penalty), so an over-constrained problem still answers with what
can be served.

The search is OR-Tools' iterated local search (ruin and recreate, SISR), which measured
well ahead of the usual guided local search (see `Variant`). Constraints that only the
CP solver sees, not the local search filters, cost it dearly, so the model avoids them
where it can (see `_breaks` and `_loads`).

The answer is a sequence per vehicle; `schedule.route_of` times it. OR-Tools may pause
mid-drive or outside a route's span, which the schedule does not, so every route is
checked with `route_of` at the end and, in the rare case they disagree, its breaks are
moved or, failing that, the stops it cannot keep are left out (see `checked`).
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, routing_ils_pb2

from ..mend import checked
from ..problem import (
    HORIZON_S,
    Problem,
    RoutePlan,
    Step,
    StepKind,
    TimeWindow,
    capacity_of,
    padded,
    penalty_of,
)

#: Cost units per currency unit (as in the PyVRP engine): per second at 1/hour is 100,
#: per metre at 1/km is 360, so rounding the per-second span coefficient loses < 1 %.
COST_SCALE = 360_000
#: Above this a load or count is unlimited (what `capacity_of` gives a missing dimension).
UNLIMITED = 2**40

FirstSolution = routing_enums_pb2.FirstSolutionStrategy
Metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic
_OFF = 2  # OptionalBoolean.BOOL_FALSE
_RUN_ONE_RANDOMLY = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY


@dataclass(frozen=True, slots=True)
class Variant:
    """One search configuration: iterated local search, ruin and recreate (SISR).

    Measured at 10 s on six Solomon instances (R101, R105, C101, RC101, R201, RC201):
    this ILS is within 0.8-1.0 % of PyVRP's 30 s distances on average, guided local search
    (OR-Tools' usual advice) 2.8-3.3 %. Local cheapest insertion as first solution left
    twice as many jobs out on an over-constrained 220-stop day, so both start from
    parallel cheapest insertion and differ in how they ruin.
    """

    first_solution: int
    ruin_visits: int  # SISR: average number of visits removed per ruin
    ruin_sequence: int  # SISR: longest string of consecutive visits removed
    random_walk: int = 0  # > 0: alternate SISR with a random-walk ruin of that many visits


VARIANTS = (
    Variant(FirstSolution.PARALLEL_CHEAPEST_INSERTION, ruin_visits=10, ruin_sequence=10),
    Variant(
        FirstSolution.PARALLEL_CHEAPEST_INSERTION, ruin_visits=10, ruin_sequence=10, random_walk=10
    ),
)
#: Local search operators that cost more time than they earn inside ILS: the insertion
#: LNS operators duplicate the ruin-and-recreate step, and Lin-Kernighan and expensive
#: chain relocation slow each descent (1.5 % -> 0.7 % mean gap on six Solomon instances).
_SLOW_OPERATORS = (
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_lin_kernighan",
    "use_relocate_expensive_chain",
)


@dataclass(frozen=True, slots=True)
class _Node:
    location: int | None  # None: the free end of an open route
    step: Step | None  # None: a vehicle's start or end
    service_s: int = 0
    windows: tuple[TimeWindow, ...] = ()
    load_delta: tuple[int, ...] = ()  # change of the load on board when served
    job_delivery: tuple[int, ...] = ()  # what a job brings from the start depot
    job_pickup: tuple[int, ...] = ()  # what a job carries to the end depot


def solve(
    problem: Problem,
    *,
    seconds: float,
    seed: int = 1,
    variant: int = 0,
    initial: list[RoutePlan] | None = None,
) -> list[RoutePlan]:
    """OR-Tools' best sequences within `seconds` of wall clock, model building included.

    `variant` picks one of `VARIANTS` (modulo their number) so that parallel processes
    search differently; `seed` shuffles the order in which stops become nodes, which
    changes the insertion heuristics' tie-breaks; `initial` (another engine's routes) is
    the warm start when OR-Tools accepts it. Only vehicles with steps are returned.
    """
    started = time.monotonic()
    if not problem.vehicles or not (problem.jobs or problem.shipments):
        return []
    model = _Model(problem, seed)
    # Converting and checking the answer takes a little Python time; keep it in budget.
    reserve = min(0.1 * seconds, 0.05 + 2e-4 * len(model.nodes))

    def remaining_ms() -> int:
        return max(int((seconds - (time.monotonic() - started) - reserve) * 1000), 10)

    params = search_parameters(VARIANTS[variant % len(VARIANTS)])
    params.time_limit.FromMilliseconds(remaining_ms())
    routing = model.routing
    routing.CloseModelWithParameters(params)
    warm = None  # (objective, plans) of the given routes after a polish
    if initial:
        start = routing.ReadAssignmentFromRoutes(model.routes_of(initial), True)
        if start is not None:
            # ILS cannot start from given routes, and GLS barely improves ILS optima
            # (measured: +0.1 %), so the given routes get a short GLS polish and a fresh
            # ILS has the rest of the time; the better of the two is the answer.
            polish = pywrapcp.DefaultRoutingSearchParameters()
            polish.CopyFrom(params)
            polish.local_search_metaheuristic = Metaheuristic.GUIDED_LOCAL_SEARCH
            polish.time_limit.FromMilliseconds(max(remaining_ms() // 5, 10))
            polished = routing.SolveFromAssignmentWithParameters(start, polish)
            if polished is not None:
                warm = (polished.ObjectiveValue(), model.plans_of(polished))
    params.time_limit.FromMilliseconds(remaining_ms())
    solution = routing.SolveWithIteratedLocalSearch(params)
    if solution is None:
        # No first solution (tight windows, breaks): leaving every stop out is always a
        # solution, since every stop is in a disjunction, and the search inserts from there.
        # Plain search: ILS scans a whole insertion neighbourhood before it looks at
        # the clock (measured: 3 s over a 0.5 s limit with 1,200 stops and breaks).
        params.first_solution_strategy = FirstSolution.ALL_UNPERFORMED
        params.use_iterated_local_search = False
        params.local_search_metaheuristic = Metaheuristic.GUIDED_LOCAL_SEARCH
        params.time_limit.FromMilliseconds(remaining_ms())
        solution = routing.SolveWithParameters(params)
    if warm is not None and (solution is None or warm[0] <= solution.ObjectiveValue()):
        plans = warm[1]
    elif solution is not None:
        plans = model.plans_of(solution)
    else:
        return []
    return [checked(problem, plan) for plan in plans]


def search_parameters(variant: Variant):
    """Routing search parameters of one variant (the caller sets the time limit)."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = variant.first_solution
    params.local_search_metaheuristic = Metaheuristic.GREEDY_DESCENT
    for name in _SLOW_OPERATORS:
        setattr(params.local_search_operators, name, _OFF)
    params.use_iterated_local_search = True
    ils = params.iterated_local_search_parameters
    ruin = ils.ruin_recreate_parameters.ruin_strategies.add().sisr
    ruin.avg_num_removed_visits = variant.ruin_visits
    ruin.max_removed_sequence_size = variant.ruin_sequence
    ruin.bypass_factor = 0.01  # SISR's usual value
    if variant.random_walk:
        recreate = ils.ruin_recreate_parameters
        recreate.ruin_strategies.add().random_walk.num_removed_visits = variant.random_walk
        recreate.ruin_composition_strategy = _RUN_ONE_RANDOMLY
    ils.improve_perturbed_solution = True
    ils.reference_solution_acceptance_strategy.simulated_annealing.automatic_temperatures = True
    return params


class _Model:
    """The routing model of a problem, and the maps to read its solutions back."""

    def __init__(self, problem: Problem, seed: int) -> None:
        self.problem = problem
        self.dims = problem.dimensions
        vehicles = problem.vehicles
        v_count = len(vehicles)
        self.nodes: list[_Node] = []
        items: list[tuple[StepKind, int]] = [(StepKind.JOB, i) for i in range(len(problem.jobs))]
        items += [(StepKind.PICKUP, i) for i in range(len(problem.shipments))]
        random.Random(seed).shuffle(items)  # noqa: S311 - tie-breaks, not secrets
        self.node_of: dict[Step, int] = {}
        for kind, index in items:
            if kind is StepKind.JOB:
                self._add(self._job_node(index))
            else:
                for node in self._shipment_nodes(index):
                    self._add(node)
        # Stops first, then starts and ends: OR-Tools' ILS draws its ruin seeds from the
        # lowest indices only (stops listed after the starts would never be drawn, and a
        # lone performed stop among them makes its draw loop forever).
        self.stop_nodes = range(len(self.nodes))
        self.nodes += [_Node(v.start, None) for v in vehicles]
        self.nodes += [_Node(v.end, None) for v in vehicles]
        starts = [len(self.stop_nodes) + v for v in range(v_count)]
        self.manager = pywrapcp.RoutingIndexManager(
            len(self.nodes), v_count, starts, [s + v_count for s in starts]
        )
        self.routing = pywrapcp.RoutingModel(self.manager)
        self.index_of = [self.manager.NodeToIndex(n) for n in range(len(self.nodes))]
        self.usable = [self._usable(v) for v in range(v_count)]
        self._costs()
        self._time()
        self._loads()
        self._counts()
        self._allowed_vehicles()
        self._disjunctions()
        self._pairs()
        self._breaks()

    # --- nodes

    def _add(self, node: _Node) -> None:
        self.node_of[node.step] = len(self.nodes)
        self.nodes.append(node)

    def _job_node(self, index: int) -> _Node:
        job = self.problem.jobs[index]
        delivery, pickup = padded(job.delivery, self.dims), padded(job.pickup, self.dims)
        delta = tuple(p - d for p, d in zip(pickup, delivery, strict=True))
        return _Node(
            job.location,
            Step(StepKind.JOB, index),
            job.service_s,
            job.windows,
            delta,
            delivery,
            pickup,
        )

    def _shipment_nodes(self, index: int) -> tuple[_Node, _Node]:
        s = self.problem.shipments[index]
        amount = padded(s.amount, self.dims)
        zero = (0,) * self.dims
        pickup = _Node(
            s.pickup.location,
            Step(StepKind.PICKUP, index),
            s.pickup.service_s,
            s.pickup.windows,
            amount,
            zero,
            zero,
        )
        delivery = _Node(
            s.delivery.location,
            Step(StepKind.DELIVERY, index),
            s.delivery.service_s,
            s.delivery.windows,
            tuple(-a for a in amount),
            zero,
            zero,
        )
        return pickup, delivery

    def _node_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """`matrix` between nodes; the free end of an open route costs nothing to reach."""
        locations = np.array([-1 if n.location is None else n.location for n in self.nodes])
        free = locations < 0
        out = matrix[np.ix_(np.where(free, 0, locations), np.where(free, 0, locations))]
        out[:, free] = 0
        out[free, :] = 0
        return out

    def _usable(self, v_index: int) -> bool:
        """Whether the vehicle's breaks fit in its shift and route duration at all."""
        v = self.problem.vehicles[v_index]
        total = sum(b.duration_s for b in v.breaks)
        if v.max_duration_s is not None and total > v.max_duration_s:
            return False
        return all(self._break_window(v, b) is not None for b in v.breaks)

    @staticmethod
    def _break_window(vehicle, brk) -> tuple[int, int] | None:
        earliest = max(brk.window.start_s, vehicle.shift.start_s)
        latest = min(brk.window.end_s, vehicle.shift.end_s - brk.duration_s)
        return (earliest, latest) if earliest <= latest else None

    # --- constraints and costs

    def _costs(self) -> None:
        distances = self._node_matrix(self.problem.distances_m)
        self.distances = distances
        by_rate: dict[float, int] = {}
        for v_index, v in enumerate(self.problem.vehicles):
            if v.cost_per_km not in by_rate:
                costs = np.rint(distances * (v.cost_per_km * COST_SCALE / 1000))
                by_rate[v.cost_per_km] = self.routing.RegisterTransitMatrix(
                    costs.astype(np.int64).tolist()
                )
            self.routing.SetArcCostEvaluatorOfVehicle(by_rate[v.cost_per_km], v_index)
            self.routing.SetFixedCostOfVehicle(round(v.fixed_cost * COST_SCALE), v_index)

    def _time(self) -> None:
        service = np.array([n.service_s for n in self.nodes], dtype=np.int64)
        transit = self._node_matrix(self.problem.durations_s) + service[:, None]
        self.time_callback = self.routing.RegisterTransitMatrix(transit.tolist())
        self.routing.AddDimension(self.time_callback, HORIZON_S, HORIZON_S, False, "time")
        self.time = self.routing.GetDimensionOrDie("time")
        for node in self.stop_nodes:
            windows = _merged(self.nodes[node].windows)
            if not windows:
                continue
            cumul = self.time.CumulVar(self.index_of[node])
            cumul.SetRange(windows[0].start_s, windows[-1].end_s)
            for before, after in itertools.pairwise(windows):
                cumul.RemoveInterval(before.end_s + 1, after.start_s - 1)
        for v_index, v in enumerate(self.problem.vehicles):
            for index in (self.routing.Start(v_index), self.routing.End(v_index)):
                self.time.CumulVar(index).SetRange(v.shift.start_s, v.shift.end_s)
            per_second = round(v.cost_per_hour * COST_SCALE / 3600)
            if per_second:
                self.time.SetSpanCostCoefficientForVehicle(per_second, v_index)
            if v.max_duration_s is not None:
                self.time.SetSpanUpperBoundForVehicle(v.max_duration_s, v_index)

    def _loads(self) -> None:
        """One load dimension per capacity dimension that some vehicle limits.

        Deliveries of jobs are on board from the start, so the start load is free: the
        end load must stay at or above what the route's jobs pick up (no job pickups:
        at or above zero), which makes the start load at least the route's deliveries.
        That last rule, when jobs both deliver and pick up in one dimension, is a solver
        constraint the local search does not see: fine for a few hundred stops, slow
        beyond (1,200 stops: 56 s to a first solution instead of 3 s; pairing each
        delivery with a loading node at the depot measured no faster).
        """
        caps = [capacity_of(v, self.dims) for v in self.problem.vehicles]
        for k in range(self.dims):
            limits = [min(c[k], UNLIMITED) for c in caps]
            if all(limit >= UNLIMITED for limit in limits):
                continue
            deltas = [n.load_delta[k] if n.step else 0 for n in self.nodes]
            delivers = any(n.step and n.job_delivery[k] for n in self.nodes)
            picks = any(n.step and n.job_pickup[k] for n in self.nodes)
            callback = self.routing.RegisterUnaryTransitVector(deltas)
            self.routing.AddDimensionWithVehicleCapacity(
                callback, 0, limits, not delivers, f"load{k}"
            )
            if not (delivers and picks):
                continue
            load = self.routing.GetDimensionOrDie(f"load{k}")
            pickups = [n.job_pickup[k] if n.step else 0 for n in self.nodes]
            callback = self.routing.RegisterUnaryTransitVector(pickups)
            self.routing.AddDimensionWithVehicleCapacity(callback, 0, limits, True, f"picked{k}")
            picked = self.routing.GetDimensionOrDie(f"picked{k}")
            solver = self.routing.solver()
            for v_index in range(len(self.problem.vehicles)):
                end = self.routing.End(v_index)
                solver.Add(load.CumulVar(end) >= picked.CumulVar(end))

    def _counts(self) -> None:
        vehicles = self.problem.vehicles
        if any(v.max_stops is not None for v in vehicles):
            ones = [1 if n.step else 0 for n in self.nodes]
            limits = [len(self.nodes) if v.max_stops is None else v.max_stops for v in vehicles]
            callback = self.routing.RegisterUnaryTransitVector(ones)
            self.routing.AddDimensionWithVehicleCapacity(callback, 0, limits, True, "stops")
        if any(v.max_distance_m is not None for v in vehicles):
            limits = [UNLIMITED if v.max_distance_m is None else v.max_distance_m for v in vehicles]
            callback = self.routing.RegisterTransitMatrix(self.distances.tolist())
            self.routing.AddDimensionWithVehicleCapacity(callback, 0, limits, True, "distance")

    def _skills_of(self, node: _Node) -> frozenset[str]:
        if node.step.kind is StepKind.JOB:
            return self.problem.jobs[node.step.index].skills
        return self.problem.shipments[node.step.index].skills

    def _allowed_vehicles(self) -> None:
        """Skills (and unusable vehicles) as the domain of each stop's vehicle variable.

        `SetAllowedVehiclesForIndex` would say the same, but its binding in OR-Tools
        9.15 accepts no Python sequence; -1 in the domain keeps the stop droppable.
        """
        vehicles = self.problem.vehicles
        for node_index in self.stop_nodes:
            need = self._skills_of(self.nodes[node_index])
            allowed = [
                v for v, vehicle in enumerate(vehicles) if self.usable[v] and need <= vehicle.skills
            ]
            if len(allowed) < len(vehicles):
                self.routing.VehicleVar(self.index_of[node_index]).SetValues([-1, *allowed])

    def _disjunctions(self) -> None:
        items = len(self.problem.jobs) + len(self.problem.shipments)
        ceiling = 2**62 // (items + 1)  # the sum of all penalties must not overflow
        for node_index in self.stop_nodes:
            node = self.nodes[node_index]
            if node.step.kind is StepKind.DELIVERY:
                penalty = 0  # the pair is performed together; its pickup carries the penalty
            else:
                item = (
                    self.problem.jobs[node.step.index]
                    if node.step.kind is StepKind.JOB
                    else self.problem.shipments[node.step.index]
                )
                penalty = min(round(penalty_of(item) * COST_SCALE), ceiling)
            self.routing.AddDisjunction([self.index_of[node_index]], penalty)

    def _pairs(self) -> None:
        solver = self.routing.solver()
        for index in range(len(self.problem.shipments)):
            pickup = self.index_of[self.node_of[Step(StepKind.PICKUP, index)]]
            delivery = self.index_of[self.node_of[Step(StepKind.DELIVERY, index)]]
            self.routing.AddPickupAndDelivery(pickup, delivery)
            solver.Add(self.routing.VehicleVar(pickup) == self.routing.VehicleVar(delivery))
            solver.Add(self.time.CumulVar(pickup) <= self.time.CumulVar(delivery))

    def _breaks(self) -> None:
        """Breaks as intervals that may not overlap any service.

        OR-Tools also lets a break fall before the start or after the end of a route,
        outside its span, where the schedule counts it in the route's duration. With a
        binding `max_duration_s` it does so to fit more stops, and `checked` then leaves
        some out again. Measured on ten 40-stop days with 4-5 h limits: 67 stops left
        out so; 75 with the span limit lowered by the breaks (always consistent); 330
        with solver constraints keeping breaks inside the span, which the local search
        cannot see (on a 220-stop day they stall it after 7 s).
        """
        solver = self.routing.solver()
        visit = [0] * self.routing.Size()
        for index in range(self.routing.Size()):
            visit[index] = self.nodes[self.manager.IndexToNode(index)].service_s
        self.break_intervals: dict[int, list] = {}
        for v_index, v in enumerate(self.problem.vehicles):
            if not v.breaks or not self.usable[v_index]:
                continue
            intervals = []
            for b_index, brk in enumerate(v.breaks):
                earliest, latest = self._break_window(v, brk)
                interval = solver.FixedDurationIntervalVar(
                    earliest, latest, brk.duration_s, False, f"break {v.id} {b_index}"
                )
                self.routing.AddIntervalToAssignment(interval)
                intervals.append(interval)
            self.time.SetBreakIntervalsOfVehicle(intervals, v_index, visit)
            self.break_intervals[v_index] = intervals

    # --- reading and writing routes

    def routes_of(self, plans: list[RoutePlan]) -> list[list[int]]:
        """Another engine's plans as OR-Tools routes of indices (breaks dropped)."""
        routes: list[list[int]] = [[] for _ in self.problem.vehicles]
        for plan in plans:
            for step in plan.steps:
                if step.kind is not StepKind.BREAK and step in self.node_of:
                    routes[plan.vehicle].append(self.index_of[self.node_of[step]])
        return routes

    def plans_of(self, solution) -> list[RoutePlan]:
        plans = []
        for v_index in range(len(self.problem.vehicles)):
            index = solution.Value(self.routing.NextVar(self.routing.Start(v_index)))
            steps, ends_s = [], []
            while not self.routing.IsEnd(index):
                node = self.nodes[self.manager.IndexToNode(index)]
                steps.append(node.step)
                ends_s.append(solution.Min(self.time.CumulVar(index)) + node.service_s)
                index = solution.Value(self.routing.NextVar(index))
            if not steps:
                continue
            breaks = []
            for b_index, interval in enumerate(self.break_intervals.get(v_index, ())):
                begin = solution.StartMin(interval)
                # after every stop whose service ends by the time the break begins
                position = sum(1 for end in ends_s if end <= begin)
                breaks.append((position, begin, b_index))
            for position, _, b_index in sorted(breaks, reverse=True):
                steps.insert(position, Step(StepKind.BREAK, b_index))
            plans.append(RoutePlan(v_index, steps))
        return plans


def _merged(windows: tuple[TimeWindow, ...]) -> list[TimeWindow]:
    """`windows` sorted, with overlapping or touching ones joined."""
    out: list[TimeWindow] = []
    for w in sorted(windows, key=lambda w: w.start_s):
        if out and w.start_s <= out[-1].end_s + 1:
            out[-1] = TimeWindow(out[-1].start_s, max(out[-1].end_s, w.end_s))
        else:
            out.append(w)
    return out
