"""A stored route's times, recomputed from its stop order, and its published versions.

Every change to a route (a manual move, a re-solve, an urgent order, a failed stop) ends
in `route_retime`, which times the stops with the optimiser's own rules
(`routing.optimiser.schedule.route_of`) and stores the rules the order breaks instead of refusing
it; a published route then gets a new `RouteVersion` for the driver.

What the drivers taught (`routing.services.corrections`) times every leg and door; when
it is in use each stop is timed a second time without it, from the same departure, and
the difference is stored with why (`PlanStop.learned_shift_s`, `PlanStop.learned`) for the
plan page.

Live progress: on a published route the stops up to the last one the driver reached
(arrived or delivered) are behind; the rest is timed from there, no earlier than now, so
a late driver pushes every later arrival back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from dispatch.models import Order, OrderEvent, OrderStatus
from routing.models import Plan, PlanRoute, PlanStop, RouteVersion
from routing.optimiser.problem import Route, RoutePlan, Step, StepKind
from routing.optimiser.schedule import UNREACHABLE_S, route_of
from routing.services import baseline
from routing.services.conversion import Crew, DayProblem, problem_for_day, rush_of, unlearned
from routing.services.corrections import Corrections, corrections, hour_of_week
from routing.signals import plan_changed
from tenants.selectors import current_tenant

#: Order statuses that put a stop behind the driver (the route resumes after it).
REACHED = frozenset({OrderStatus.ARRIVED, OrderStatus.DELIVERED})
#: Order statuses that take a stop off its route and back to the plan's pool.
DROPPED = frozenset({OrderStatus.FAILED, OrderStatus.CANCELLED, OrderStatus.UNASSIGNED})

VIOLATION_LABELS = {
    "time_window": "outside its time window",
    "capacity": "over the vehicle's capacity",
    "skills": "needs a skill this vehicle and driver lack",
    "unreachable": "no road to this stop",
    "shift": "the route ends after the driver's shift",
    "max_duration": "the route is longer than the vehicle allows",
    "max_distance": "the route drives further than the vehicle allows",
    "max_stops": "more stops than the vehicle allows",
    "break": "the driver's break cannot start in its window",
}


def midnight_of(plan: Plan) -> dt.datetime:
    """Local midnight of the plan's day: the origin of the optimiser's seconds."""
    return dt.datetime.combine(plan.date, dt.time(), tzinfo=ZoneInfo(current_tenant().time_zone))


@dataclass
class StopTimes:
    arrives_at: dt.datetime
    starts_at: dt.datetime
    departs_at: dt.datetime
    waiting_s: int
    load: list[int]
    #: how much later the stop is reached than without learning, and why (see the module doc)
    learned_shift_s: int = 0
    learned: dict = field(default_factory=dict)


@dataclass
class Timeline:
    """A route timed from its current stop order (see the module doc)."""

    stops: dict[int, StopTimes] = field(default_factory=dict)  # PlanStop pk → times
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    distance_m: int = 0
    duration_s: int = 0
    waiting_s: int = 0
    violations: list[dict] = field(default_factory=list)
    reached: int = 0  # the position just after the furthest stop reached
    behind: set[int] = field(default_factory=set)  # PlanStop pks the driver reached
    learned_shift_s: int = 0  # how much later the route ends than without learning


#: The statuses whose times re-time a route on the road (the others say nothing of where
#: the van is).
_ON_THE_ROAD = (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, OrderStatus.DELIVERED)


def _event_times(order_ids: list[int]) -> dict[tuple[int, str], dt.datetime]:
    """When each order last entered each status of the road (en route, arrived,
    delivered)."""
    events = (
        OrderEvent.objects.filter(order_id__in=order_ids, to_status__in=_ON_THE_ROAD)
        .order_by("created_at", "id")
        .values_list("order_id", "to_status", "created_at")
    )
    return {(order, status): at for order, status, at in events}


def split_reached(
    stops: list[PlanStop], events: dict[tuple[int, str], dt.datetime]
) -> tuple[list[PlanStop], list[PlanStop], PlanStop | None, int]:
    """`(behind, ahead, last, position)`: the stops whose orders the driver reached (and a
    break placed before the last of them), the rest in their order (a stop the driver
    skipped included), the stop reached last, and the position just after the furthest
    reached stop (nothing may be put before it)."""
    reached = [s for s in stops if s.order is not None and s.order.status in REACHED]
    if not reached:
        return [], list(stops), None, 0

    def when(stop: PlanStop) -> dt.datetime:
        return (
            events.get((stop.order_id, OrderStatus.DELIVERED))
            or events.get((stop.order_id, OrderStatus.ARRIVED))
            or stop.departs_at
        )

    last = max(reached, key=when)
    position = max(stops.index(s) for s in reached) + 1
    behind = [s for k, s in enumerate(stops) if s in reached or (s.is_break and k < position)]
    return behind, [s for s in stops if s not in behind], last, position


def route_timeline(route: PlanRoute, *, now: dt.datetime | None = None) -> Timeline:
    """Time `route`'s stops in their stored order. With `now` (a published plan during
    its day), stops the driver reached keep their times and the rest starts from the
    one reached last, no earlier than `now`."""
    plan = route.plan
    midnight = midnight_of(plan)
    seconds = lambda at: int((at - midnight).total_seconds())  # noqa: E731
    at = lambda s: midnight + dt.timedelta(seconds=s)  # noqa: E731
    stops = list(route.stops.select_related("order").order_by("sequence"))
    live = now is not None and plan.is_published
    taught = corrections()
    events = _event_times([s.order_id for s in stops if s.order_id]) if live else {}
    behind, ahead, last, reached = split_reached(stops, events)
    crew = Crew(route.driver, route.vehicle)
    depart_s = seconds(route.starts_at) if plan.is_published else None
    if last is not None:
        order = last.order
        if order.status == OrderStatus.DELIVERED:
            left = events.get((order.pk, OrderStatus.DELIVERED), last.departs_at)
        else:  # still there: leaves after serving, no earlier than now
            arrived = events.get((order.pk, OrderStatus.ARRIVED), last.arrives_at)
            left = max(arrived + dt.timedelta(seconds=taught.service_s(order)), now)
        going = [s.order for s in ahead if s.order and s.order.status == OrderStatus.EN_ROUTE]
        # on the way to the next stop since it set off; otherwise not on the way yet
        left = events.get((going[0].pk, OrderStatus.EN_ROUTE), left) if going else max(left, now)
        depart_s = seconds(left)
        crew = Crew(
            route.driver,
            route.vehicle,
            start_at=(order.lat, order.lng),
            ready_s=depart_s,
            break_done=any(s.is_break for s in behind),
        )
    timeline = Timeline(reached=reached, behind={s.pk for s in behind})
    orders = [s.order for s in ahead if s.order is not None]
    day = problem_for_day(
        orders=orders,
        crews=[crew],
        matrix_of=_travel_matrix(),
        rush=taught.rush_for(plan.date),
        pairs=False,  # the sequence is chosen: each stop timed as a job of its own
        corrections=taught,
    )
    index = {o.pk: k for k, o in enumerate(day.orders)}
    has_break = bool(day.problem.vehicles[0].breaks)
    steps, timed = [], []
    for stop in ahead:
        if stop.is_break:
            if has_break:
                steps.append(Step(StepKind.BREAK, 0))
                timed.append(stop)
        elif stop.order_id in index:
            steps.append(Step(StepKind.JOB, index[stop.order_id]))
            timed.append(stop)
    timed_route = route_of(day.problem, RoutePlan(0, steps), depart_s=depart_s)
    if live and steps:
        first = timed_route.visits[1]
        # the phone's position decides when the van reaches the stop it is heading to;
        # without one, a stop not reached yet cannot be reached in the past
        target = _gps_arrival_s(route, timed[0], now, seconds)
        if target is None and seconds(now) > first.arrival_s:
            target = seconds(now)
        if target is not None and target != first.arrival_s:
            depart_s = timed_route.visits[0].departure_s + target - first.arrival_s
            timed_route = route_of(day.problem, RoutePlan(0, steps), depart_s=depart_s)
    notes, timeline.learned_shift_s = learned_notes(
        day, RoutePlan(0, steps), timed_route, midnight=midnight
    )
    for stop in behind:  # reached: what learning did to it stays as it was
        timeline.stops[stop.pk] = StopTimes(
            stop.arrives_at,
            stop.starts_at,
            stop.departs_at,
            stop.waiting_s,
            list(stop.load),
            stop.learned_shift_s,
            stop.learned,
        )
    for stop, visit, (shift, why) in zip(
        timed, timed_route.visits[1 : 1 + len(steps)], notes, strict=True
    ):
        timeline.stops[stop.pk] = StopTimes(
            at(visit.arrival_s),
            at(visit.start_s),
            at(visit.departure_s),
            visit.waiting_s,
            list(visit.load),
            shift,
            why,
        )
    for v in timed_route.violations:
        stop = timed[v.step - 1] if v.step else None
        label = VIOLATION_LABELS.get(v.code, v.code.replace("_", " "))
        timeline.violations.append(
            {
                "kind": v.code,
                "sequence": stop.sequence if stop else None,
                "order": stop.order_id if stop else None,
                "detail": f"Order #{stop.order_id}: {label}" if stop and stop.order_id else label,
            }
        )
    first_departure = at(timed_route.visits[0].departure_s)
    timeline.ends_at = at(timed_route.visits[-1].arrival_s)
    # a driver who set off early may be done before the planned start
    timeline.starts_at = min(route.starts_at, timeline.ends_at) if behind else first_departure
    timeline.distance_m = timed_route.distance_m
    if behind:  # what lies behind was driven as planned; what lies ahead as timed now
        timeline.distance_m += _driven_distance(route, behind)
    timeline.duration_s = int((timeline.ends_at - timeline.starts_at).total_seconds())
    timeline.waiting_s = sum(t.waiting_s for t in timeline.stops.values())
    return timeline


def learned_notes(
    day: DayProblem, plan: RoutePlan, timed: Route, *, midnight: dt.datetime
) -> tuple[list[tuple[int, dict]], int]:
    """What the drivers taught did to `timed` (`plan` timed on `day.problem`): per step,
    how much later (seconds) the stop is reached than on the same day without it
    (`conversion.unlearned`) from the same departure, and why: {"service": its learned
    door time (`ServiceNote.as_json`), "travel": the learned factor of the leg into it};
    and how much later the route ends. Nothing learned applied: zeros, no second timing."""
    taught = day.corrections
    if taught is None:
        return [(0, {}) for _ in plan.steps], 0
    plain = unlearned(day, rush_of(taught.rush_hours, midnight.date()))
    base = route_of(plain, plan, depart_s=timed.visits[0].departure_s)
    notes = []
    for k, step in enumerate(plan.steps, start=1):
        why: dict = {}
        if step.kind is not StepKind.BREAK:
            _, service = taught.service(day.order_of(step.kind.value, step.index))
            if service is not None:
                why["service"] = service.as_json()
            travel = _leg_note(taught, day.points, timed.visits, k, midnight)
            if travel is not None:
                why["travel"] = travel
        notes.append((timed.visits[k].arrival_s - base.visits[k].arrival_s, why))
    return notes, timed.visits[-1].arrival_s - base.visits[-1].arrival_s


def _leg_note(
    taught: Corrections, points: list, visits: list, k: int, midnight: dt.datetime
) -> dict | None:
    """The learned factor of the leg into `visits[k]` (the hour of the week it sets off
    in x its area), when either is learned and their product is not 1; else None."""
    here = visits[k]
    before = visits[k - 1]
    if before.kind == "break" and before.location == here.location and k >= 2:
        before = visits[k - 2]  # the leg was driven before the break, set off before it
    if before.location is None or here.location is None or before.location == here.location:
        return None
    local = midnight + dt.timedelta(seconds=before.departure_s)
    hour, hour_legs = taught.hour_factor(local)
    area, area_legs = taught.area_factor(points[before.location], points[here.location])
    factor = round(hour * area, 2)
    if not (hour_legs or area_legs) or factor == 1.0:
        return None
    return {
        "factor": factor,
        "legs": hour_legs + area_legs,
        "hour_of_week": hour_of_week(local),
        "hour": [round(hour, 2), hour_legs],
        "area": [round(area, 2), area_legs],
    }


#: A phone position older than this says nothing about where the van is now.
GPS_FRESH = dt.timedelta(minutes=5)


class VanPosition(NamedTuple):
    recorded_at: dt.datetime
    lat: float
    lng: float


def _no_positions(driver_id: int) -> VanPosition | None:
    return None


#: Where a driver's van is now, from their phone. Planning knows no phones: the day
#: (tracking) plugs its positions in when it starts (`van_positions_from`); until then
#: routes are timed from the plan and the stop events alone.
_van_position: Callable[[int], VanPosition | None] = _no_positions


def van_positions_from(source: Callable[[int], VanPosition | None]) -> None:
    global _van_position
    _van_position = source


def arrival_from(
    at: dt.datetime, lat: float, lng: float, order_id: int, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When a van at (`lat`, `lng`) at `at` should reach the order, by the travel model the
    plans use: the road time from the van's position put on the road network (the
    tenant's road region, or an OSRM server), times the factor of the leg's area and the
    factor of the hour it sets off in, as learned from the drivers where they taught one
    (else 1 and the configured rush hours); None when no road joins them."""
    order = Order.objects.filter(pk=order_id).only("lat", "lng").first()
    if order is None or order.lat is None:
        return None
    matrix = _travel_matrix()([(lat, lng), (order.lat, order.lng)])
    seconds = int(matrix.durations_s[0][1])
    if seconds >= UNREACHABLE_S:  # no road from where the van is: no honest time
        return None
    leaves = max(at, now or timezone.now())
    local = leaves.astimezone(ZoneInfo(current_tenant().time_zone))
    taught = corrections()
    area, _ = taught.area_factor((lat, lng), (order.lat, order.lng))
    hour, _ = taught.hour_factor(local)
    seconds = round(round(seconds * area) * hour)  # as a plan's leg: the area's, then the hour's
    return leaves + dt.timedelta(seconds=seconds)


