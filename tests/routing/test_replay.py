"""Replaying stored days against what the drivers did (`routing.services.replay`): exact
errors on crafted days, what learned corrections take away, no reached stop, tenants."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderEvent, OrderStatus
from routing.models import Plan, PlanRoute, PlanStop
from routing.optimiser.matrix import Matrix
from routing.services.corrections import Corrections, address_key, hour_of_week, leg_cell
from routing.services.replay import eta_replay
from tenants.selectors import current_tenant
from tests.conftest import tenant_today
from tests.routing.factories import make_fleet_day

#: Every leg takes this long in the test's road model (10 minutes).
LEG_S = 600


def ten_minutes(points):
    """The test's road model: every leg between two different points takes `LEG_S`."""
    n = len(points)
    durations = np.full((n, n), LEG_S, dtype=np.int64)
    np.fill_diagonal(durations, 0)
    return Matrix(durations, np.full((n, n), 1000, dtype=np.int64) * (durations > 0))


def midnight(day: dt.date) -> dt.datetime:
    """Local midnight of `day` in UTC: seconds after it are the optimiser's seconds (real
    seconds also on a day the clocks change)."""
    zone = ZoneInfo(current_tenant().time_zone)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def at(day: dt.date, hhmm: str) -> dt.datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return midnight(day) + dt.timedelta(hours=hours, minutes=minutes)


@dataclass
class Crafted:
    day: dt.date
    plan: Plan
    route: PlanRoute
    orders: list[Order]


def published_day(prefix: str, day: dt.date, *, orders: int = 3) -> Crafted:
    """One van, `orders` orders of 5 minutes at the door, and a published plan whose route
    lists them in the reverse of the order the driver will take (the replay must follow
    the driver, not the plan)."""
    fleet = make_fleet_day(prefix, vans=1, orders=orders, day=day, spread=0.003)
    plan = Plan.objects.create(date=day, status=Plan.Status.DONE, published_at=timezone.now())
    route = PlanRoute.objects.create(
        plan=plan,
        driver=fleet.drivers[0],
        vehicle=fleet.vans[0],
        starts_at=at(day, "07:50"),
        ends_at=at(day, "12:00"),
        distance_m=0,
        duration_s=0,
        version=1,
    )
    for sequence, order in enumerate(reversed(fleet.orders), start=1):
        planned = at(day, "09:00")
        PlanStop.objects.create(
            route=route,
            sequence=sequence,
            order=order,
            arrives_at=planned,
            starts_at=planned,
            departs_at=planned,
        )
    return Crafted(day, plan, route, fleet.orders)


def event(order: Order, status: str, when: dt.datetime) -> None:
    OrderEvent.objects.create(order=order, to_status=status, actor="driver", created_at=when)


def drive(day: dt.date, orders: list[Order], times: list[tuple[str, str, str]]) -> None:
    """The driver's day: for each order (en route, arrived, delivered) at local times."""
    for order, (going, there, done) in zip(orders, times, strict=True):
        event(order, OrderStatus.EN_ROUTE, at(day, going))
        event(order, OrderStatus.ARRIVED, at(day, there))
        event(order, OrderStatus.DELIVERED, at(day, done))


#: Legs of 12 minutes (the model says 10), 8 minutes at each door (configured 5).
SLOW_DAY = [("08:00", "08:12", "08:20"), ("08:20", "08:32", "08:40"), ("08:40", "08:52", "09:00")]


@pytest.fixture
def slow_day(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-3)
        crafted = published_day("replay", day)
        drive(day, crafted.orders, SLOW_DAY)
    return crafted


def test_errors_of_the_configured_model_are_exact(alpha, slow_day):
    day, orders = slow_day.day, slow_day.orders
    with schema_context(alpha.tenant.schema_name):
        result = eta_replay([day], Corrections.none(), matrix_of=ten_minutes)
        # promised at departure (08:00): 08:10, 08:25, 08:40 against 08:12, 08:32, 08:52
        assert [e.error_s for e in result.errors] == [120, 420, 720]
        assert [e.order_id for e in result.errors] == [o.pk for o in orders]
        assert (result.days, result.routes, result.stops) == (1, 1, 3)
        assert result.mae_s == 420
        assert result.median_abs_s == 420
        assert result.p90_abs_s == pytest.approx(660)  # 420 + 0.8 x 300
        assert result.bias_s == 420
        assert result.inside_share == 1.0  # all within ± 30 minutes
        # next stop: each leg from its actual set-off: 10 minutes said, 12 taken
        assert [e.next_error_s for e in result.errors] == [120, 120, 120]
        assert (result.next_mae_s, result.next_inside_share, result.next_bias_s) == (120, 1, 120)

        narrow = eta_replay([day], Corrections.none(), matrix_of=ten_minutes, window_s=1200)
        assert narrow.inside_share == pytest.approx(2 / 3)  # 720 s is beyond ± 10 minutes
        assert narrow.next_inside_share == 1.0


def test_configured_rush_hours_are_the_model_without_learning(alpha, slow_day):
    day = slow_day.day
    with schema_context(alpha.tenant.schema_name):
        rush = [{"days": [day.weekday()], "start": "08:00", "end": "09:00", "factor": 1.2}]
        result = eta_replay([day], Corrections.none(rush), matrix_of=ten_minutes)
        # 12-minute legs: only the door times are off (3 minutes a stop)
        assert [e.error_s for e in result.errors] == [0, 180, 360]
        assert result.next_mae_s == 0


