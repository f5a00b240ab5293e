"""The dispatch board: what it shows (each route with its stops, their places, their
expected times and their states: planned, en route, late, at risk…) and its drag and
drop: a stop dropped on a route (or back in the pool) is moved and its routes re-timed
at once. A drop that breaks a rule the routes did not break before is shown first and
kept only when the dispatcher confirms it; a drop made on an older revision of the plan
is refused (`edits.STALE`) so that nobody overwrites a change they have not seen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils.timezone import localtime
from django.utils.translation import gettext, gettext_lazy

from dispatch.models import Order, OrderStatus
from routing import selectors
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
from tenants.selectors import current_tenant
from tenants.services.formats import Formats

from .conversion import seconds_of
from .edits import stop_move
from .routes import _event_times, midnight_of, route_timeline


@dataclass
class RouteChange:
    """One route the drop touched, before and after."""

    id: int
    driver: str
    ends_before: dt.datetime
    ends_after: dt.datetime
    distance_before_m: int
    distance_after_m: int
    #: order id → when service starts now, for every stop of the route after the drop
    starts: dict[int, dt.datetime] = field(default_factory=dict)


@dataclass
class Drop:
    saved: bool
    revision: int
    order: int
    route: int | None  # where it went (None: the pool)
    routes: list[RouteChange]
    pooled: bool  # the pool changed (the stop came from it or went to it)
    #: the rules the drop breaks that were kept before it ("Order #12: outside its time window")
    breaks: list[str]


class _Unsaved(Exception):
    """Rolls a previewed drop back."""


def _key(violation: dict) -> tuple:
    return violation.get("kind"), violation.get("order"), violation.get("sequence") is None


@transaction.atomic
def stop_drop(
    *,
    plan: Plan,
    order_id: int,
    route_id: int | None,
    position: int | None,
    revision: int | None,
    confirm: bool = False,
    actor: str = "",
) -> Drop:
    """Move the order to `position` of route `route_id` (None: the pool) as
    `edits.stop_move` does, on the plan as of `revision`. Without `confirm`, a move that
    breaks a new rule is rolled back and returned unsaved, with the re-timed routes and
    what breaks; with it (or when nothing new breaks) it is saved."""
    # the plan's row first: what the drop compares against cannot change under it
    current = Plan.objects.select_for_update().values_list("revision", flat=True).get(pk=plan.pk)
    stop = PlanStop.objects.filter(route__plan=plan, order_id=order_id).only("route_id").first()
    touched = {r for r in (stop.route_id if stop else None, route_id) if r is not None}
    # the other end of a pickup-and-delivery pair moves along (edits.stop_move)
    touched |= set(
        PlanStop.objects.filter(
            Q(order__pair_as_pickup__delivery_id=order_id)
            | Q(order__pair_as_delivery__pickup_id=order_id),
            route__plan=plan,
        ).values_list("route_id", flat=True)
    )
    before = {
        r.pk: r
        for r in PlanRoute.objects.filter(plan=plan, pk__in=touched).select_related("driver")
    }
    if route_id is not None and route_id not in before:
        raise ValidationError(
            {"route": gettext("Route %(route)s is not in this plan.") % {"route": route_id}}
        )
    # what each route broke before, route by route (a rule the source van already broke
    # does not excuse the target van breaking it now)
    was = {pk: set(map(_key, r.violations)) for pk, r in before.items()}
    changes, breaks = [], []
    try:
        # a savepoint of atomic()'s own: when it rolls back, what the move queued for the
        # commit (socket messages, webhooks, customers' notices) goes with it
        with transaction.atomic():
            stop_move(
                plan=plan,
                order_id=order_id,
                route_id=route_id,
                position=position,
                actor=actor,
                revision=revision,
            )
            after = PlanRoute.objects.filter(pk__in=before).select_related("driver")
            for route in after.order_by("pk"):
                old = before[route.pk]
                starts = route.stops.filter(order__isnull=False).values_list(
                    "order_id", "starts_at"
                )
                changes.append(
                    RouteChange(
                        id=route.pk,
                        driver=route.driver.name,
                        ends_before=old.ends_at,
                        ends_after=route.ends_at,
                        distance_before_m=old.distance_m,
                        distance_after_m=route.distance_m,
                        starts=dict(starts),
                    )
                )
                breaks += [v["detail"] for v in route.violations if _key(v) not in was[route.pk]]
            new_revision = Plan.objects.values_list("revision", flat=True).get(pk=plan.pk)
            saved = confirm or not breaks
            if not saved:
                raise _Unsaved
    except _Unsaved:
        new_revision = current
    return Drop(
        saved=saved,
        revision=new_revision,
        order=order_id,
        route=route_id,
        routes=changes,
        pooled=stop is None or route_id is None,
        breaks=breaks,
    )


# --- the board's read model: routes, stops and their states, with live times --------------

#: A stop whose expected start is this close to the end of its window is at risk.
AT_RISK_S = 15 * 60

#: A stop's state on the board (its colour), from its order's status and its times.
STATE_LABELS = {
    "planned": gettext_lazy("Planned"),
    "en_route": gettext_lazy("En route"),
    "arrived": gettext_lazy("Arrived"),
    "delivered": gettext_lazy("Delivered"),
    "failed": gettext_lazy("Failed"),
    "late": gettext_lazy("Late"),
    "at_risk": gettext_lazy("At risk"),
    "break": gettext_lazy("Break"),
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
    # as the page writes them (in the tenant's zone and locale; a thousand stops a page)
    eta_text: str = ""
    window_text: str = ""
    chip_text: str = ""

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
    # on the clock of the day, as windows are written ("10:00" is 10:00 on the day the
    # clocks go forward, nine hours after midnight)
    wall = eta.astimezone(midnight.tzinfo).replace(tzinfo=None)
    at = int((wall - midnight.replace(tzinfo=None)).total_seconds())
    inside = [end for start, end in windows if start <= at <= end]
    if inside:
        left = max(inside) - at
        return ("at_risk", left) if left < AT_RISK_S else (base, 0)
    closed = [end for _, end in windows if end < at]
    return ("late", at - max(closed)) if closed else (base, 0)


def board_routes(
    plan: Plan,
    *,
    now: dt.datetime | None = None,
    only: set[int] | None = None,
    fresh: set[int] = frozenset(),
) -> list[BoardRoute]:
    """The plan's routes as the board shows them: each stop with its place, its expected
    start and its state. On a running day (a published plan, `now` given, the day's own
    date) the stops still ahead are timed from the drivers' progress, as the customers'
    ETAs are (but for the routes in `fresh`: re-timed just now, as stored); otherwise as
    planned."""
    midnight = midnight_of(plan)
    formats = Formats.of(current_tenant())
    running = now is not None and plan.is_published and localtime(now).date() == plan.date
    out = []
    places = {pk: k for k, pk in enumerate(plan.routes.order_by("pk").values_list("pk", flat=True))}
    routes = selectors.plan_routes(plan, only)
    done = {}  # a stop reached: when it really was (the driver's event), not when planned
    if plan.is_published:
        reached = [
            s.order_id
            for r in routes
            for s in r.stops.all()
            if s.order is not None
            and s.order.status in (OrderStatus.ARRIVED, OrderStatus.DELIVERED)
        ]
        done = _event_times(reached) if reached else {}
    for route in routes:
        k = places[route.pk]
        stops = list(route.stops.all())
        live = {}
        open_ahead = any(s.order is not None and s.order.status in _OPEN for s in stops)
        ends_at = route.ends_at
        if running and open_ahead and route.pk not in fresh:
            timeline = route_timeline(route, now=now)
            live = {pk: t.starts_at for pk, t in timeline.stops.items()}
            ends_at = timeline.ends_at or ends_at
        board = BoardRoute(
            route=route,
            colour=selectors.PALETTE[k % len(selectors.PALETTE)],
            stops=[],
            ends_at=ends_at,
        )
        for position, stop in enumerate(stops, start=1):
            eta = live.get(stop.pk, stop.starts_at)
            if stop.order is not None:
                eta = done.get((stop.order_id, stop.order.status), eta)
            state, by = stop_state(stop, eta, midnight)
            pinned = (
                plan.is_published
                and stop.order is not None
                and stop.order.status
                in (OrderStatus.ARRIVED, OrderStatus.DELIVERED, OrderStatus.EN_ROUTE)
            )
            item = BoardStop(stop, position, eta, state, by, pinned)
            item.eta_text = formats.time(eta)
            if stop.order is not None:
                windows = stop.order.time_windows or []
                item.window_text = ", ".join(formats.window(w) for w in windows)
                item.window_text = item.window_text or gettext("any time")
                item.chip_text = item.label
                if state == "late" and by:
                    item.chip_text += f" {formats.duration(by)}"
            board.stops.append(item)
            if stop.order is not None:
                board.orders += 1
                board.done += state in ("delivered", "failed")
                board.late += state == "late"
                board.at_risk += state == "at_risk"
        out.append(board)
    return out


def board_axis(plan: Plan) -> tuple[dt.datetime, dt.datetime] | None:
    """The timeline's span: from the first route's start to the last one's end (as
    stored), padded to whole hours so that a re-timed route usually stays inside it."""
    span = PlanRoute.objects.filter(plan=plan, stops__isnull=False).aggregate(
        first=Min("starts_at"), last=Max("ends_at")
    )
    first, last = span["first"], span["last"]
    if first is None:
        return None
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
            bars.append(
                {
                    "kind": "wait",
                    "left": f"{pct(arrives):.2f}",
                    "width": f"{pct(starts) - pct(arrives):.2f}",
                }
            )
        bars.append(
            {
                "kind": "break" if stop.is_break else "stop",
                "item": item,
                "left": f"{pct(starts):.2f}",  # as the page's style writes them
                "width": f"{max(pct(departs) - pct(starts), 0.4):.2f}",
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


def board_map(plan: Plan, routes: list[BoardRoute], pool: list[PlanUnassigned] | None) -> dict:
    """What the board's map draws: depots, stops with their state, the pool (None: not
    sent, the board keeps what it has)."""
    depots = {}
    out = {"plan": plan.pk, "revision": plan.revision, "routes": [], "pool": None}
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
    if pool is not None:
        out["pool"] = [
            {
                "order": item.order_id,
                "lat": item.order.lat,
                "lng": item.order.lng,
                "name": item.order.customer_name,
                "reason": selectors.REASON_LABELS.get(item.reason, item.reason),
            }
            for item in pool
            if item.order.lat is not None
        ]
    return out