def _gps_arrival_s(route: PlanRoute, stop: PlanStop, now: dt.datetime, seconds) -> int | None:
    """When the van reaches `stop` from the driver's latest phone position, if the driver
    is on the way to it and the position is fresh."""
    if stop.order is None or stop.order.status != OrderStatus.EN_ROUTE:
        return None
    position = _van_position(route.driver_id)
    if position is None or position.recorded_at < now - GPS_FRESH:
        return None
    eta = arrival_from(position.recorded_at, position.lat, position.lng, stop.order_id, now=now)
    return seconds(eta) if eta is not None else None


def _driven_distance(route: PlanRoute, behind: list[PlanStop]) -> int:
    """Planned distance from the depot through the stops already reached."""
    orders = [s.order for s in behind if s.order is not None]
    day = problem_for_day(
        orders=orders,
        crews=[Crew(route.driver, route.vehicle)],
        matrix_of=_travel_matrix(),
        pairs=False,
    )
    dist = day.problem.distances_m
    here, total = day.problem.vehicles[0].start, 0
    for job in day.problem.jobs:
        total += int(dist[here, job.location])
        here = job.location
    return total


def _travel_matrix():
    from routing.services.matrix import travel_matrix

    return travel_matrix


@transaction.atomic
def route_retime(
    route: PlanRoute, *, now: dt.datetime | None = None, reason: str = "", actor: str = ""
) -> Timeline:
    """Renumber `route`'s stops 1..n in their order, store their times and the rules the
    order breaks; a published route gets a new version with `reason`."""
    stops = list(route.stops.order_by("sequence", "pk"))
    if [s.sequence for s in stops] != list(range(1, len(stops) + 1)):
        for k, stop in enumerate(stops, start=1):
            stop.sequence = k
        _stops_store(stops, ["sequence"])  # the unique check waits for commit
    if route.plan.is_published and now is None:
        now = timezone.now()
    timeline = route_timeline(route, now=now)
    for stop in stops:
        t = timeline.stops.get(stop.pk)
        if t is not None:
            stop.arrives_at, stop.starts_at, stop.departs_at = (
                t.arrives_at,
                t.starts_at,
                t.departs_at,
            )
            stop.waiting_s, stop.load = t.waiting_s, t.load
            stop.learned_shift_s, stop.learned = t.learned_shift_s, t.learned
    _stops_store(stops, [*_TIMES, "learned_shift_s", "learned"])
    route.starts_at, route.ends_at = timeline.starts_at, timeline.ends_at
    route.distance_m, route.duration_s = timeline.distance_m, timeline.duration_s
    route.waiting_s, route.violations = timeline.waiting_s, timeline.violations
    route.learned_shift_s = timeline.learned_shift_s
    route.arrival_order_distance_m = baseline.arrival_order_distance(route)  # reports
    route.save()
    plan_totals(route.plan, actor=actor)
    if route.plan.is_published and (route.version or stops):
        version_create(route, reason=reason or "Route changed", actor=actor)
    return timeline


