"""Shared builders for the tracking tests (current schema unless told)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from dispatch.models import Driver, Vehicle
from routing.models import Plan, PlanRoute
from routing.services import plans, publish
from tests.routing.factories import DAY, make_fleet_day
from tracking.services.day import Fix

ACTOR = "user:dispatcher@alpha.test"


def fix(at: dt.datetime, lat: float = 51.5, lng: float = -0.12, **extra) -> Fix:
    return Fix(recorded_at=at, lat=lat, lng=lng, **extra)


def ago(**delta) -> dt.datetime:
    """A whole-second time in the past (so ISO strings and ms round-trip exactly)."""
    return timezone.now().replace(microsecond=0) - dt.timedelta(**delta)


def driver_for(user_id: int | None = None, name: str = "Tracked driver") -> Driver:
    return Driver.objects.create(name=name, user_id=user_id)


def orders_on(route: PlanRoute) -> list[int]:
    return [s.order_id for s in route.stops.order_by("sequence") if s.order_id]


@dataclass
class Day:
    plan: Plan
    mine: PlanRoute  # the route of the signed-in driver (alpha.driver_email)
    other: PlanRoute  # another driver's route
    driver: Driver


def solved_day(prefix: str, user_id: int, *, publish_it: bool = True, orders: int = 6) -> Day:
    """Two vans (at most orders/2 stops each, so both drive), solved and published; the
    route with stops of the first van's driver is linked to `user_id`."""
    day = make_fleet_day(prefix, vans=2, orders=orders)
    Vehicle.objects.filter(pk__in=[v.pk for v in day.vans]).update(max_stops=orders // 2)
    plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    if publish_it:
        publish.plan_publish(plan=plan, actor=ACTOR)
    plan.refresh_from_db()
    routes = [r for r in plan.routes.order_by("pk") if orders_on(r)]
    assert len(routes) == 2, "both vans must drive"
    mine, other = routes
    driver = mine.driver
    driver.user_id = user_id
    driver.save()
    return Day(plan, mine, other, driver)
