"""Read-only queries of plans for the dashboard and the route sheets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils.timezone import localtime

from dispatch.models import Driver, Order, OrderStatus, Vehicle
from routing.models import (
    DispatchAlert,
    LearningDay,
    LearningRun,
    Plan,
    PlanRoute,
    PlanStop,
    PlanUnassigned,
    ServiceObservation,
    ServiceTime,
    TravelFactor,
)

#: Route colours on the map and the timeline (distinct, readable on OpenStreetMap tiles),
#: none of them the red, green, amber or grey that mean late, delivered, at risk and
#: planned on the board.
PALETTE = (
    "#1f77b4",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#393b79",
    "#0f6e6e",
    "#ad1f86",
    "#6b6ecf",
    "#5c3c1e",
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
    "pickup_open": "Its pickup is not planned with it",
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


@dataclass
class BalanceSummary:
    """What a balanced (or every-driver) plan costs against the shortest plan found in
    the same solve, and how evenly its routes share the day (idle routes count as 0)."""

    label: str
    extra_m: int
    extra_s: int
    stops: tuple[int, int]
    working_s: tuple[int, int]
    note: str

    @property
    def sign_m(self) -> str:
        return "\u2212" if self.extra_m < 0 else "+"  # a minus sign

    @property
    def sign_s(self) -> str:
        return "\u2212" if self.extra_s < 0 else "+"  # a minus sign

    @property
    def abs_m(self) -> int:
        return abs(self.extra_m)

    @property
    def abs_s(self) -> int:
        return abs(self.extra_s)


def plan_balance(plan: Plan) -> BalanceSummary | None:
    """The balance line of a solved plan that asked for balance or every driver; None
    for a shortest plan or one not solved yet. Totals are the routes' as they are now
    (after any edit), against the shortest plan's as solved."""
    if plan.shortest_distance_m is None or plan.solved_at is None:
        return None
    routes = list(
        plan.routes.annotate(
            stop_count=Count("stops", filter=Q(stops__order__isnull=False))
        ).values_list("stop_count", "distance_m", "duration_s")
    )
    if not routes:
        return None
    if plan.objective == "shortest":
        label = "Shortest total, every driver used"
    else:
        what = "stops" if plan.objective == "stops" else "working time"
        label = f"Balanced by {what} (±{plan.balance_tolerance_pct}%)"
        if plan.use_all_drivers:
            label += ", every driver used"
    stops = [r[0] for r in routes]
    working = [r[2] for r in routes]
    return BalanceSummary(
        label=label,
        extra_m=sum(r[1] for r in routes) - plan.shortest_distance_m,
        extra_s=sum(working) - (plan.shortest_duration_s or 0),
        stops=(min(stops), max(stops)),
        working_s=(min(working), max(working)),
        note=plan.balance_note,
    )


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
    """Open orders of the plan's day that are neither on its routes nor in its pool. The
    ends of a pickup-and-delivery pair are left out: one is never inserted alone (a
    re-solve plans a pair as one shipment)."""
    return (
        Order.objects.filter(delivery_date=plan.date, status="unassigned")
        .exclude(kind=Order.Kind.PICKUP)
        .filter(pair_as_delivery__isnull=True, pair_as_pickup__isnull=True)
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


# --- the dispatch board (its read model with live times: routing.services.board) -----


def board_pool(plan: Plan) -> list[PlanUnassigned]:
    pool = plan_pool(plan)
    for item in pool:
        item.label = REASON_LABELS.get(item.reason, item.reason)
    return pool


def day_plan(day: dt.date) -> Plan | None:
    """The plan a day's board shows: its published plan, else its newest solved one,
    else its newest."""
    plans = Plan.objects.filter(date=day)
    return (
        plans.filter(published_at__isnull=False).order_by("-published_at").first()
        or plans.filter(solved_at__isnull=False).order_by("-solved_at", "-pk").first()
        or plans.order_by("-created_at", "-pk").first()
    )


def dispatch_alerts(days: list[dt.date]) -> list[DispatchAlert]:
    """The alerts of `days` nobody has marked seen yet (orders auto-dispatch could not
    place, nightly plans that failed, low customer ratings), the newest first."""
    alerts = DispatchAlert.objects.filter(date__in=days, seen_at__isnull=True)
    return list(alerts.select_related("order", "plan").order_by("-created_at", "-pk")[:50])


# --- what was learned from the drivers (the Learned times page) ----------------------------
# The learned tables (routing.services.learning fills them; routing.services.corrections
# applies them), read for people. The thresholds are the model's (corrections.MIN_LEGS,
# MIN_VISITS), passed in: selectors read, the model lives in services.


@dataclass(frozen=True)
class DoorTime:
    """A learned time at the door: by address (`key` is the address key), customer or
    order size; `address` is the newest order's address there ("" if none is known)."""

    key: str
    delta_s: int
    median_s: int
    visits: int
    address: str = ""
    lat: float | None = None
    lng: float | None = None


def learning_runs(limit: int = 10) -> list[LearningRun]:
    """The newest learning runs, newest first."""
    return list(LearningRun.objects.order_by("-started_at", "-pk")[:limit])


def learning_measured_run() -> LearningRun | None:
    """The newest finished run that measured itself on days it did not learn from."""
    return (
        LearningRun.objects.filter(
            status=LearningRun.Status.DONE,
            eval_days__gt=0,
            mae_before_s__isnull=False,
            mae_after_s__isnull=False,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


def learning_run(pk: int) -> LearningRun | None:
    """The learning run `pk`, if it is there."""
    return LearningRun.objects.filter(pk=pk).first()


def learning_run_under_way(since: dt.datetime) -> LearningRun | None:
    """A run still running that started after `since` (an older one died unfinished)."""
    return (
        LearningRun.objects.filter(status=LearningRun.Status.RUNNING, started_at__gte=since)
        .order_by("-started_at")
        .first()
    )


def learning_days_read() -> tuple[int, int, int]:
    """(days, legs, stops) read from the drivers' days so far."""
    totals = LearningDay.objects.aggregate(days=Count("pk"), legs=Sum("legs"), stops=Sum("stops"))
    return totals["days"] or 0, totals["legs"] or 0, totals["stops"] or 0


def learned_hour_factors() -> dict[int, tuple[float, int]]:
    """Every learned hour of the week (0: Monday 00:00 local) as (factor, legs), however
    few legs back it."""
    rows = TravelFactor.objects.filter(kind=TravelFactor.Kind.HOUR)
    return {
        int(key): (factor, legs)
        for key, factor, legs in rows.values_list("key", "factor", "legs")
        if key.isdigit()
    }


def learned_area_factors(*, min_legs: int) -> list[tuple[str, float, int]]:
    """(cell, factor, legs) of the areas `min_legs` driven legs or more back, the slowest
    first."""
    rows = TravelFactor.objects.filter(kind=TravelFactor.Kind.AREA, legs__gte=min_legs)
    return list(rows.order_by("-factor", "-legs", "key").values_list("key", "factor", "legs"))


def learned_slow_doors(*, min_visits: int, limit: int = 20) -> list[DoorTime]:
    """The addresses whose doors take longest beyond their configured time (`min_visits`
    visits or more), with the newest order seen there for its address."""
    rows = list(
        ServiceTime.objects.filter(
            level=ServiceTime.Level.ADDRESS, visits__gte=min_visits, delta_s__gt=0
        )
        .order_by("-delta_s", "-visits", "key")
        .values_list("key", "delta_s", "median_s", "visits")[:limit]
    )
    # the newest observed visit of each address that still has its order (DISTINCT ON)
    seen = (
        ServiceObservation.objects.filter(
            address_key__in=[row[0] for row in rows], order__isnull=False
        )
        .order_by("address_key", "-date", "-pk")
        .distinct("address_key")
        .select_related("order")
    )
    addresses = {obs.address_key: obs.order.address_text() for obs in seen}
    doors = []
    for key, delta, median, visits in rows:
        lat, lng = _key_point(key)
        doors.append(DoorTime(key, delta, median, visits, addresses.get(key, ""), lat, lng))
    return doors


def _key_point(key: str) -> tuple[float | None, float | None]:
    """An address key's coordinates ("51.5073:-0.1277"), or (None, None)."""
    try:
        lat, lng = (float(part) for part in key.split(":"))
    except ValueError:
        return None, None
    return lat, lng


def learned_customers(*, min_visits: int) -> tuple[int, int]:
    """(customers whose door time is learned, customers seen at the door at all)."""
    rows = ServiceTime.objects.filter(level=ServiceTime.Level.CUSTOMER)
    return rows.filter(visits__gte=min_visits).count(), rows.count()


def learned_sizes(*, min_visits: int) -> dict[int, DoorTime]:
    """The door time of each order size class learned from `min_visits` visits or more."""
    rows = ServiceTime.objects.filter(level=ServiceTime.Level.SIZE, visits__gte=min_visits)
    return {
        int(key): DoorTime(key, delta, median, visits)
        for key, delta, median, visits in rows.values_list("key", "delta_s", "median_s", "visits")
        if key.isdigit()
    }


def learned_addresses_count(*, min_visits: int) -> int:
    """How many addresses have a learned door time."""
    return ServiceTime.objects.filter(
        level=ServiceTime.Level.ADDRESS, visits__gte=min_visits
    ).count()
