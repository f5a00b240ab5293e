"""Read-only queries of plans for the dashboard and the route sheets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.timezone import localtime

from dispatch.models import Driver, Order, OrderStatus, Vehicle
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned

#: Route colours on the map and the timeline (distinct, readable on OpenStreetMap tiles).
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)

REASON_LABELS = {
    "capacity": "Too big for every vehicle",
    "time_window": "No vehicle can make its time window",
    "skills": "Needs a skill no driver or vehicle has",
    "unreachable": "Unreachable by road",
    "max_duration": "Too far for the longest route allowed",
    "max_distance": "Too far for the distance allowed",
    "no_room": "No room left on any route",
    "not_worth_it": "Costs more to serve than its priority is worth",
    "not_geocoded": "No coordinates (address not geocoded)",
    "manual": "Taken off by the dispatcher",
    "vehicle_removed": "Its vehicle left the plan",
    "failed": "Delivery failed",
    "cancelled": "Cancelled",
    "urgent": "Urgent, waiting for a place",
    "rescheduled": "Moved to another day",
}


def plans_list() -> QuerySet[Plan]:
    plans = Plan.objects.select_related("depot").annotate(route_count=Count("routes"))
    return plans.order_by("-created_at", "-pk")


def plan_routes(plan: Plan, only: set[int] | None = None) -> list[PlanRoute]:
    """The plan's routes (those in `only`, if given) with their stops (and orders) in
    driving order."""
    stops = PlanStop.objects.select_related("order").order_by("sequence")
    routes = (
        plan.routes.select_related("driver", "vehicle__start_depot", "vehicle__end_depot")
        .prefetch_related(Prefetch("stops", queryset=stops))
        .order_by("pk")
    )
    if only is not None:
        routes = routes.filter(pk__in=only)
    return list(routes)


def route_colour(route: PlanRoute) -> str:
    """The route's colour on every map: its place among its plan's routes (`plan_routes`'
    order), as the plan page gives it."""
    place = PlanRoute.objects.filter(plan_id=route.plan_id, pk__lt=route.pk).count()
    return PALETTE[place % len(PALETTE)]


def plan_pool(plan: Plan) -> list[PlanUnassigned]:
    return list(plan.unassigned.select_related("order").order_by("order_id"))


def pool_orders_to_place(plan: Plan) -> list[Order]:
    """The orders in the plan's pool a solve may put on its routes: still open and still
    booked for the plan's day (one rebooked for another day waits there as "rescheduled")."""
    pool = plan.unassigned.filter(
        order__status=OrderStatus.UNASSIGNED, order__delivery_date=plan.date
    )
    return [u.order for u in pool.select_related("order").order_by("order_id")]


def orders_off_the_day(plan: Plan, order_ids) -> dict[int, str]:
    """Of `order_ids`, those the plan may no longer place, as they stand now: cancelled or
    failed (pk → that status), or booked for another day (pk → "rescheduled")."""
    ended = (OrderStatus.CANCELLED, OrderStatus.FAILED)
    rows = Order.objects.filter(pk__in=list(order_ids)).filter(
        Q(status__in=ended) | ~Q(delivery_date=plan.date)
    )
    return {
        pk: status if status in ended else "rescheduled"
        for pk, status in rows.values_list("pk", "status")
    }


def crews_not_in(plan: Plan) -> tuple[list[Driver], list[Vehicle]]:
    """Active drivers and vehicles without a route in the plan (to add one)."""
    drivers = Driver.objects.filter(is_active=True).exclude(pk__in=plan.routes.values("driver_id"))
    vehicles = Vehicle.objects.filter(is_active=True).exclude(
        pk__in=plan.routes.values("vehicle_id")
    )
    return list(drivers.order_by("name")), list(vehicles.order_by("name"))


@dataclass
class Bar:
    """A block on a route's timeline: left and width in % of the day's span."""

    left: float
    width: float
    label: str
    kind: str  # "drive", "stop", "break", "wait"


