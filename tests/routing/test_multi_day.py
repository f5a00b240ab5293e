"""Multi-day planning: orders with a range of acceptable days spread over the days where
the fleet has room, one plan per day, each published on its own."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

import tenants.tasks
from dispatch.models import Order, OrderStatus
from routing.models import MultiDayPlan, Plan, PlanStop, PlanUnassigned
from routing.optimiser import checker
from routing.services import multi_day, publish
from tests.conftest import TENANT_ZONE, tenant_today
from tests.routing.factories import make_fleet_day

FIRST = tenant_today(2)


def _order(prefix: str, k: int, *, day: dt.date, latest: dt.date | None = None, **extra) -> Order:
    return Order.objects.create(
        customer_name=f"{prefix} customer {k}",
        external_id=f"{prefix}-{k}",
        address_line1=f"{k} High Street",
        city="London",
        delivery_date=day,
        latest_date=latest,
        lat=51.5 + 0.004 * (k % 5),
        lng=-0.12 + 0.005 * (k % 7),
        weight_kg=Decimal("1"),
        items=1,
        service_s=300,
        **extra,
    )


def _week(prefix: str):
    """One van carrying 4 items a day; 4 orders fixed on the first day fill it, one is
    fixed on the second, and 4 may go from the first day to the third."""
    make_fleet_day(prefix, vans=1, orders=0, day=FIRST, capacity_items=4)
    fixed = [_order(prefix, k, day=FIRST) for k in range(1, 5)]
    second = _order(prefix, 5, day=FIRST + dt.timedelta(days=1))
    flexible = [
        _order(prefix, k, day=FIRST, latest=FIRST + dt.timedelta(days=2)) for k in range(6, 10)
    ]
    flexible[0].time_windows = [{"start": "10:00", "end": "12:00"}]
    flexible[0].save(update_fields=["time_windows"])
    later = _order(prefix, 10, day=FIRST + dt.timedelta(days=5))  # outside the range
    return fixed, second, flexible, later


def _solved(monkeypatch, **options) -> tuple[MultiDayPlan, list]:
    cuts = []
    split = multi_day.week_split

    def keep(week, solution):
        cuts.extend(split(week, solution))
        return cuts

    monkeypatch.setattr(multi_day, "week_split", keep)
    multi = multi_day.multi_day_create(**{"first_date": FIRST, "days": 3, "seconds": 2, **options})
    assert multi_day.multi_day_solve(multi.pk) == MultiDayPlan.Status.DONE
    multi.refresh_from_db()
    assert multi.status == MultiDayPlan.Status.DONE, multi.error
    return multi, cuts


def _day_of(order_id: int) -> dt.date:
    stop = PlanStop.objects.select_related("route__plan").get(order_id=order_id)
    return stop.route.plan.date


@pytest.mark.django_db
def test_flexible_orders_spread_over_the_days_the_fleet_has_room(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        fixed, second, flexible, later = _week("md")
        multi, cuts = _solved(monkeypatch)
        plans = list(multi.plans.order_by("date"))
        assert [p.date for p in plans] == [FIRST + dt.timedelta(days=k) for k in range(3)]
        assert all(p.status == Plan.Status.DONE and not p.is_published for p in plans)
        assert not PlanUnassigned.objects.filter(plan__multi_day=multi).exists()
        for order in fixed:
            assert _day_of(order.pk) == FIRST
        assert _day_of(second.pk) == FIRST + dt.timedelta(days=1)
        for order in flexible:  # no room on the first day: on the second or the third
            day = _day_of(order.pk)
            assert FIRST < day <= FIRST + dt.timedelta(days=2)
            order.refresh_from_db()
            assert order.delivery_date == day and order.status == OrderStatus.UNASSIGNED
            assert order.events.filter(reason__startswith=f"Multi-day plan #{multi.pk}").exists()
        later.refresh_from_db()
        assert later.delivery_date == FIRST + dt.timedelta(days=5)
        assert not PlanStop.objects.filter(order=later).exists()
        # each day's stops are on that day, the windowed one inside 10:00-12:00 local
        for stop in PlanStop.objects.filter(route__plan__multi_day=multi, order__isnull=False):
            local = stop.starts_at.astimezone(TENANT_ZONE)
            assert local.date() == _day_of(stop.order_id)
            if stop.order_id == flexible[0].pk:
                assert dt.time(10) <= local.time() <= dt.time(12)
        # the independent checker passes each day's routes against that day alone
        assert [c.day for c in cuts] == [p.date for p in plans]
        for cut in cuts:
            assert checker.check(cut.problem, cut.solution) == []
        assert sum(len(c.solution.routes) for c in cuts) == 3  # the van, every day


@pytest.mark.django_db
def test_each_day_is_published_on_its_own(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        fixed, _, flexible, _ = _week("mp")
        multi, _ = _solved(monkeypatch)
        first, second, third = multi.plans.order_by("date")
        publish.plan_publish(plan=first, actor="user:test")
        publish.plan_publish(plan=first, actor="user:test")  # a double click
        first.refresh_from_db(), second.refresh_from_db(), third.refresh_from_db()
        assert first.is_published and not second.is_published and not third.is_published
        for order in fixed:
            order.refresh_from_db()
            assert order.status == OrderStatus.DISPATCHED
        for order in flexible:
            order.refresh_from_db()
            assert order.status == OrderStatus.UNASSIGNED  # on a later day, still a draft


@pytest.mark.django_db
def test_a_day_with_a_published_plan_is_left_out(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        _, second, flexible, _ = _week("mx")
        Plan.objects.create(
            date=FIRST + dt.timedelta(days=1),
            status=Plan.Status.DONE,
            published_at=dt.datetime.now(dt.UTC),
        )
        multi, _ = _solved(monkeypatch)
        assert [p.date for p in multi.plans.order_by("date")] == [
            FIRST,
            FIRST + dt.timedelta(days=2),
        ]
        assert not PlanStop.objects.filter(order=second).exists()  # its day is published
        for order in flexible:
            assert _day_of(order.pk) == FIRST + dt.timedelta(days=2)


@pytest.mark.django_db
def test_orders_that_fit_nowhere_wait_on_their_first_day(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        make_fleet_day("mw", vans=1, orders=0, day=FIRST, capacity_items=1)
        late = FIRST + dt.timedelta(days=1)
        orders = [_order("mw", k, day=late, latest=late + dt.timedelta(days=1)) for k in range(3)]
        multi, cuts = _solved(monkeypatch)
        waiting = PlanUnassigned.objects.filter(plan__multi_day=multi).select_related("plan")
        assert [(u.plan.date, u.reason) for u in waiting] == [(late, "no_room")]
        placed = sorted(_day_of(o.pk) for o in orders if o.pk != waiting[0].order_id)
        assert placed == [late, late + dt.timedelta(days=1)]
        for cut in cuts:
            assert checker.check(cut.problem, cut.solution) == []


@pytest.mark.django_db
def test_a_range_outside_the_limits_is_refused(alpha):
    with schema_context(alpha.tenant.schema_name):
        for options, field in [
            ({"first_date": tenant_today(-1), "days": 2}, "first_date"),
            ({"first_date": FIRST, "days": 0}, "days"),
            ({"first_date": FIRST, "days": multi_day.MAX_DAYS + 1}, "days"),
            ({"first_date": FIRST, "days": 2, "seconds": 0}, "seconds"),
        ]:
            with pytest.raises(ValidationError) as exc:
                multi_day.multi_day_create(**options)
            assert field in exc.value.message_dict
        Plan.objects.create(
            date=FIRST, status=Plan.Status.DONE, published_at=dt.datetime.now(dt.UTC)
        )
        with pytest.raises(ValidationError) as exc:
            multi_day.multi_day_create(first_date=FIRST, days=1)
        assert "published" in exc.value.message_dict["first_date"][0]
        assert not MultiDayPlan.objects.exists()


@pytest.mark.django_db
def test_it_is_queued_once_after_commit_and_solved_once(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tenants.tasks, "async_task", lambda *args, **kw: queued.append(args))
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        _week("mq")
        with django_capture_on_commit_callbacks(execute=True):
            multi = multi_day.multi_day_create(first_date=FIRST, days=3, seconds=1)
            again = multi_day.multi_day_create(first_date=FIRST, days=3, seconds=1)
        assert again.pk == multi.pk  # a double click: the same plan
        assert queued == [
            ("tenants.tasks.run_in_schema", schema, "routing.tasks.multi_day_solve", multi.pk)
        ]
        assert multi_day.multi_day_solve(multi.pk) == MultiDayPlan.Status.DONE
        assert multi_day.multi_day_solve(multi.pk) == MultiDayPlan.Status.DONE  # delivered twice
        assert Plan.objects.filter(multi_day=multi).count() == 3


@pytest.mark.django_db
def test_the_sweep_queues_a_lost_job_again_and_fails_a_dead_solve(
    alpha, monkeypatch, django_capture_on_commit_callbacks, settings
):
    queued = []
    monkeypatch.setattr(tenants.tasks, "async_task", lambda *args, **kw: queued.append(args))
    settings.PLAN_SWEEP_AFTER_S = 60
    now = dt.datetime.now(dt.UTC)
    long_ago = now - dt.timedelta(minutes=10)
    with schema_context(alpha.tenant.schema_name):
        lost = MultiDayPlan.objects.create(first_date=FIRST, last_date=FIRST, queued_at=long_ago)
        fresh = MultiDayPlan.objects.create(first_date=FIRST, last_date=FIRST, queued_at=now)
        dead = MultiDayPlan.objects.create(
            first_date=FIRST,
            last_date=FIRST,
            seconds=30,
            status=MultiDayPlan.Status.SOLVING,
            started_at=long_ago,
        )
        busy = MultiDayPlan.objects.create(
            first_date=FIRST,
            last_date=FIRST,
            seconds=600,  # still inside its budget
            status=MultiDayPlan.Status.SOLVING,
            started_at=long_ago,
        )
        with django_capture_on_commit_callbacks(execute=True):
            assert multi_day.multi_days_recover(now) == 2
        assert [args[3] for args in queued] == [lost.pk]
        for multi in (lost, fresh, dead, busy):
            multi.refresh_from_db()
        assert lost.status == MultiDayPlan.Status.QUEUED and lost.queued_at == now
        assert dead.status == MultiDayPlan.Status.FAILED and "plan again" in dead.error
        assert busy.status == MultiDayPlan.Status.SOLVING
        assert fresh.status == MultiDayPlan.Status.QUEUED  # not queued again: see `queued`


@pytest.mark.django_db
def test_each_day_keeps_its_own_rush_hours(alpha, monkeypatch):
    from tenants.models import Tenant

    second_day = FIRST + dt.timedelta(days=1)
    rush = {"days": [second_day.weekday()], "start": "06:00", "end": "20:00", "factor": 2.0}
    with schema_context(alpha.tenant.schema_name):
        _week("mr")
        Tenant.objects.filter(pk=alpha.tenant.pk).update(rush_hours=[rush])
        _, cuts = _solved(monkeypatch)
    assert [bool(c.problem.rush) for c in cuts] == [False, True, False]
    for cut in cuts:  # the checker times every leg with that day's factors
        assert checker.check(cut.problem, cut.solution) == []
    # ...and the second day's legs (all set off between 07:00 and 19:00) take twice as long
    for cut, factor in zip(cuts, (1.0, 2.0, 1.0), strict=True):
        for route in cut.solution.routes:
            legs = list(itertools.pairwise(route.visits))
            driven = sum(b.arrival_s - a.departure_s for a, b in legs)
            plain = sum(int(cut.problem.durations_s[a.location, b.location]) for a, b in legs)
            assert plain > 0 and driven == pytest.approx(factor * plain, abs=len(legs))


@pytest.mark.django_db
def test_breaks_orders_booked_before_the_range_and_orders_without_coordinates(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        fleet = make_fleet_day("mb", vans=1, orders=0, day=FIRST, capacity_items=4)
        fleet.drivers[0].break_start, fleet.drivers[0].break_duration_s = dt.time(12), 1800
        fleet.drivers[0].save()  # a break: the OR-Tools search
        before = FIRST - dt.timedelta(days=1)
        last = FIRST + dt.timedelta(days=2)
        early = _order("mb", 1, day=before, latest=last)
        fixed = [_order("mb", k, day=FIRST + dt.timedelta(days=1)) for k in range(2, 6)]
        lost = _order("mb", 6, day=before, latest=last)
        Order.objects.filter(pk=lost.pk).update(lat=None, lng=None)
        stale = _order("mb", 7, day=before)  # its only day is before the range
        multi, cuts = _solved(monkeypatch)
        assert all(not c.solution.routes or c.solution.engine == "ortools" for c in cuts)
        for cut in cuts:
            assert checker.check(cut.problem, cut.solution) == []
            for route in cut.solution.routes:  # the break, on the route's own day
                assert sum(v.kind == "break" for v in route.visits) == 1
        for order in fixed:
            assert _day_of(order.pk) == FIRST + dt.timedelta(days=1)
        early.refresh_from_db()
        assert early.delivery_date == _day_of(early.pk) != FIRST + dt.timedelta(days=1)
        waiting = PlanUnassigned.objects.select_related("plan").get(plan__multi_day=multi)
        assert (waiting.order_id, waiting.reason, waiting.plan.date) == (
            lost.pk,
            "not_geocoded",
            FIRST,
        )
        lost.refresh_from_db()
        assert lost.delivery_date == FIRST
        stale.refresh_from_db()
        assert stale.delivery_date == before and not PlanStop.objects.filter(order=stale).exists()