#: A stop's times, as `route_retime` stores them.
_TIMES = ["arrives_at", "starts_at", "departs_at", "waiting_s", "load"]

#: The SQL type of each PlanStop column `_stops_store` writes.
_STOP_COLUMNS = {
    "sequence": "integer",
    "arrives_at": "timestamptz",
    "starts_at": "timestamptz",
    "departs_at": "timestamptz",
    "waiting_s": "integer",
    "load": "jsonb",
    "learned_shift_s": "integer",
    "learned": "jsonb",
}


def _stops_store(stops: list[PlanStop], fields: list[str]) -> None:
    """Write `fields` of every stop in one UPDATE … FROM unnest(…): Django's bulk_update
    builds a CASE per field and row, which cost a re-timed route most of its time."""
    if not stops:
        return
    unknown = set(fields) - set(_STOP_COLUMNS)
    if unknown:
        raise ValueError(f"not a column _stops_store writes: {sorted(unknown)}")
    table = PlanStop._meta.db_table
    arrays = [[s.pk for s in stops]]
    for name in fields:
        values = [getattr(s, name) for s in stops]
        jsonb = _STOP_COLUMNS[name] == "jsonb"
        arrays.append([json.dumps(v) for v in values] if jsonb else values)
    columns = ", ".join(
        f"%s::{'text' if _STOP_COLUMNS[n] == 'jsonb' else _STOP_COLUMNS[n]}[]" for n in fields
    )
    sets = ", ".join(
        f"{n} = v.{n}::jsonb" if _STOP_COLUMNS[n] == "jsonb" else f"{n} = v.{n}" for n in fields
    )
    # table and column names come from the model and _STOP_COLUMNS only; values are parameters
    names = ", ".join(fields)
    sql = f"UPDATE {table} AS s SET {sets} FROM unnest(%s::bigint[], {columns}) AS v(id, {names}) WHERE s.id = v.id"  # noqa: S608, E501
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)