def map_data(plan: Plan, routes: list[PlanRoute], pool: list[PlanUnassigned]) -> dict:
    """What the plan's map draws: per route its colour, depot and stops; the pool."""
    out = {"routes": [], "pool": []}
    for k, route in enumerate(routes):
        depot = route.vehicle.start_depot
        out["routes"].append(
            {
                "id": route.pk,
                "name": f"{route.driver.name} · {route.vehicle.name}",
                "colour": PALETTE[k % len(PALETTE)],
                "depot": [depot.lat, depot.lng],
                "stops": [
                    {
                        "order": s.order_id,
                        "sequence": s.sequence,
                        "lat": s.order.lat,
                        "lng": s.order.lng,
                        "name": s.order.customer_name,
                        "at": s.starts_at.isoformat(),
                    }
                    for s in route.stops.all()
                    if s.order is not None and s.order.lat is not None
                ],
            }
        )
    for item in pool:
        if item.order.lat is not None:
            out["pool"].append(
                {
                    "order": item.order_id,
                    "lat": item.order.lat,
                    "lng": item.order.lng,
                    "name": item.order.customer_name,
                    "reason": REASON_LABELS.get(item.reason, item.reason),
                }
            )
    return out


def timelines(routes: list[PlanRoute]) -> tuple[dict[int, list[Bar]], list[tuple[float, str]]]:
    """Per route, its day as blocks placed on one shared time axis; and the axis' hour
    marks as (left %, "HH:00")."""
    starts = [r.starts_at for r in routes if r.stops.all()]
    ends = [r.ends_at for r in routes if r.stops.all()]
    if not starts:
        return {}, []
    first, last = min(starts), max(ends)
    span = max((last - first).total_seconds(), 1.0)

    def pct(at) -> float:
        return round(100 * (at - first).total_seconds() / span, 2)

    bars: dict[int, list[Bar]] = {}
    for route in routes:
        blocks = []
        for stop in route.stops.all():
            if stop.waiting_s:
                blocks.append(
                    Bar(
                        pct(stop.arrives_at),
                        pct(stop.starts_at) - pct(stop.arrives_at),
                        f"waits {stop.waiting_s // 60} min",
                        "wait",
                    )
                )
            label = "Break" if stop.is_break else f"#{stop.sequence} {stop.order.customer_name}"
            label += f" {localtime(stop.starts_at):%H:%M}"
            blocks.append(
                Bar(
                    pct(stop.starts_at),
                    max(pct(stop.departs_at) - pct(stop.starts_at), 0.3),
                    label,
                    "break" if stop.is_break else "stop",
                )
            )
        bars[route.pk] = blocks
    hour = localtime(first).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    ticks = []
    while hour < last:
        ticks.append((pct(hour), f"{hour:%H:%M}"))
        hour += dt.timedelta(hours=1)
    return bars, ticks


def urgent_candidates(plan: Plan, limit: int = 200) -> QuerySet:
    """Open orders of the plan's day that are neither on its routes nor in its pool."""
    return (
        Order.objects.filter(delivery_date=plan.date, status="unassigned")
        .exclude(pk__in=plan.unassigned.values("order_id"))
        .exclude(planstop__route__plan=plan)
        .order_by("pk")[:limit]
    )


def published_stop(order_id: int) -> PlanStop | None:
    """The order's stop on its newest published route (with route, plan, driver, vehicle)."""
    return (
        PlanStop.objects.filter(order_id=order_id, route__plan__published_at__isnull=False)
        .select_related("route__plan", "route__driver", "route__vehicle", "order")
        .order_by("-route__plan__published_at")
        .first()
    )


def driver_stop(driver: Driver | None, order_id: int) -> PlanStop | None:
    """The stop of `order_id` on one of `driver`'s published routes: what a driver may
    report on or prove delivered (None for anything else, another driver's order included)."""
    if driver is None:
        return None
    return (
        PlanStop.objects.filter(
            order_id=order_id, route__driver=driver, route__plan__published_at__isnull=False
        )
        .select_related("order")
        .first()
    )


# --- the dispatch board ---------------------------------------------------------------

#: A stop whose expected start is this close to the end of its window is at risk.
AT_RISK_S = 15 * 60

