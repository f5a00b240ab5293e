"""The honest measurement of ETAs: stored days replayed against what the drivers did.

For every published route of each date, the stops the driver actually reached (an
`arrived` event that day), in the order reached, are timed with the optimiser's own
schedule (`routing.services.conversion.problem_for_day` + `routing.optimiser.schedule
.route_of`, as plans and live routes are timed) under the given `Corrections`, and each
predicted arrival is compared with the arrival the phone recorded (`OrderEvent.created_at`).
Two views:

- "promised at departure": the whole route timed from the driver's actual departure (the
  first reached stop's `en_route` time, else the route's start), door times included;
  what the customer was told in the morning.
- "next stop": each stop timed from the actual departure towards it (its `en_route` time,
  else the previous stop's delivered/failed time, else that stop's arrival plus its door
  time, else the route's start for the first stop) over the single leg from the stop
  before (the depot for the first); what the live ETA says once the van sets off.

A stop counts as inside its window when it arrived within half the promised window
(`window_s`, the tracking settings' `eta_window_minutes` x 60) of its prediction. Without
learning, pass `Corrections.none(tenant.rush_hours)`: exactly the configured model.

Pure read, inside the tenant's schema: it writes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from dispatch.models import OrderEvent, OrderStatus
from routing.models import Plan, PlanRoute, PlanStop
from routing.optimiser.problem import RoutePlan, Step, StepKind
from routing.optimiser.schedule import UNREACHABLE_S, route_of
from routing.services.conversion import Crew, problem_for_day
from routing.services.corrections import Corrections
from tenants.selectors import current_tenant

#: The promised arrival window's default width (the tracking settings' default, 60 minutes).
DEFAULT_WINDOW_S = 3600
#: The events that say when a driver set off, arrived and left.
_EVENTS = (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, OrderStatus.DELIVERED, OrderStatus.FAILED)


@dataclass(frozen=True)
class StopError:
    """One reached stop: its actual and predicted arrivals (seconds from local midnight)."""

    date: dt.date
    route_id: int
    order_id: int
    actual_s: int
    promised_s: int  # "promised at departure"
    next_s: int | None  # "next stop"; None when the leg has no road

    @property
    def error_s(self) -> int:
        """Actual minus promised: positive when the van came later than said."""
        return self.actual_s - self.promised_s

    @property
    def next_error_s(self) -> int | None:
        return None if self.next_s is None else self.actual_s - self.next_s


@dataclass(frozen=True)
class ReplayResult:
    """ETA errors over the replayed days (seconds; shares between 0 and 1). With no
    reached stop every number is 0."""

    days: int = 0  # dates with at least one reached stop
    routes: int = 0  # routes with at least one reached stop
    stops: int = 0
    mae_s: float = 0.0
    median_abs_s: float = 0.0
    p90_abs_s: float = 0.0
    inside_share: float = 0.0
    bias_s: float = 0.0  # mean of actual - predicted: positive means late vans
    next_stops: int = 0
    next_mae_s: float = 0.0
    next_median_abs_s: float = 0.0
    next_p90_abs_s: float = 0.0
    next_inside_share: float = 0.0
    next_bias_s: float = 0.0
    window_s: int = DEFAULT_WINDOW_S
    errors: tuple[StopError, ...] = field(default=(), repr=False, compare=False)


def _summary(errors: Sequence[int], half_s: float) -> tuple[float, float, float, float, float]:
    """(MAE, median, p90 of the absolute error, share within `half_s`, mean signed error)."""
    if not errors:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    signed = np.asarray(errors, dtype=np.float64)
    absolute = np.abs(signed)
    return (
        float(absolute.mean()),
        float(np.median(absolute)),
        float(np.percentile(absolute, 90)),
        float((absolute <= half_s).mean()),
        float(signed.mean()),
    )


def result_of(errors: Sequence[StopError], *, window_s: int = DEFAULT_WINDOW_S) -> ReplayResult:
    """The summary of stop errors (also to pool several replays)."""
    half = window_s / 2
    promised = _summary([e.error_s for e in errors], half)
    nexts = [e.next_error_s for e in errors if e.next_error_s is not None]
    following = _summary(nexts, half)
    return ReplayResult(
        days=len({e.date for e in errors}),
        routes=len({e.route_id for e in errors}),
        stops=len(errors),
        mae_s=promised[0],
        median_abs_s=promised[1],
        p90_abs_s=promised[2],
        inside_share=promised[3],
        bias_s=promised[4],
        next_stops=len(nexts),
        next_mae_s=following[0],
        next_median_abs_s=following[1],
        next_p90_abs_s=following[2],
        next_inside_share=following[3],
        next_bias_s=following[4],
        window_s=window_s,
        errors=tuple(errors),
    )


def eta_replay(
    dates: Sequence[dt.date],
    corrections: Corrections,
    *,
    window_s: int = DEFAULT_WINDOW_S,
    matrix_of=None,
) -> ReplayResult:
    """Replay the published routes of `dates` in the current schema under `corrections`
    (see the module doc). `matrix_of` replaces the road model (`routing.services.matrix
    .travel_matrix`, uncorrected) for a test or a bench."""
    if matrix_of is None:  # looked up when called, as routes.py does: a patched one applies
        from routing.services.matrix import travel_matrix as matrix_of
    zone = ZoneInfo(current_tenant().time_zone)
    errors: list[StopError] = []
    seen: set[int] = set()  # an order counts once, on the newest published plan of its day
    plans = (
        Plan.objects.filter(date__in=list(dates), published_at__isnull=False)
        .order_by("date", "-published_at", "-pk")
        .only("pk", "date")
    )
    for plan in plans:
        midnight = dt.datetime.combine(plan.date, dt.time(), tzinfo=zone)
        routes = list(
            PlanRoute.objects.filter(plan=plan)
            .select_related("driver", "vehicle", "vehicle__start_depot", "vehicle__end_depot")
            .order_by("pk")
        )
        stops_of: dict[int, list[PlanStop]] = {route.pk: [] for route in routes}
        stops = PlanStop.objects.filter(route__plan=plan).select_related("order")
        for stop in stops.order_by("route_id", "sequence"):
            stops_of[stop.route_id].append(stop)
        events = _events_of(plan, midnight, midnight + dt.timedelta(days=1))
        for route in routes:
            errors += _route_errors(
                route, stops_of[route.pk], events, midnight, corrections, matrix_of, seen
            )
    return result_of(errors, window_s=window_s)


def _events_of(
    plan: Plan, since: dt.datetime, until: dt.datetime
) -> dict[int, list[tuple[str, dt.datetime]]]:
    """The road events of the day of each order on `plan`, (status, when) in time order."""
    found: dict[int, list[tuple[str, dt.datetime]]] = {}
    on_plan = PlanStop.objects.filter(route__plan=plan, order__isnull=False)
    rows = (
        OrderEvent.objects.filter(
            order_id__in=on_plan.values("order_id"),
            to_status__in=_EVENTS,
            created_at__gte=since,
            created_at__lt=until,
        )
        .order_by("created_at", "id")
        .values_list("order_id", "to_status", "created_at")
    )
    for order_id, status, at in rows:
        found.setdefault(order_id, []).append((status, at))
    return found


def _first(events: list[tuple[str, dt.datetime]], status: str) -> dt.datetime | None:
    return next((at for s, at in events if s == status), None)


def _route_errors(
    route: PlanRoute,
    stops: list[PlanStop],
    events: dict[int, list[tuple[str, dt.datetime]]],
    midnight: dt.datetime,
    corrections: Corrections,
    matrix_of,
    seen: set[int],
) -> list[StopError]:
    """The errors of `route`'s reached stops (`stops`: the route's, in sequence)."""
    seconds = lambda at: round((at - midnight).total_seconds())  # noqa: E731
    reached = []  # (arrived at, stop)
    for stop in stops:
        order = stop.order
        if order is None or order.pk in seen or order.lat is None or order.lng is None:
            continue
        arrived = _first(events.get(order.pk, []), OrderStatus.ARRIVED)
        if arrived is not None:
            reached.append((arrived, stop))
    if not reached:
        return []
    reached.sort(key=lambda pair: (pair[0], pair[1].sequence))
    seen.update(stop.order_id for _, stop in reached)

    day = problem_for_day(
        orders=[stop.order for _, stop in reached],
        crews=[Crew(route.driver, route.vehicle)],
        matrix_of=matrix_of,
        rush=corrections.rush_for(midnight.date()),
        pairs=False,  # the order is the one driven: each stop timed as a job of its own
        corrections=corrections,  # door times and area factors (none: the configured)
    )
    problem = day.problem
    index = {o.pk: k for k, o in enumerate(day.orders)}
    vehicle = problem.vehicles[0]

    def set_off(k: int) -> dt.datetime | None:
        """When the driver set off towards the k-th reached stop (its last en_route
        event before arriving)."""
        arrived, stop = reached[k]
        going = [at for s, at in events.get(stop.order_id, []) if s == OrderStatus.EN_ROUTE]
        going = [at for at in going if at <= arrived]
        return going[-1] if going else None

    # (a) promised at departure: the whole reached sequence from the actual departure
    departed = set_off(0) or route.starts_at
    steps = [Step(StepKind.JOB, index[stop.order_id]) for _, stop in reached]
    break_stop = next((s for s in stops if s.is_break), None)
    if break_stop is not None and vehicle.breaks:
        before = sum(1 for _, s in reached if s.sequence < break_stop.sequence)
        steps.insert(before, Step(StepKind.BREAK, 0))
    timed = route_of(problem, RoutePlan(0, steps), depart_s=seconds(departed))
    arrivals = [v.arrival_s for v in timed.visits[1 : 1 + len(steps)] if v.kind != "break"]

    # (b) next stop: each leg alone, from the actual departure of the stop before
    found = []
    for k, (arrived, stop) in enumerate(reached):
        location = problem.jobs[index[stop.order_id]].location
        if k == 0:
            start, leave = vehicle.start, departed
        else:
            before_at, before = reached[k - 1]
            start = problem.jobs[index[before.order_id]].location
            leave = set_off(k) or _left(events.get(before.order_id, []), before_at)
            if leave is None:
                leave = before_at + dt.timedelta(seconds=corrections.service_s(before.order))
        next_s = None
        if int(problem.durations_s[start, location]) < UNREACHABLE_S:
            leg = dataclasses.replace(problem, vehicles=(_from(vehicle, start),))
            job = Step(StepKind.JOB, index[stop.order_id])
            next_s = route_of(leg, RoutePlan(0, [job]), depart_s=seconds(leave)).visits[1].arrival_s
        if arrivals[k] >= UNREACHABLE_S:
            continue
        found.append(
            StopError(
                date=midnight.date(),
                route_id=route.pk,
                order_id=stop.order_id,
                actual_s=seconds(arrived),
                promised_s=arrivals[k],
                next_s=next_s,
            )
        )
    return found


def _from(vehicle, start: int):
    """The vehicle setting off from `start`, its break behind it (a single leg)."""
    return dataclasses.replace(vehicle, start=start, breaks=())


def _left(events: list[tuple[str, dt.datetime]], arrived: dt.datetime) -> dt.datetime | None:
    """When the driver left a stop reached at `arrived`: its first delivered or failed
    event after arriving."""
    return next(
        (
            at
            for s, at in events
            if s in (OrderStatus.DELIVERED, OrderStatus.FAILED) and at >= arrived
        ),
        None,
    )
