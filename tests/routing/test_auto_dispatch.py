"""Auto-dispatch: an order that arrives for today goes onto the published route where it
costs least, keeping the routes' rules, behind what drivers reached, never on a locked
route; one that fits nowhere waits in the pool and the dispatcher is alerted. And the
nightly plan of tomorrow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

import tenants.tasks
from dispatch.models import Depot, Driver, Order, OrderStatus, Vehicle
from dispatch.services.orders import order_create, order_update
from routing.models import DispatchAlert, Plan, PlanRoute, PlanStop, PlanUnassigned, RouteVersion
from routing.services import auto_dispatch, edits, plans, publish
from routing.services.auto_dispatch import Outcome, PlanTick, order_auto_dispatch
from tenants.models import Tenant
from tests.conftest import TENANT_ZONE, tenant_today
from tests.routing.test_plan_live import deliver, freeze

ACTOR = "user:dispatcher@alpha.test"
NORTH, SOUTH = (51.53, -0.12), (51.47, -0.12)


def local(hour: int, minute: int = 0, *, days: int = 0) -> dt.datetime:
    """Today's (`days` later) local time in the test tenants' zone."""
    return dt.datetime.combine(tenant_today(days), dt.time(hour, minute), tzinfo=TENANT_ZONE)


def auto(tenant, on: bool = True, plan_at: dt.time | None = None) -> None:
    Tenant.objects.filter(pk=tenant.pk).update(auto_dispatch=on, auto_plan_at=plan_at)


def order_at(prefix: str, point, *, n: int = 0, day: dt.date | None = None, **fields) -> Order:
    values = {
        "customer_name": f"{prefix} customer {n}",
        "external_id": f"{prefix}-{n}",
        "address_line1": f"{n} High Street",
        "city": "London",
        "delivery_date": day or tenant_today(),
        "lat": point[0],
        "lng": point[1],
        "weight_kg": Decimal("2"),
        "items": 1,
        "service_s": 300,
        **fields,
    }
    return Order.objects.create(**values)


def crew(prefix: str, depot: Depot, k: int, *, skills=()) -> tuple[Driver, Vehicle]:
    van = Vehicle.objects.create(
        name=f"{prefix} van {k}",
        start_depot=depot,
        capacity_weight_kg=Decimal("100"),
        capacity_items=50,
        cost_per_km=Decimal("0.5"),
        cost_per_hour=Decimal("20"),
        skills=list(skills),
    )
    driver = Driver.objects.create(
        name=f"{prefix} driver {k}",
        default_vehicle=van,
        shift_start=dt.time(7),
        shift_end=dt.time(19),
    )
    return driver, van


def running_day(monkeypatch, prefix: str, *, south_skills=()) -> tuple[Plan, PlanRoute, PlanRoute]:
    """Today's published plan, built by hand so that it is the same every run: the north
    van serves three orders north of the depot, the south van three south of it. The
    clock then reads 09:00 local."""
    freeze(monkeypatch, local(6, 30))
    depot = Depot.objects.create(
        name=f"{prefix} depot", lat=51.5, lng=-0.12, opens_at=dt.time(6), closes_at=dt.time(22)
    )
    crews = [crew(prefix, depot, 1), crew(prefix, depot, 2, skills=south_skills)]
    plan = Plan.objects.create(
        date=tenant_today(), depot=depot, status=Plan.Status.DONE, solved_at=timezone.now()
    )
    routes = []
    for driver, van in crews:
        start = local(7)
        routes.append(
            PlanRoute.objects.create(
                plan=plan,
                driver=driver,
                vehicle=van,
                starts_at=start,
                ends_at=start,
                distance_m=0,
                duration_s=0,
            )
        )
    for route, point in zip(routes, (NORTH, SOUTH), strict=True):
        for n in range(3):
            order = order_at(f"{prefix}-{route.pk}", (point[0], point[1] + n * 0.002), n=n)
            PlanUnassigned.objects.create(plan=plan, order=order, reason="manual")
            edits.stop_move(plan=plan, order_id=order.pk, route_id=route.pk, actor=ACTOR)
    publish.plan_publish(plan=plan, actor=ACTOR)
    freeze(monkeypatch, local(9))
    plan.refresh_from_db()
    for route in routes:
        route.refresh_from_db()
    return plan, routes[0], routes[1]


def orders_on(route: PlanRoute) -> list[int]:
    return list(
        route.stops.filter(order__isnull=False)
        .order_by("sequence")
        .values_list("order_id", flat=True)
    )


def status_of(order: Order) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order.pk)


def alerts(order: Order) -> list[DispatchAlert]:
    return list(DispatchAlert.objects.filter(order=order))


# --- placing ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_order_goes_where_it_costs_least_and_the_driver_gets_a_new_version(
    alpha, monkeypatch
):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        plan, north, south = running_day(monkeypatch, "cheap")
        before = orders_on(north)
        revision, version = plan.revision, north.version
        # between the first and the second north stop
        late = order_at("cheap", (NORTH[0], NORTH[1] + 0.001), n=9)

        assert order_auto_dispatch(order_id=late.pk) == Outcome.PLACED

        north.refresh_from_db()
        assert orders_on(north) == [before[0], late.pk, *before[1:]]
        assert late.pk not in orders_on(south)
        assert status_of(late) == OrderStatus.DISPATCHED
        assert north.version == version + 1
        newest = north.versions.order_by("-number").first()
        assert newest.changes["added"] == [late.pk] and newest.actor == auto_dispatch.ACTOR
        assert south.versions.count() == 1  # the other driver hears nothing
        plan.refresh_from_db()
        assert plan.revision > revision  # the board fetches the plan again
        assert not PlanUnassigned.objects.filter(order=late).exists()
        assert not alerts(late)
        assert north.violations == []


@pytest.mark.django_db
def test_a_repeated_job_changes_nothing(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        plan, _north, _ = running_day(monkeypatch, "again")
        late = order_at("again", NORTH, n=7)
        assert auto_dispatch.orders_auto_dispatch([late.pk]) == {late.pk: Outcome.PLACED}
        versions = RouteVersion.objects.filter(route__plan=plan).count()
        plan.refresh_from_db()
        revision = plan.revision

        assert auto_dispatch.orders_auto_dispatch([late.pk, late.pk]) == {late.pk: Outcome.NOT_OPEN}
        assert PlanStop.objects.filter(order=late).count() == 1
        assert RouteVersion.objects.filter(route__plan=plan).count() == versions
        plan.refresh_from_db()
        assert plan.revision == revision


@pytest.mark.django_db
def test_windows_capacity_and_skills_are_kept(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        plan, north, south = running_day(monkeypatch, "rules", south_skills=["fridge"])
        # near the north van, but only the south van has a fridge
        cold = order_at("rules", NORTH, n=5, required_skills=["fridge"])
        assert order_auto_dispatch(order_id=cold.pk) == Outcome.PLACED
        assert cold.pk in orders_on(south) and cold.pk not in orders_on(north)

        # a window the day has already left (it is 09:00)
        gone = order_at("rules", NORTH, n=6, time_windows=[{"start": "07:00", "end": "08:00"}])
        assert order_auto_dispatch(order_id=gone.pk) == Outcome.POOLED
        assert PlanUnassigned.objects.get(plan=plan, order=gone).reason == "time_window"

        # a window later today is kept: served inside it
        noon = order_at("rules", SOUTH, n=7, time_windows=[{"start": "12:00", "end": "12:30"}])
        assert order_auto_dispatch(order_id=noon.pk) == Outcome.PLACED
        stop = PlanStop.objects.get(order=noon)
        assert local(12) <= stop.starts_at <= local(12, 30)

        # heavier than either van takes
        heavy = order_at("rules", SOUTH, n=8, weight_kg=Decimal("150"))
        assert order_auto_dispatch(order_id=heavy.pk) == Outcome.POOLED
        assert PlanUnassigned.objects.get(plan=plan, order=heavy).reason == "capacity"
        for order in (gone, heavy):
            assert status_of(order) == OrderStatus.UNASSIGNED
            (alert,) = alerts(order)
            assert alert.kind == DispatchAlert.Kind.NOT_PLACED and alert.plan == plan
            assert alert.date == tenant_today() and alert.seen_at is None
            assert f"#{order.pk}" in alert.message
        assert "time window" in alerts(gone)[0].message
        for route in (north, south):
            route.refresh_from_db()
            assert route.violations == []


@pytest.mark.django_db
def test_a_locked_route_is_never_given_an_order(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        plan, north, south = running_day(monkeypatch, "lock")
        edits.route_lock(plan=plan, route_id=north.pk, locked=True, actor=ACTOR)
        before = orders_on(north)
        late = order_at("lock", NORTH, n=8)
        assert order_auto_dispatch(order_id=late.pk) == Outcome.PLACED
        assert orders_on(north) == before
        assert late.pk in orders_on(south)

        edits.route_lock(plan=plan, route_id=south.pk, locked=True, actor=ACTOR)
        later = order_at("lock", SOUTH, n=9)
        assert order_auto_dispatch(order_id=later.pk) == Outcome.POOLED
        assert PlanUnassigned.objects.get(plan=plan, order=later).reason == "no_room"
        assert len(alerts(later)) == 1


@pytest.mark.django_db
def test_nothing_goes_before_a_stop_the_driver_reached_or_is_heading_to(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        _plan, north, _ = running_day(monkeypatch, "reach")
        first, second, _third = north.stops.order_by("sequence")
        deliver(monkeypatch, first)
        # heading to the second
        from dispatch.services.orders import order_transition

        order_transition(order=second.order, to=OrderStatus.EN_ROUTE, actor="driver")
        freeze(monkeypatch, second.arrives_at - dt.timedelta(minutes=1))
        # right at the depot, where the van started: cheapest before the first stop,
        # were it still possible
        late = order_at("reach", (51.5005, -0.1205), n=9)
        assert order_auto_dispatch(order_id=late.pk) == Outcome.PLACED
        stops = orders_on(north)
        assert stops[:2] == [first.order_id, second.order_id]
        assert late.pk in stops[2:]
        assert status_of(first.order) == OrderStatus.DELIVERED


@pytest.mark.django_db
def test_only_todays_open_orders_of_a_tenant_that_asked_are_dispatched(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        _plan, north, south = running_day(monkeypatch, "which")
        late = order_at("which", NORTH, n=7)
        auto(alpha.tenant, on=False)
        assert order_auto_dispatch(order_id=late.pk) == Outcome.DISABLED
        assert auto_dispatch.orders_auto_dispatch([late.pk]) == {late.pk: Outcome.DISABLED}
        auto(alpha.tenant)
        tomorrow = order_at("which", NORTH, n=8, day=tenant_today(1))
        assert order_auto_dispatch(order_id=tomorrow.pk) == Outcome.NOT_TODAY
        cancelled = order_at("which", NORTH, n=9, status=OrderStatus.CANCELLED)
        assert order_auto_dispatch(order_id=cancelled.pk) == Outcome.NOT_OPEN
        waiting = order_at("which", NORTH, n=10, lat=None, lng=None, geocode_status="pending")
        assert order_auto_dispatch(order_id=waiting.pk) == Outcome.WAITING
        placed = {o for r in (north, south) for o in orders_on(r)}
        assert not placed & {late.pk, tomorrow.pk, cancelled.pk, waiting.pk}
        assert not DispatchAlert.objects.exists()
        assert status_of(late) == status_of(tomorrow) == OrderStatus.UNASSIGNED


@pytest.mark.django_db
def test_without_a_published_plan_the_order_waits_quietly_and_alerts_are_seen_once(
    alpha, monkeypatch
):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        freeze(monkeypatch, local(9))
        late = order_at("none", NORTH, n=1)
        # today is not planned yet: it waits with the day's open orders, no alert for it
        assert order_auto_dispatch(order_id=late.pk) == Outcome.NO_PLAN
        assert order_auto_dispatch(order_id=late.pk) == Outcome.NO_PLAN
        assert alerts(late) == [] and status_of(late) == OrderStatus.UNASSIGNED
        alert = DispatchAlert.objects.create(
            kind=DispatchAlert.Kind.NOT_PLACED, date=late.delivery_date, order=late, message="x"
        )
        assert auto_dispatch.alerts_seen(alert_ids=[alert.pk], actor=ACTOR) == 1
        assert auto_dispatch.alerts_seen(alert_ids=[alert.pk], actor=ACTOR) == 0
        alert.refresh_from_db()
        assert alert.seen_by == ACTOR and alert.seen_at is not None


@pytest.mark.django_db
def test_an_order_pooled_then_placed_later_settles_its_alert(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        plan, north, _ = running_day(monkeypatch, "settle")
        edits.route_lock(plan=plan, route_id=north.pk, locked=True, actor=ACTOR)
        PlanRoute.objects.filter(plan=plan).update(locked=True)
        late = order_at("settle", NORTH, n=9)
        assert order_auto_dispatch(order_id=late.pk) == Outcome.POOLED
        PlanRoute.objects.filter(plan=plan).update(locked=False)
        assert order_auto_dispatch(order_id=late.pk) == Outcome.PLACED
        (alert,) = alerts(late)
        assert alert.seen_by == auto_dispatch.ACTOR


# --- every intake path, and the job -----------------------------------------------------


def queued_jobs(monkeypatch) -> list:
    queued = []
    monkeypatch.setattr(tenants.tasks, "async_task", lambda *args, **kw: queued.append(args))
    return [queued]


@pytest.mark.django_db
def test_new_located_and_rebooked_orders_queue_one_job_after_commit(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    (queued,) = queued_jobs(monkeypatch)
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        auto(alpha.tenant)
        data = {
            "customer_name": "Intake",
            "address_line1": "1 High Street",
            "city": "London",
            "country": "GB",
            "postcode": "SW1A 1AA",
            "lat": 51.5,
            "lng": -0.12,
            "delivery_date": tenant_today().isoformat(),
        }
        with django_capture_on_commit_callbacks(execute=True):
            today = order_create(data, source=Order.Source.API)
        jobs = [a for a in queued if a[2] == "routing.tasks.orders_auto_dispatch"]
        assert jobs == [
            (
                "tenants.tasks.run_in_schema",
                schema,
                "routing.tasks.orders_auto_dispatch",
                [today.pk],
            )
        ]

        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            later = order_create(
                {**data, "delivery_date": tenant_today(2).isoformat()}, source=Order.Source.API
            )
        assert not [a for a in queued if a[2] == "routing.tasks.orders_auto_dispatch"]

        with django_capture_on_commit_callbacks(execute=True):  # rebooked for today
            order_update(order=later, data={"delivery_date": tenant_today().isoformat()})
        jobs = [a for a in queued if a[2] == "routing.tasks.orders_auto_dispatch"]
        assert jobs == [
            (
                "tenants.tasks.run_in_schema",
                schema,
                "routing.tasks.orders_auto_dispatch",
                [later.pk],
            )
        ]

        queued.clear()
        from dispatch.services import geocoding

        waiting = order_at("geo", NORTH, n=1, lat=None, lng=None, geocode_status="pending")

        class Here:
            cacheable = False

            def geocode(self, *, query, country):
                return geocoding.GeocodeResult(51.5, -0.12)

        with django_capture_on_commit_callbacks(execute=True):
            assert geocoding.geocode_orders([waiting.pk], geocoder=Here())["ok"] == 1
        jobs = [a for a in queued if a[2] == "routing.tasks.orders_auto_dispatch"]
        assert jobs == [
            (
                "tenants.tasks.run_in_schema",
                schema,
                "routing.tasks.orders_auto_dispatch",
                [waiting.pk],
            )
        ]

        auto(alpha.tenant, on=False)
        queued.clear()
        with django_capture_on_commit_callbacks(execute=True):
            order_create({**data, "external_id": "off"}, source=Order.Source.API)
        assert not [a for a in queued if a[2] == "routing.tasks.orders_auto_dispatch"]


@pytest.mark.django_db
def test_an_alpha_order_never_lands_on_a_beta_route(alpha, beta, monkeypatch):
    with schema_context(beta.tenant.schema_name):
        auto(beta.tenant)
        _, beta_north, beta_south = running_day(monkeypatch, "beta")
        beta_before = {r.pk: orders_on(r) for r in (beta_north, beta_south)}
        beta_versions = RouteVersion.objects.count()
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        _plan, north, south = running_day(monkeypatch, "alpha")
        late = order_at("alpha", NORTH, n=9)
        # the job runs in alpha's schema, as the queue names it
        assert tenants.tasks.run_in_schema(
            alpha.tenant.schema_name, "routing.tasks.orders_auto_dispatch", [late.pk]
        ) == {late.pk: Outcome.PLACED}
        assert late.pk in orders_on(north) + orders_on(south)
    with schema_context(beta.tenant.schema_name):
        # beta's rows may carry the same ids; none of them moved
        assert {
            r.pk: orders_on(r)
            for r in PlanRoute.objects.filter(pk__in=[beta_north.pk, beta_south.pk])
        } == beta_before
        assert RouteVersion.objects.count() == beta_versions
        assert not DispatchAlert.objects.exists()


# --- nightly: plan and publish tomorrow ------------------------------------------------------


@pytest.mark.django_db
def test_tomorrow_is_planned_once_at_the_hour_and_published_once_solved(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        depot = Depot.objects.create(name="night depot", lat=51.5, lng=-0.12)
        crew("night", depot, 1)
        orders = [order_at("night", NORTH, n=n, day=tenant_today(1)) for n in range(3)]
        auto(alpha.tenant, on=False, plan_at=dt.time(18, 0))
        freeze(monkeypatch, local(17, 59))
        assert auto_dispatch.auto_plan_tick() == PlanTick.NOT_YET
        assert not Plan.objects.exists()

        freeze(monkeypatch, local(18, 1))
        with django_capture_on_commit_callbacks():
            assert auto_dispatch.auto_plan_tick() == PlanTick.QUEUED
            assert auto_dispatch.auto_plan_tick() == PlanTick.SOLVING  # no second plan
        (plan,) = Plan.objects.all()
        assert plan.date == tenant_today(1) and plan.created_by is None and plan.auto
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE

        assert auto_dispatch.auto_plan_tick() == PlanTick.PUBLISHED
        plan.refresh_from_db()
        assert plan.is_published and plan.published_by == auto_dispatch.PLANNER
        assert {status_of(o) for o in orders} == {OrderStatus.DISPATCHED}
        freeze(monkeypatch, local(23, 50))
        assert auto_dispatch.auto_plan_tick() == PlanTick.PUBLISHED
        assert Plan.objects.count() == 1 and not DispatchAlert.objects.exists()


@pytest.mark.django_db
def test_a_failed_nightly_plan_alerts_once_and_a_dispatchers_plan_is_left_alone(
    alpha, monkeypatch, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant, on=False, plan_at=dt.time(18, 0))
        freeze(monkeypatch, local(19))
        with django_capture_on_commit_callbacks():
            assert auto_dispatch.auto_plan_tick() == PlanTick.QUEUED
        plan = Plan.objects.get()
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.FAILED, error="Boom")
        assert auto_dispatch.auto_plan_tick() == PlanTick.FAILED
        assert auto_dispatch.auto_plan_tick() == PlanTick.FAILED
        (alert,) = DispatchAlert.objects.all()
        assert alert.kind == DispatchAlert.Kind.AUTO_PLAN_FAILED and alert.plan == plan
        assert "Boom" in alert.message and alert.date == tenant_today(1)
        assert Plan.objects.count() == 1

        # the day after: a dispatcher planned the next day before the hour
        freeze(monkeypatch, local(17, days=1))
        with django_capture_on_commit_callbacks():
            plans.plan_create(date=tenant_today(2), seconds=1, created_by=alpha_user(alpha))
        freeze(monkeypatch, local(18, 30, days=1))
        assert auto_dispatch.auto_plan_tick() == PlanTick.DISPATCHER
        assert Plan.objects.count() == 2

        # the day after that: an API client (no user) planned it after the hour: theirs
        freeze(monkeypatch, local(18, 10, days=2))
        with django_capture_on_commit_callbacks():
            api_plan = plans.plan_create(date=tenant_today(3), seconds=1)
        assert plans.plan_solve(api_plan.pk) == Plan.Status.DONE
        freeze(monkeypatch, local(18, 30, days=2))
        assert auto_dispatch.auto_plan_tick() == PlanTick.DISPATCHER
        api_plan.refresh_from_db()
        assert not api_plan.is_published and not api_plan.auto
        assert Plan.objects.count() == 3

        auto(alpha.tenant, on=False, plan_at=None)
        assert auto_dispatch.auto_plan_tick() == PlanTick.OFF


def alpha_user(fixture):
    from accounts.models import User

    return User.objects.get(email=fixture.dispatcher_email)


def test_the_nightly_plan_is_checked_every_few_minutes_for_every_tenant():
    from tenants.tasks import schedules

    jobs = {path: (kind, minutes) for path, kind, minutes in schedules().values()}
    assert jobs["routing.tasks.auto_plan"] == ("I", 5)


@pytest.mark.django_db
def test_a_pickup_and_delivery_pair_on_a_route_keeps_its_order_and_a_new_pair_waits(
    alpha, monkeypatch
):
    from dispatch.models import PickupDelivery

    with schema_context(alpha.tenant.schema_name):
        auto(alpha.tenant)
        plan, north, _ = running_day(monkeypatch, "pair")
        pickup = order_at("pair", (NORTH[0] + 0.002, NORTH[1]), n=20, kind=Order.Kind.PICKUP)
        delivery = order_at("pair", (NORTH[0] + 0.004, NORTH[1]), n=21)
        PickupDelivery.objects.create(pickup=pickup, delivery=delivery)
        for order in (pickup, delivery):
            PlanUnassigned.objects.create(plan=plan, order=order, reason="manual")
            edits.stop_move(plan=plan, order_id=order.pk, route_id=north.pk, actor=ACTOR)
        late = order_at("pair", (NORTH[0] + 0.003, NORTH[1]), n=22)
        assert order_auto_dispatch(order_id=late.pk) == Outcome.PLACED
        stops = orders_on(north)
        assert late.pk in stops
        assert stops.index(pickup.pk) < stops.index(delivery.pk)

        new_pickup = order_at("pair", NORTH, n=23, kind=Order.Kind.PICKUP)
        new_delivery = order_at("pair", SOUTH, n=24)
        PickupDelivery.objects.create(pickup=new_pickup, delivery=new_delivery)
        for order in (new_pickup, new_delivery):
            assert order_auto_dispatch(order_id=order.pk) == Outcome.POOLED
            assert not PlanStop.objects.filter(order=order).exists()
        # one alert for the pair, on its delivery
        assert alerts(new_pickup) == []
        assert "pickup-and-delivery pair" in alerts(new_delivery)[0].message