#: A stop's state on the board (its colour), from its order's status and its times.
STATE_LABELS = {
    "planned": "Planned",
    "en_route": "En route",
    "arrived": "Arrived",
    "delivered": "Delivered",
    "failed": "Failed",
    "late": "Late",
    "at_risk": "At risk",
    "break": "Break",
}
_OPEN = {
    OrderStatus.UNASSIGNED,
    OrderStatus.PLANNED,
    OrderStatus.DISPATCHED,
    OrderStatus.EN_ROUTE,
}


@dataclass
class BoardStop:
    stop: PlanStop
    position: int  # 1-based place on its route, the break counted (what a move names)
    eta: dt.datetime  # when service starts: as planned, or as expected now on a running day
    state: str
    late_by_s: int = 0  # past the end of its window (late), or left before it (at risk)
    pinned: bool = False  # the driver reached it or is on the way: it cannot move

    @property
    def order(self) -> Order | None:
        return self.stop.order

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class BoardRoute:
    route: PlanRoute
    colour: str
    stops: list[BoardStop]
    ends_at: dt.datetime
    done: int = 0  # delivered or failed
    orders: int = 0
    late: int = 0
    at_risk: int = 0

    @property
    def flags(self) -> list[str]:
        return [v["detail"] for v in self.route.violations]

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.orders) if self.orders else 0


def _window_seconds(order: Order) -> list[tuple[int, int]]:
    from routing.services.conversion import seconds_of

    return [(seconds_of(w["start"]), seconds_of(w["end"])) for w in order.time_windows or []]


def stop_state(stop: PlanStop, eta: dt.datetime, midnight: dt.datetime) -> tuple[str, int]:
    """The stop's state and, for a late or at-risk one, by how many seconds: a stop not
    yet served is late when it is expected to start outside every window of its order,
    at risk when it starts less than AT_RISK_S before its window closes."""
    if stop.is_break or stop.order is None:
        return "break", 0
    status = stop.order.status
    if status in (OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.ARRIVED):
        return str(status), 0
    base = "en_route" if status == OrderStatus.EN_ROUTE else "planned"
    if status not in _OPEN:
        return base, 0
    windows = _window_seconds(stop.order)
    if not windows:
        return base, 0
    at = int((eta - midnight).total_seconds())
    inside = [end for start, end in windows if start <= at <= end]
    if inside:
        left = max(inside) - at
        return ("at_risk", left) if left < AT_RISK_S else (base, 0)
    closed = [end for _, end in windows if end < at]
    return ("late", at - max(closed)) if closed else (base, 0)


def board_routes(
    plan: Plan, *, now: dt.datetime | None = None, only: set[int] | None = None
) -> list[BoardRoute]:
    """The plan's routes as the board shows them: each stop with its place, its expected
    start and its state. On a running day (a published plan, `now` given, the day's own
    date) the stops still ahead are timed from the drivers' progress, as the customers'
    ETAs are; otherwise as planned."""
    from routing.services.routes import midnight_of, route_timeline

    midnight = midnight_of(plan)
    running = now is not None and plan.is_published and localtime(now).date() == plan.date
    out = []
    places = {pk: k for k, pk in enumerate(plan.routes.order_by("pk").values_list("pk", flat=True))}
    for route in plan_routes(plan, only):
        k = places[route.pk]
        stops = list(route.stops.all())
        live = {}
        open_ahead = any(s.order is not None and s.order.status in _OPEN for s in stops)
        ends_at = route.ends_at
        if running and open_ahead:
            timeline = route_timeline(route, now=now)
            live = {pk: t.starts_at for pk, t in timeline.stops.items()}
            ends_at = timeline.ends_at or ends_at
        board = BoardRoute(route=route, colour=PALETTE[k % len(PALETTE)], stops=[], ends_at=ends_at)
        for position, stop in enumerate(stops, start=1):
            eta = live.get(stop.pk, stop.starts_at)
            state, by = stop_state(stop, eta, midnight)
            pinned = (
                plan.is_published
                and stop.order is not None
                and stop.order.status
                in (OrderStatus.ARRIVED, OrderStatus.DELIVERED, OrderStatus.EN_ROUTE)
            )
            board.stops.append(BoardStop(stop, position, eta, state, by, pinned))
            if stop.order is not None:
                board.orders += 1
                board.done += state in ("delivered", "failed")
                board.late += state == "late"
                board.at_risk += state == "at_risk"
        out.append(board)
    return out


