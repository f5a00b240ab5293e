"""A day for the operations overview's tests (current schema): a plan written as the
board reads it, without a solve, so that every stop's state is known in advance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from dispatch.models import Depot, Driver, Order, OrderStatus, Vehicle
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned

#: What `make_overview_day` builds, counted as the overview counts it.
EXPECTED = {
    "orders": 9,  # the cancelled one left out
    "routes": 2,
    "done": 1,
    "late": 2,
    "at-risk": 1,
    "unassigned": 2,  # one in the plan's pool, one in no plan
    "failed": 1,
}


@dataclass
class OverviewDay:
    plan: Plan
    drivers: list[Driver]
    orders: dict[str, Order] = field(default_factory=dict)  # by role in the day, e.g. "late"


def make_overview_day(
    prefix: str, *, day: dt.date, zone: str = "Europe/London", published: bool = False
) -> OverviewDay:
    """Two routes on `day` with, by their planned times and windows: one stop delivered,
    two late (by 60 and 20 minutes), one at risk (10 minutes to spare), two on time; a
    failed order in the pool (to rebook), one waiting there, one open order in no plan,
    and one cancelled order of the day."""
    tz = ZoneInfo(zone)

    def at(hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)

    depot = Depot.objects.create(
        name=f"{prefix} depot", lat=51.5, lng=-0.12, opens_at=dt.time(6), closes_at=dt.time(22)
    )
    drivers, vans = [], []
    for k in (1, 2):
        van = Vehicle.objects.create(
            name=f"{prefix} van {k}",
            start_depot=depot,
            capacity_weight_kg=Decimal("500"),
            capacity_items=100,
        )
        vans.append(van)
        drivers.append(
            Driver.objects.create(
                name=f"{prefix} driver {k}",
                default_vehicle=van,
                shift_start=dt.time(7),
                shift_end=dt.time(19),
            )
        )
    made: dict[str, Order] = {}

    def order(role: str, window: tuple[int, int] | None, status: str, **extra) -> Order:
        made[role] = Order.objects.create(
            customer_name=f"{prefix} {role}",
            external_id=f"{prefix}-{role}",
            address_line1=f"{len(made) + 1} High Street",
            city="London",
            delivery_date=extra.pop("delivery_date", day),
            lat=51.5 + len(made) / 500,
            lng=-0.12 + len(made) / 500,
            weight_kg=Decimal("3"),
            items=1,
            service_s=300,
            status=status,
            time_windows=[{"start": f"{window[0]:02d}:00", "end": f"{window[1]:02d}:00"}]
            if window
            else [],
            **extra,
        )
        return made[role]

    open_ = OrderStatus.DISPATCHED if published else OrderStatus.PLANNED
    routes = {
        0: [
            (order("delivered", (8, 10), OrderStatus.DELIVERED), at(8, 30)),
            (order("late", (9, 10), open_), at(11)),  # 60 min after its window
            (order("at-risk", (10, 12), open_), at(11, 50)),  # 10 min before it closes
            (order("any time", None, open_), at(12, 30)),
        ],
        1: [
            (order("on time", (13, 16), open_), at(13, 30)),
            (order("late too", (9, 12), open_), at(12, 20)),  # 20 min after its window
        ],
    }
    now = timezone.now()
    plan = Plan.objects.create(
        date=day,
        depot=depot,
        status=Plan.Status.DONE,
        solved_at=now,
        published_at=now if published else None,
        published_by="user:dispatcher" if published else "",
    )
    for k, stops in routes.items():
        route = PlanRoute.objects.create(
            plan=plan,
            driver=drivers[k],
            vehicle=vans[k],
            starts_at=at(7, 30),
            ends_at=stops[-1][1] + dt.timedelta(minutes=40),
            distance_m=12_300,
            duration_s=3600,
            version=1 if published else 0,
        )
        for sequence, (stop_order, starts) in enumerate(stops, start=1):
            PlanStop.objects.create(
                route=route,
                sequence=sequence,
                order=stop_order,
                arrives_at=starts,
                starts_at=starts,
                departs_at=starts + dt.timedelta(minutes=5),
            )
    PlanUnassigned.objects.create(
        plan=plan, order=order("failed", (9, 12), OrderStatus.FAILED), reason="failed"
    )
    PlanUnassigned.objects.create(
        plan=plan, order=order("waiting", (14, 18), OrderStatus.UNASSIGNED), reason="no_room"
    )
    order("in no plan", None, OrderStatus.UNASSIGNED)
    order("cancelled", None, OrderStatus.CANCELLED)
    return OverviewDay(plan=plan, drivers=drivers, orders=made)
