"""Reading a driver's day into the learner's observations (tracking.services.observations):
legs in the order driven, pauses taken out, legs without GPS or over a break skipped with
their reason, door times, a day read twice stored once, and the GPS purge reading a day
before its fixes go."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, OrderEvent, OrderStatus, Vehicle
from routing.models import (
    LearningDay,
    LegObservation,
    Plan,
    PlanRoute,
    PlanStop,
    ServiceObservation,
)
from routing.services.corrections import (
    address_key,
    customer_key,
    hour_of_week,
    leg_cell,
    size_of,
)
from routing.services.matrix import travel_matrix
from tests.conftest import TENANT_ZONE, tenant_today
from tracking.models import LocationPing
from tracking.services import day as day_services
from tracking.services import observations

pytestmark = pytest.mark.django_db

DEPOT = (51.5000, -0.1200)
#: Three stops: ~1.1 km north of the depot, ~1.7 km east of that, ~1.1 km north again.
PLACES = [(51.5100, -0.1200), (51.5100, -0.0950), (51.5200, -0.0950)]
PHONE = "+447700900123"


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), TENANT_ZONE)


def seconds(at: dt.datetime, s: float) -> dt.datetime:
    return at + dt.timedelta(seconds=s)


def estimate(a: tuple[float, float], b: tuple[float, float]) -> tuple[int, int]:
    """The road model's (uncorrected) time and distance from `a` to `b`."""
    matrix = travel_matrix([a, b])
    return int(matrix.durations_s[0, 1]), int(matrix.distances_m[0, 1])


@dataclass
class Crafted:
    day: dt.date
    driver: Driver
    orders: list[Order]  # in the order driven
    route: PlanRoute
    #: (order, set off, observed s, estimate s, distance m, a, b) of each leg
    legs: list[tuple]
    doors: list[tuple[Order, int]]  # (order, seconds at the door) learned
    track: list[tuple[dt.datetime, tuple[float, float]]]  # waypoints of the van
    pause: tuple[dt.datetime, dt.datetime] | None