def board_axis(routes: list[BoardRoute]) -> tuple[dt.datetime, dt.datetime] | None:
    """The timeline's span: from the first route's start to the last one's end, padded
    to whole hours so that a re-timed route usually stays inside it."""
    busy = [r for r in routes if r.stops]
    if not busy:
        return None
    first = min(r.route.starts_at for r in busy)
    last = max(max(r.ends_at, r.route.ends_at) for r in busy)
    first = localtime(first).replace(minute=0, second=0, microsecond=0)
    last = localtime(last).replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    return first, last


def board_bars(route: BoardRoute, axis: tuple[dt.datetime, dt.datetime]) -> list[dict]:
    """The route's blocks on the shared axis (left and width in %): a wait before a stop,
    then the stop itself, coloured by its state on the page."""
    first, last = axis
    span = max((last - first).total_seconds(), 1.0)

    def pct(at: dt.datetime) -> float:
        return max(0.0, min(100.0, round(100 * (at - first).total_seconds() / span, 2)))

    bars = []
    for item in route.stops:
        stop = item.stop
        shift = item.eta - stop.starts_at  # a running day moves the planned blocks
        arrives, starts = stop.arrives_at + shift, item.eta
        departs = stop.departs_at + shift
        if stop.waiting_s and not stop.is_break:
            bars.append({"kind": "wait", "left": pct(arrives), "width": pct(starts) - pct(arrives)})
        bars.append(
            {
                "kind": "break" if stop.is_break else "stop",
                "item": item,
                "left": pct(starts),
                "width": max(pct(departs) - pct(starts), 0.4),
            }
        )
    return bars


def board_ticks(axis: tuple[dt.datetime, dt.datetime]) -> list[tuple[float, dt.datetime]]:
    first, last = axis
    span = max((last - first).total_seconds(), 1.0)
    hours = int(span // 3600)
    step = 1 if hours <= 12 else 2
    return [
        (round(100 * h * 3600 / span, 2), first + dt.timedelta(hours=h))
        for h in range(0, hours + 1, step)
    ]


def board_pool(plan: Plan) -> list[PlanUnassigned]:
    pool = plan_pool(plan)
    for item in pool:
        item.label = REASON_LABELS.get(item.reason, item.reason)
    return pool


def board_map(plan: Plan, routes: list[BoardRoute], pool: list[PlanUnassigned]) -> dict:
    """What the board's map draws: depots, stops with their state, the pool."""
    depots = {}
    out = {"plan": plan.pk, "revision": plan.revision, "routes": [], "pool": []}
    for board in routes:
        route = board.route
        depot = route.vehicle.start_depot
        depots[depot.pk] = {"name": depot.name, "lat": depot.lat, "lng": depot.lng}
        out["routes"].append(
            {
                "id": route.pk,
                "driver": route.driver_id,
                "name": route.driver.name,
                "colour": board.colour,
                "depot": [depot.lat, depot.lng],
                "locked": route.locked,
                "stops": [
                    {
                        "order": s.stop.order_id,
                        "position": s.position,
                        "lat": s.order.lat,
                        "lng": s.order.lng,
                        "name": s.order.customer_name,
                        "state": s.state,
                        "reached": s.state in ("arrived", "delivered", "failed"),
                    }
                    for s in board.stops
                    if s.order is not None and s.order.lat is not None
                ],
            }
        )
    out["depots"] = list(depots.values())
    out["pool"] = [
        {
            "order": item.order_id,
            "lat": item.order.lat,
            "lng": item.order.lng,
            "name": item.order.customer_name,
            "reason": REASON_LABELS.get(item.reason, item.reason),
        }
        for item in pool
        if item.order.lat is not None
    ]
    return out


def day_plan(day: dt.date) -> Plan | None:
    """The plan a day's board shows: its published plan, else its newest solved one,
    else its newest."""
    plans = Plan.objects.filter(date=day)
    return (
        plans.filter(published_at__isnull=False).order_by("-published_at").first()
        or plans.filter(solved_at__isnull=False).order_by("-solved_at", "-pk").first()
        or plans.order_by("-created_at", "-pk").first()
    )