#: The code of the refusal of an edit made on an older revision of the plan.
STALE = "stale"
STALE_TEXT = gettext_lazy(
    "This plan changed since you loaded it (someone else edited it, or a driver's progress "
    "moved it on). It is shown as it stands now: try again."
)


def revision_check(plan: Plan, revision: int | None) -> None:
    """Refuse (code STALE) an edit made on `revision` of a plan that is no longer there;
    `plan` is the row as locked by the edit's transaction."""
    if revision is not None and plan.revision != revision:
        raise ValidationError({"revision": ValidationError(STALE_TEXT, code=STALE)})


def is_stale(exc: ValidationError) -> bool:
    """Whether a service refused an edit because the plan moved past its revision."""
    return hasattr(exc, "error_dict") and any(
        e.code == STALE for e in exc.error_dict.get("revision", [])
    )


def plan_totals(plan: Plan, *, actor: str = "") -> None:
    """The plan's distance and duration: the sums over its routes (a change: the plan's
    revision goes up)."""
    routes = list(PlanRoute.objects.filter(plan=plan).values_list("distance_m", "duration_s"))
    plan.distance_m = sum(d for d, _ in routes)
    plan.duration_s = sum(s for _, s in routes)
    Plan.objects.filter(pk=plan.pk).update(distance_m=plan.distance_m, duration_s=plan.duration_s)
    plan_touched(plan, actor=actor)