def crafted_day(
    prefix: str,
    day: dt.date,
    *,
    pause_s: int = 360,
    with_break: bool = False,
    gps: bool = True,
    hole: bool = False,
) -> Crafted:
    """A published route driven O1, O2, O3 (planned O1, O3, O2), with the taps and the
    GPS a phone would send: leg 1 at 1.2x the road model from the "en route" tap, leg 2
    at 1.5x from its own "en route" tap (a minute after O1 was delivered) with the van
    standing `pause_s` half-way, leg 3 at 0.9x from O2's delivery (no "en route" tap);
    doors 240 s, 100 s and 3 hours (O3 failed: too long to learn from)."""
    depot = Depot.objects.create(name=f"{prefix} depot", lat=DEPOT[0], lng=DEPOT[1])
    van = Vehicle.objects.create(name=f"{prefix} van", start_depot=depot)
    driver = Driver.objects.create(name=f"{prefix} driver", default_vehicle=van)
    orders = [
        Order.objects.create(
            customer_name=f"{prefix} customer {k}",
            customer_phone=PHONE if k == 0 else "",
            customer_email="" if k == 0 else f"c{k}@{prefix}.test",
            delivery_date=day,
            lat=lat,
            lng=lng,
            items=[1, 3, 12][k],
            service_s=300,
            status=OrderStatus.DELIVERED,
        )
        for k, (lat, lng) in enumerate(PLACES)
    ]
    plan = Plan.objects.create(date=day, status=Plan.Status.DONE, published_at=timezone.now())
    route = PlanRoute.objects.create(
        plan=plan,
        driver=driver,
        vehicle=van,
        starts_at=local(day, 8),
        ends_at=local(day, 13),
        distance_m=0,
        duration_s=0,
    )
    planned = {0: 1, 2: 3, 1: 4} if with_break else {0: 1, 2: 2, 1: 3}
    for k, order in enumerate(orders):
        at = local(day, 9, 10 * planned[k])
        PlanStop.objects.create(
            route=route,
            sequence=planned[k],
            order=order,
            arrives_at=at,
            starts_at=at,
            departs_at=at,
        )
    if with_break:
        at = local(day, 9, 15)
        PlanStop.objects.create(
            route=route, sequence=2, is_break=True, arrives_at=at, starts_at=at, departs_at=at
        )
    actor = f"driver:{driver.pk}"

    def tap(order: Order, status: str, at: dt.datetime) -> None:
        OrderEvent.objects.create(order=order, to_status=status, actor=actor, created_at=at)

    points = [DEPOT, *PLACES]
    legs, doors, track = [], [], []
    # leg 1: the depot to O1, from the "en route" tap
    set_off = local(day, 8, 10)
    e1, d1 = estimate(points[0], points[1])
    l1 = round(e1 * 1.2)
    arrived1 = seconds(set_off, l1)
    done1 = seconds(arrived1, 240)
    tap(orders[0], OrderStatus.EN_ROUTE, set_off)
    tap(orders[0], OrderStatus.ARRIVED, arrived1)
    tap(orders[0], OrderStatus.DELIVERED, done1)
    legs.append((orders[0], set_off, l1, e1, d1, points[0], points[1]))
    doors.append((orders[0], 240))
    track += [(local(day, 8, 8), points[0]), (set_off, points[0]), (arrived1, points[1])]
    # leg 2: O1 to O2, set off at its own tap (later than O1's delivery), a pause half-way
    set_off2 = seconds(done1, 60)
    e2, d2 = estimate(points[1], points[2])
    l2 = round(e2 * 1.5)
    middle = ((points[1][0] + points[2][0]) / 2, (points[1][1] + points[2][1]) / 2)
    pause_at = seconds(set_off2, l2 // 2)
    pause_end = seconds(pause_at, pause_s)
    arrived2 = seconds(set_off2, l2 + pause_s)
    done2 = seconds(arrived2, 100)
    tap(orders[1], OrderStatus.EN_ROUTE, set_off2)
    tap(orders[1], OrderStatus.ARRIVED, arrived2)
    tap(orders[1], OrderStatus.DELIVERED, done2)
    legs.append((orders[1], set_off2, l2, e2, d2, points[1], points[2]))
    doors.append((orders[1], 100))
    track += [
        (set_off2, points[1]),
        (pause_at, middle),
        (pause_end, middle),
        (arrived2, points[2]),
    ]
    # leg 3: O2 to O3 from O2's delivery (no "en route" tap); O3 failed three hours later
    e3, d3 = estimate(points[2], points[3])
    l3 = round(e3 * 0.9)
    arrived3 = seconds(done2, l3)
    tap(orders[2], OrderStatus.ARRIVED, arrived3)
    tap(orders[2], OrderStatus.FAILED, seconds(arrived3, 3 * 3600))
    legs.append((orders[2], done2, l3, e3, d3, points[2], points[3]))
    track += [(done2, points[2]), (arrived3, points[3])]
    crafted = Crafted(day, driver, orders, route, legs, doors, track, (pause_at, pause_end))
    if gps:
        pings_store(crafted, hole_in_leg2=hole)
    return crafted


def _position(track, at: dt.datetime) -> tuple[float, float]:
    for (t0, p0), (t1, p1) in itertools.pairwise(track):
        if t0 <= at <= t1:
            share = 0.0 if t1 == t0 else (at - t0) / (t1 - t0)
            return (p0[0] + (p1[0] - p0[0]) * share, p0[1] + (p1[1] - p0[1]) * share)
    return track[-1][1]


def pings_store(crafted: Crafted, *, hole_in_leg2: bool = False) -> None:
    """A fix every 30 s along the van's track (and one at each end of the pause, none in
    the 20 s around them, so the pause is exactly as long as it was); `hole_in_leg2`:
    none in leg 2 after its first 30 s (the phone lost its signal)."""
    start, end = crafted.track[0][0], crafted.track[-1][0]
    pause_at, pause_end = crafted.pause
    leg2_from, leg2_to = crafted.track[3][0], crafted.track[6][0]
    times, at = set() if hole_in_leg2 else {pause_at, pause_end}, start
    while at <= end:
        near_pause = pause_at - dt.timedelta(
            seconds=20
        ) < at < pause_at or pause_end < at < pause_end + dt.timedelta(seconds=20)
        in_hole = hole_in_leg2 and leg2_from + dt.timedelta(seconds=30) < at < leg2_to
        if not near_pause and not in_hole:
            times.add(at)
        at += dt.timedelta(seconds=30)
    times.add(end)
    LocationPing.objects.bulk_create(
        [
            LocationPing(
                driver=crafted.driver,
                recorded_at=t,
                received_at=t,
                lat=_position(crafted.track, t)[0],
                lng=_position(crafted.track, t)[1],
                seq=k,
            )
            for k, t in enumerate(sorted(times))
        ]
    )


def _legs(day: dt.date) -> list[LegObservation]:
    return list(LegObservation.objects.filter(date=day).order_by("id"))


def test_a_crafted_day_is_read_leg_by_leg_in_the_order_driven(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted = crafted_day("obs", day)
        read = observations.day_read(day)
        assert (read.date, read.legs, read.stops) == (day, 3, 2)
        assert read.skipped == {"door_out_of_range": 1}
        got = [
            (
                o.order_id,
                o.driver_id,
                o.hour_of_week,
                o.cell,
                o.estimate_s,
                o.observed_s,
                o.distance_m,
            )
            for o in _legs(day)
        ]
        expected = [
            (
                order.pk,
                crafted.driver.pk,
                hour_of_week(set_off.astimezone(TENANT_ZONE)),
                leg_cell(a, b),
                e,
                observed,
                d,
            )
            for order, set_off, observed, e, d, a, b in crafted.legs
        ]
        assert got == expected
        # the ratios the day was made with, pause (360 s) taken out of leg 2
        assert [round(o.observed_s / o.estimate_s, 2) for o in _legs(day)] == [1.2, 1.5, 0.9]
        assert hour_of_week(local(day, 8)) == day.weekday() * 24 + 8 == got[0][2]
        visits = list(ServiceObservation.objects.filter(date=day).order_by("id"))
        assert [
            (v.order_id, v.observed_s, v.configured_s, v.size, v.address_key, v.customer_key)
            for v in visits
        ] == [
            (
                order.pk,
                door,
                300,
                size_of(order.items),
                address_key(order.lat, order.lng),
                customer_key(order.customer_phone, order.customer_email),
            )
            for order, door in crafted.doors
        ]
        assert visits[0].customer_key == customer_key(PHONE, "") != ""
        assert [v.size for v in visits] == [0, 1]


def test_observations_keep_no_positions(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted_day("nopos", day)
        observations.day_read(day)
        legs = [str(v) for v in LegObservation.objects.values_list()]
        assert len(legs) == 3
        assert not any("51.5" in text or "-0.12" in text or "-0.09" in text for text in legs)
        keys = list(ServiceObservation.objects.values_list("customer_key", flat=True))
        assert len(keys) == 2 and all(len(k) == 32 and PHONE[1:] not in k for k in keys)


def test_a_long_pause_away_from_both_stops_skips_the_leg(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-3)
        crafted_day("pause", day, pause_s=1800)  # far more than the leg's driving
        read = observations.day_read(day)
        assert read.skipped == {"paused": 1, "door_out_of_range": 1}
        assert read.legs == 2
        assert [o.order_id for o in _legs(day)] == [
            Order.objects.get(customer_name="pause customer 0").pk,
            Order.objects.get(customer_name="pause customer 2").pk,
        ]


def test_without_gps_the_legs_are_skipped_and_the_doors_kept(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted_day("nogps", day, gps=False)
        read = observations.day_read(day)
        assert (read.legs, read.stops) == (0, 2)
        assert read.skipped == {"no_gps": 3, "door_out_of_range": 1}


def test_a_hole_in_the_gps_skips_that_leg_only(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted = crafted_day("hole", day, hole=True)
        read = observations.day_read(day)
        assert read.skipped == {"no_gps": 1, "door_out_of_range": 1}
        assert [o.order_id for o in _legs(day)] == [crafted.orders[0].pk, crafted.orders[2].pk]


def test_a_leg_over_a_planned_break_is_skipped(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted = crafted_day("break", day, with_break=True)
        read = observations.day_read(day)
        assert read.skipped == {"break": 1, "door_out_of_range": 1}
        assert [o.order_id for o in _legs(day)] == [crafted.orders[0].pk, crafted.orders[2].pk]


def test_a_delivered_tap_without_arrived_teaches_no_leg_nor_door(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted = crafted_day("direct", day)
        # O1: the driver tapped "delivered" at once; the app wrote "arrived" with it
        arrived = OrderEvent.objects.get(order=crafted.orders[0], to_status=OrderStatus.ARRIVED)
        delivered = OrderEvent.objects.get(order=crafted.orders[0], to_status=OrderStatus.DELIVERED)
        arrived.created_at = delivered.created_at - dt.timedelta(milliseconds=3)
        arrived.save()
        read = observations.day_read(day)
        assert read.skipped == {"no_arrival": 1, "door_out_of_range": 1}
        assert (read.legs, read.stops) == (2, 1)


def test_a_dispatchers_click_is_not_a_time_on_the_road(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted = crafted_day("office", day)
        OrderEvent.objects.filter(order__in=crafted.orders).update(actor="user:office@alpha.test")
        read = observations.day_read(day)
        assert (read.legs, read.stops, read.skipped) == (0, 0, {})


def test_waiting_at_the_depot_without_an_en_route_tap_is_not_driving(alpha):
    # the first stop's "en route" was never tapped (the app passed it with "arrived"):
    # the leg would start at the planned 08:06, but the phone stood at the depot until
    # 08:10, when the van set off; the four minutes of waiting are not driving
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted = crafted_day("wait", day)
        OrderEvent.objects.filter(order=crafted.orders[0], to_status=OrderStatus.EN_ROUTE).delete()
        crafted.route.starts_at = local(day, 8, 6)
        crafted.route.save()
        observations.day_read(day)
        leg = LegObservation.objects.get(date=day, order=crafted.orders[0])
        _order, set_off, driving_s, *_ = crafted.legs[0]
        assert leg.observed_s == driving_s
        assert leg.hour_of_week == hour_of_week(set_off.astimezone(TENANT_ZONE))


def test_a_day_read_twice_is_stored_once(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted_day("twice", day)
        first = observations.day_read(day)
        assert observations.days_unread(tenant_today(-1)) == []
        second = observations.day_read(day)
        assert LearningDay.objects.filter(date=day).count() == 1
        assert LearningDay.objects.get(date=day).pk == second.pk != first.pk
        assert LegObservation.objects.filter(date=day).count() == 3
        assert ServiceObservation.objects.filter(date=day).count() == 2


def test_days_unread_are_the_published_days_not_read(alpha):
    with schema_context(alpha.tenant.schema_name):
        days = [tenant_today(-k) for k in (5, 4, 3)]
        for k, day in enumerate(days):
            crafted_day(f"unread{k}", day, gps=False)
        Plan.objects.create(date=tenant_today(-6), status=Plan.Status.DONE)  # not published
        observations.day_read(days[1])
        assert observations.days_unread(tenant_today(-1)) == [days[0], days[2]]
        assert observations.days_unread(days[1]) == [days[0]]
        assert observations.days_unread(tenant_today(-1), since=days[1]) == [days[2]]


def test_the_purge_reads_the_day_before_its_pings_go(alpha):
    with schema_context(alpha.tenant.schema_name):
        old, recent = tenant_today(-40), tenant_today(-2)
        purged = crafted_day("purged", old)
        kept = crafted_day("kept", recent)
        assert LocationPing.objects.count() > 20
        deleted = day_services.locations_purge(days=30)
        assert deleted > 20
        assert not LocationPing.objects.filter(driver=purged.driver).exists()
        assert LocationPing.objects.filter(driver=kept.driver).exists()
        # the old day's aggregates outlive its positions; the recent day is left for the
        # nightly job
        assert list(LearningDay.objects.values_list("date", "legs", "stops")) == [(old, 3, 2)]
        assert LegObservation.objects.filter(date=old).count() == 3
        assert observations.days_unread(tenant_today(-1)) == [recent]
        # a second purge reads nothing again
        assert day_services.locations_purge(days=30) == 0
        assert LearningDay.objects.count() == 1


def test_a_day_that_cannot_be_read_does_not_lose_the_others_before_the_purge(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        first, second = tenant_today(-40), tenant_today(-39)
        crafted_day("bad1", first)
        crafted_day("bad2", second)
        read = observations.day_read

        def second_fails(date):
            if date == second:
                raise ValueError("a depot without coordinates")
            return read(date)

        monkeypatch.setattr(observations, "day_read", second_fails)
        assert day_services.locations_purge(days=30) > 0
        assert LocationPing.objects.count() == 0  # the retention is kept all the same
        assert list(LearningDay.objects.values_list("date", flat=True)) == [first]
        assert observations.days_unread(tenant_today(-1)) == [second]  # tried again later


def test_the_nightly_run_reads_the_day_before_yesterday_again_for_late_uploads(alpha):
    # the phone was offline: its fixes of the day arrive the next morning, after that
    # night's reading; the next night reads the day again and learns its legs
    with schema_context(alpha.tenant.schema_name):
        day = tenant_today(-2)
        crafted = crafted_day("late", day, gps=False)
        observations.day_read(day)
        assert LegObservation.objects.filter(date=day).count() == 0
        pings_store(crafted)
        observations.learn_run(today=tenant_today())
        assert LegObservation.objects.filter(date=day).count() == 3
        assert LearningDay.objects.get(date=day).legs == 3