@pytest.mark.parametrize("learned", ["hour", "area"])
def test_a_learned_travel_factor_takes_away_the_slow_legs(alpha, slow_day, learned):
    day, route, orders = slow_day.day, slow_day.route, slow_day.orders
    with schema_context(alpha.tenant.schema_name):
        before = eta_replay([day], Corrections.none(), matrix_of=ten_minutes)
        if learned == "hour":
            eight = at(day, "08:00").astimezone(ZoneInfo(current_tenant().time_zone))
            corrections = Corrections(hours={hour_of_week(eight): (1.2, 40)})
        else:
            depot = route.vehicle.start_depot
            stops = [(depot.lat, depot.lng)] + [(o.lat, o.lng) for o in orders]
            cells = {leg_cell(a, b) for a, b in itertools.permutations(stops, 2)}
            corrections = Corrections(areas=dict.fromkeys(cells, (1.2, 40)))
        after = eta_replay([day], corrections, matrix_of=ten_minutes)
        assert [e.error_s for e in after.errors] == [0, 180, 360]
        assert after.mae_s == 180
        assert before.mae_s - after.mae_s == 240
        assert after.next_mae_s == 0
        assert before.next_mae_s - after.next_mae_s == 120


def test_learned_slow_doors_and_legs_predict_the_day_exactly(alpha, slow_day):
    day, route, orders = slow_day.day, slow_day.route, slow_day.orders
    with schema_context(alpha.tenant.schema_name):
        depot = route.vehicle.start_depot
        stops = [(depot.lat, depot.lng)] + [(o.lat, o.lng) for o in orders]
        cells = {leg_cell(a, b) for a, b in itertools.permutations(stops, 2)}
        slow_doors = {address_key(o.lat, o.lng): (180, 6) for o in orders[:2]}
        corrections = Corrections(areas=dict.fromkeys(cells, (1.2, 40)), addresses=slow_doors)
        after = eta_replay([day], corrections, matrix_of=ten_minutes)
        # the third door is not learned, and it is the last stop: no later arrival hangs on it
        assert [e.error_s for e in after.errors] == [0, 0, 0]
        assert (after.mae_s, after.p90_abs_s, after.inside_share, after.bias_s) == (0, 0, 1, 0)

        only_first = Corrections(
            areas=dict.fromkeys(cells, (1.2, 40)),
            addresses={address_key(orders[0].lat, orders[0].lng): (180, 6)},
        )
        partly = eta_replay([day], only_first, matrix_of=ten_minutes)
        assert [e.error_s for e in partly.errors] == [0, 0, 180]
        assert partly.mae_s == 60


def test_departure_is_the_route_start_when_the_first_stop_has_no_en_route(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-4)
        orders = published_day("start", day, orders=1).orders
        event(orders[0], OrderStatus.ARRIVED, at(day, "08:05"))
        result = eta_replay([day], Corrections.none(), matrix_of=ten_minutes)
        # the route starts 07:50: 08:00 promised, 08:05 reached
        assert [e.error_s for e in result.errors] == [300]
        assert [e.next_error_s for e in result.errors] == [300]


def test_next_stop_falls_back_to_the_previous_departure(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-5)
        orders = published_day("fallback", day, orders=2).orders
        event(orders[0], OrderStatus.EN_ROUTE, at(day, "08:00"))
        event(orders[0], OrderStatus.ARRIVED, at(day, "08:10"))
        event(orders[0], OrderStatus.DELIVERED, at(day, "08:30"))
        event(orders[1], OrderStatus.ARRIVED, at(day, "08:45"))  # no en_route: left 08:30
        result = eta_replay([day], Corrections.none(), matrix_of=ten_minutes)
        assert [e.error_s for e in result.errors] == [0, 1200]  # 08:25 promised
        assert [e.next_error_s for e in result.errors] == [0, 300]  # 08:40 from 08:30


def test_a_day_with_no_reached_stop_counts_nothing(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-6)
        orders = published_day("nothing", day).orders
        event(orders[0], OrderStatus.EN_ROUTE, at(day, "08:00"))  # set off, never arrived
        result = eta_replay([day], Corrections.none(), matrix_of=ten_minutes)
        assert (result.days, result.routes, result.stops, result.next_stops) == (0, 0, 0, 0)
        assert (result.mae_s, result.inside_share, result.next_mae_s) == (0, 0, 0)
        assert eta_replay([], Corrections.none()).stops == 0


def test_an_unpublished_plan_and_other_days_are_not_replayed(alpha, slow_day):
    day, plan = slow_day.day, slow_day.plan
    with schema_context(alpha.tenant.schema_name):
        assert eta_replay([day - dt.timedelta(days=1)], Corrections.none()).stops == 0
        Plan.objects.filter(pk=plan.pk).update(published_at=None)
        assert eta_replay([day], Corrections.none(), matrix_of=ten_minutes).stops == 0


def test_replay_reads_no_other_tenants_routes(alpha, beta):
    day = tenant_today(-2)
    with schema_context(beta.tenant.schema_name):
        theirs = published_day("beta", day, orders=3).orders
        drive(day, theirs, SLOW_DAY)
    with schema_context(alpha.tenant.schema_name):
        assert eta_replay([day], Corrections.none()).stops == 0
        ours = published_day("alpha", day, orders=2).orders
        drive(day, ours, SLOW_DAY[:2])
        # the tenant's own road model (no stub): alpha's two stops only
        result = eta_replay([day], Corrections.none())
        assert result.stops == 2
        assert [e.order_id for e in result.errors] == [o.pk for o in ours]
    with schema_context(beta.tenant.schema_name):
        assert eta_replay([day], Corrections.none()).stops == 3