def plan_touched(plan: Plan, *, actor: str = "") -> int:
    """Count a change of `plan` (its routes, stops, locks or status): its revision goes
    up by one, in the database first (concurrent edits each count), and `plan_changed`
    is sent. Returns the new revision."""
    rows = Plan.objects.filter(pk=plan.pk)
    rows.update(revision=F("revision") + 1)
    plan.revision = rows.values_list("revision", flat=True).get()
    plan_changed.send(sender=Plan, plan=plan, actor=actor)
    return plan.revision


def _snapshot(route: PlanRoute) -> list[dict]:
    return [
        {
            "order": s.order_id,
            "sequence": s.sequence,
            "is_break": s.is_break,
            "arrives_at": s.arrives_at.isoformat(),
            "starts_at": s.starts_at.isoformat(),
        }
        for s in route.stops.order_by("sequence")
    ]


def version_create(route: PlanRoute, *, reason: str, actor: str = "") -> RouteVersion | None:
    """A new version of a published route when its stops or their order changed since
    the last one; None when nothing did. Versions are never edited: each keeps the times
    promised when it was made (the ETA compares against them)."""
    stops = _snapshot(route)
    previous = route.versions.order_by("-number").first()
    before = [s["order"] for s in previous.stops if not s["is_break"]] if previous else []
    after = [s["order"] for s in stops if not s["is_break"]]
    if previous is not None and before == after:
        return None  # same order, new times: what was promised stays as it was
    kept_before = [o for o in before if o in after]
    kept_after = [o for o in after if o in before]
    changes = {
        "added": [o for o in after if o not in before],
        "removed": [o for o in before if o not in after],
        "moved": [o for k, o in enumerate(kept_after) if kept_before[k] != o],
    }
    number = (previous.number if previous else 0) + 1
    version = RouteVersion.objects.create(
        route=route,
        number=number,
        reason=reason[:200],
        actor=actor[:150],
        stops=stops,
        changes=changes if previous else {},
    )
    PlanRoute.objects.filter(pk=route.pk).update(version=number)
    route.version = number
    from routing.signals import route_version_created

    route_version_created.send(sender=RouteVersion, version=version)
    return version
