"""The operations overview: a day at a glance from the board's read model
(`routing.services.board`): counts, late and at-risk stops, each driver's progress, the
failures waiting to be rebooked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dispatch.models import Order, OrderStatus
from routing.models import Plan, PlanStop, PlanUnassigned
from routing.selectors import board_pool, day_plan

from .board import BoardRoute, BoardStop, board_routes


@dataclass
class Alert:
    """A late or at-risk stop on the overview, with the route it is on."""

    board: BoardRoute
    item: BoardStop


@dataclass
class DriverDay:
    """A driver's day so far: their route on the board and the stop they are at or go to
    next (None once every stop is done)."""

    board: BoardRoute
    next_stop: BoardStop | None

    @property
    def left(self) -> int:
        return self.board.orders - self.board.done


@dataclass
class DayOverview:
    """A day at a glance, as the board of its plan (`day_plan`) sees it, plus the day's
    orders outside that plan."""

    day: dt.date
    plan: Plan | None
    orders: int  # booked for the day, cancelled ones left out
    drivers: list[DriverDay]
    alerts: list[Alert]  # late (the latest first), then at risk (the least time left first)
    waiting: list[PlanUnassigned]  # in the plan's pool, still to be placed
    not_planned: list[Order]  # open orders of the day neither on the plan's routes nor in its pool
    failed: list[Order]  # failed deliveries of the day, waiting to be rebooked
    failed_in_pool: set[int]  # of those, the ones the board shows (in the plan's pool)
    done: int = 0
    late: int = 0
    at_risk: int = 0

    @property
    def routes(self) -> int:
        return len(self.drivers)

    @property
    def unassigned(self) -> int:
        return len(self.waiting) + len(self.not_planned)

    @property
    def on_routes(self) -> int:
        return sum(d.board.orders for d in self.drivers)

    @property
    def percent_done(self) -> int:
        return round(100 * self.done / self.on_routes) if self.on_routes else 0


def day_overview(day: dt.date, *, now: dt.datetime | None = None) -> DayOverview:
    """The operations overview of `day`: counts, late and at-risk stops and each driver's
    progress from its plan's board (timed from the drivers' progress on a running day),
    its pool, and the day's orders that no plan holds or that failed."""
    plan = day_plan(day)
    booked = Order.objects.filter(delivery_date=day)
    failed = list(booked.filter(status=OrderStatus.FAILED).order_by("pk"))
    open_orders = booked.filter(status=OrderStatus.UNASSIGNED).order_by("pk")
    overview = DayOverview(
        day=day,
        plan=plan,
        orders=booked.exclude(status=OrderStatus.CANCELLED).count(),
        drivers=[],
        alerts=[],
        waiting=[],
        not_planned=list(open_orders),
        failed=failed,
        failed_in_pool=set(),
    )
    if plan is None:
        return overview
    late, at_risk = [], []
    for board in board_routes(plan, now=now):
        if not board.orders:
            continue
        ahead = [s for s in board.stops if s.order is not None]
        ahead = [s for s in ahead if s.state not in ("delivered", "failed")]
        overview.drivers.append(DriverDay(board, ahead[0] if ahead else None))
        overview.done += board.done
        overview.late += board.late
        overview.at_risk += board.at_risk
        late += [Alert(board, s) for s in board.stops if s.state == "late"]
        at_risk += [Alert(board, s) for s in board.stops if s.state == "at_risk"]
    late.sort(key=lambda a: (-a.item.late_by_s, a.item.eta))
    at_risk.sort(key=lambda a: (a.item.late_by_s, a.item.eta))
    overview.alerts = late + at_risk
    pool = board_pool(plan)
    overview.failed_in_pool = {u.order_id for u in pool if u.reason == "failed"}
    placed = {u.order_id for u in pool} | set(
        PlanStop.objects.filter(route__plan=plan, order__isnull=False).values_list(
            "order_id", flat=True
        )
    )
    overview.waiting = [
        u
        for u in pool
        if u.order.status == OrderStatus.UNASSIGNED and u.order.delivery_date == plan.date
    ]
    overview.not_planned = [o for o in overview.not_planned if o.pk not in placed]
    return overview


@dataclass
class DayOutlook:
    """Where a coming day stands: its plan (`day_plan`), if any, and its numbers."""

    day: dt.date
    plan: Plan | None
    orders: int  # booked for the day, cancelled ones left out
    routes: int = 0  # with at least one order
    stops: int = 0  # orders on its routes
    unassigned: int = 0  # in its pool

    @property
    def state(self) -> str:
        """One of "none", "busy" (queued or solving), "failed", "draft", "published"."""
        if self.plan is None:
            return "none"
        if self.plan.is_published:
            return "published"
        if self.plan.is_busy:
            return "busy"
        return "failed" if self.plan.status == Plan.Status.FAILED else "draft"


def day_outlook(day: dt.date) -> DayOutlook:
    plan = day_plan(day)
    booked = Order.objects.filter(delivery_date=day).exclude(status=OrderStatus.CANCELLED)
    outlook = DayOutlook(day=day, plan=plan, orders=booked.count())
    if plan is not None:
        stops = PlanStop.objects.filter(route__plan=plan, order__isnull=False)
        outlook.stops = stops.count()
        outlook.routes = stops.values("route_id").distinct().count()
        outlook.unassigned = plan.unassigned.count()
    return outlook
