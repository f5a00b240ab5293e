"""The day as it happens: a plan published to its drivers, stops that fail or are
cancelled, urgent orders, re-planning around what drivers already did, and ETAs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Driver, Order, OrderEvent, OrderStatus, Vehicle
from dispatch.services.orders import order_transition
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned, RouteVersion
from routing.services import edits, live, plans, publish
from routing.services.routes import midnight_of
from routing.signals import plan_published, route_version_created
from tests.routing.factories import DAY, make_fleet_day
from tests.routing.test_plan_edits import orders_on, resolve
from tracking.selectors import order_eta

ACTOR = "user:dispatcher@alpha.test"


def freeze(monkeypatch, at: dt.datetime) -> None:
    """The clock reads `at` (services, route timing and auto_now_add all use it)."""
    assert at.tzinfo is not None
    monkeypatch.setattr(timezone, "now", lambda: at)


def planned(prefix: str, *, orders: int = 10, max_stops: int | None = 6, **fleet):
    """A solved, unpublished plan of DAY. `max_stops` caps every van, so the optimiser
    has to use both vans (it would put every order on one van otherwise)."""
    day = make_fleet_day(prefix, orders=orders, **fleet)
    Vehicle.objects.filter(pk__in=[v.pk for v in day.vans]).update(max_stops=max_stops)
    plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    plan.refresh_from_db()
    return plan, day


def published(prefix: str, **options):
    plan, day = planned(prefix, **options)
    publish.plan_publish(plan=plan, actor=ACTOR)
    plan.refresh_from_db()
    return plan, day


def busy_routes(plan: Plan) -> list[PlanRoute]:
    """The plan's routes with stops, the longest first."""
    routes = [r for r in plan.routes.order_by("pk") if orders_on(r)]
    return sorted(routes, key=lambda r: -len(orders_on(r)))


def walk(monkeypatch, order_id: int, *steps: tuple[str, dt.datetime]) -> Order:
    """The driver app: the order goes through `steps` (status, when)."""
    order = Order.objects.get(pk=order_id)
    for status, at in steps:
        freeze(monkeypatch, at)
        order = order_transition(order=order, to=status, actor="driver")
    return order


def deliver(monkeypatch, stop: PlanStop, *, late: dt.timedelta = dt.timedelta(0)) -> Order:
    """Serve `stop` at its planned times (`late`: that much after them)."""
    return walk(
        monkeypatch,
        stop.order_id,
        (OrderStatus.EN_ROUTE, stop.arrives_at - dt.timedelta(minutes=5) + late),
        (OrderStatus.ARRIVED, stop.arrives_at + late),
        (OrderStatus.DELIVERED, stop.departs_at + late),
    )


def status_of(order_id: int) -> str:
    return Order.objects.get(pk=order_id).status


def latest_version(route: PlanRoute) -> RouteVersion:
    return route.versions.order_by("-number").first()


def version_orders(version: RouteVersion) -> list[int]:
    return [s["order"] for s in version.stops if not s["is_break"]]


class Received:
    """Collects what a signal sends while the test runs (connected weakly: keep it)."""

    def __init__(self, signal):
        self.signal, self.calls = signal, []

    def __call__(self, sender, **kwargs):
        self.calls.append(kwargs)

    def __enter__(self):
        self.signal.connect(self, dispatch_uid=f"test-{id(self)}")
        return self

    def __exit__(self, *exc):
        self.signal.disconnect(dispatch_uid=f"test-{id(self)}")


def extra_crew(prefix: str, depot) -> tuple[Driver, Vehicle]:
    """A van and driver not in any plan yet (for `route_add`)."""
    van = Vehicle.objects.create(
        name=f"{prefix} spare van",
        start_depot=depot,
        capacity_weight_kg=Decimal("500"),
        capacity_items=200,
        cost_per_km=Decimal("0.5"),
        cost_per_hour=Decimal("20"),
    )
    driver = Driver.objects.create(
        name=f"{prefix} spare driver",
        default_vehicle=van,
        shift_start=dt.time(7),
        shift_end=dt.time(19),
    )
    return driver, van


def new_order(prefix: str, *, date: dt.date = DAY, lat=51.5005, lng=-0.1205) -> Order:
    """An open order near the depot, come in during the day."""
    return Order.objects.create(
        customer_name=f"{prefix} urgent",
        external_id=f"{prefix}-urgent-{date}",
        address_line1="1 Depot Lane",
        city="London",
        delivery_date=date,
        lat=lat,
        lng=lng,
        weight_kg=Decimal("2"),
        items=1,
        service_s=300,
    )


# --- publishing -------------------------------------------------------------------------


@pytest.mark.django_db
def test_publishing_dispatches_the_orders_and_records_version_one(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = planned("pub")
        routes = busy_routes(plan)
        assert len(routes) == 2  # both vans drive
        on_routes = {o for r in routes for o in orders_on(r)}
        assert len(on_routes) == 10
        with Received(plan_published) as sent:
            result = publish.plan_publish(plan=plan, actor=ACTOR)
        assert result.published_at is not None and result.published_by == ACTOR
        plan.refresh_from_db()
        assert plan.is_published and plan.published_by == ACTOR
        for order_id in on_routes:
            assert status_of(order_id) == OrderStatus.DISPATCHED
            events = OrderEvent.objects.filter(order_id=order_id).order_by("created_at", "id")
            assert [(e.from_status, e.to_status) for e in events] == [
                (OrderStatus.UNASSIGNED, OrderStatus.PLANNED),
                (OrderStatus.PLANNED, OrderStatus.DISPATCHED),
            ]
            assert {e.actor for e in events} == {ACTOR}
        for route in routes:
            route.refresh_from_db()
            assert route.version == 1
            (version,) = route.versions.all()
            assert version.number == 1 and version.reason == "Published"
            assert version.actor == ACTOR and version.changes == {}
            assert version_orders(version) == orders_on(route)
            assert [s["sequence"] for s in version.stops] == list(range(1, len(version.stops) + 1))
        assert len(sent.calls) == 1
        assert sent.calls[0]["plan"].pk == plan.pk
        assert sorted(r.pk for r in sent.calls[0]["routes"]) == sorted(r.pk for r in routes)

        # publishing again changes nothing and announces nothing
        published_at = plan.published_at
        events = OrderEvent.objects.count()
        with Received(plan_published) as again:
            publish.plan_publish(plan=plan, actor="user:someone-else@alpha.test")
        plan.refresh_from_db()
        assert again.calls == []
        assert plan.published_at == published_at and plan.published_by == ACTOR
        assert RouteVersion.objects.filter(route__plan=plan).count() == 2
        assert OrderEvent.objects.count() == events
        assert {r.version for r in plan.routes.all()} == {1}


@pytest.mark.django_db
def test_a_plan_whose_orders_went_out_with_another_plan_is_not_published(alpha):
    with schema_context(alpha.tenant.schema_name):
        first, day = planned("two")
        second = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        assert plans.plan_solve(second.pk) == Plan.Status.DONE  # the same open orders
        shared = sorted(
            PlanStop.objects.filter(route__plan=second, order__isnull=False).values_list(
                "order_id", flat=True
            )
        )
        assert len(shared) == 10
        publish.plan_publish(plan=first, actor=ACTOR)
        with Received(plan_published) as sent, pytest.raises(ValidationError) as exc:
            publish.plan_publish(plan=second, actor=ACTOR)
        assert set(exc.value.message_dict) == {"plan"}
        assert f"#{shared[0]}" in exc.value.message_dict["plan"][0]
        assert sent.calls == []
        second.refresh_from_db()
        assert second.published_at is None
        assert not RouteVersion.objects.filter(route__plan=second).exists()
        assert set(second.routes.values_list("version", flat=True)) == {0}
        # the first plan's drivers keep their orders
        assert {status_of(o) for o in shared} == {OrderStatus.DISPATCHED}


@pytest.mark.django_db
def test_an_order_cancelled_before_publishing_leaves_the_draft_and_is_not_dispatched(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = planned("cxl")
        route = busy_routes(plan)[0]
        cancelled = orders_on(route)[1]
        order_transition(
            order=Order.objects.get(pk=cancelled), to=OrderStatus.CANCELLED, actor=ACTOR
        )
        assert not PlanStop.objects.filter(order_id=cancelled).exists()
        assert PlanUnassigned.objects.get(plan=plan, order_id=cancelled).reason == "cancelled"
        route.refresh_from_db()
        assert route.version == 0 and not route.versions.exists()  # a draft has no versions
        publish.plan_publish(plan=plan, actor=ACTOR)
        assert status_of(cancelled) == OrderStatus.CANCELLED
        route.refresh_from_db()
        assert route.version == 1 and cancelled not in version_orders(latest_version(route))


# --- edits and drops after publishing -----------------------------------------------------


@pytest.mark.django_db
def test_a_move_between_published_routes_gives_both_drivers_a_new_version(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("mvp")
        source, target = busy_routes(plan)
        moving = orders_on(source)[-1]
        events = OrderEvent.objects.filter(order_id=moving).count()
        with Received(route_version_created) as sent:
            edits.stop_move(plan=plan, order_id=moving, route_id=target.pk, position=1, actor=ACTOR)
        source.refresh_from_db()
        target.refresh_from_db()
        assert source.version == 2 and target.version == 2
        assert orders_on(target)[0] == moving and moving not in orders_on(source)
        away, here = latest_version(source), latest_version(target)
        assert away.number == 2 and here.number == 2
        assert away.changes == {"added": [], "removed": [moving], "moved": []}
        assert here.changes == {"added": [moving], "removed": [], "moved": []}
        assert version_orders(away) == orders_on(source)
        assert version_orders(here) == orders_on(target)
        assert away.actor == ACTOR and f"#{moving}" in here.reason
        assert sorted((c["version"].route_id, c["version"].number) for c in sent.calls) == sorted(
            [(source.pk, 2), (target.pk, 2)]
        )
        # still promised to a driver: no status change
        assert status_of(moving) == OrderStatus.DISPATCHED
        assert OrderEvent.objects.filter(order_id=moving).count() == events


@pytest.mark.django_db
def test_failed_and_cancelled_stops_go_back_to_the_pool(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("fail")
        first, second = busy_routes(plan)
        failing = orders_on(first)[0]
        kept = orders_on(first)[1:]
        walk_order = Order.objects.get(pk=failing)
        walk_order = order_transition(order=walk_order, to=OrderStatus.EN_ROUTE, actor="driver")
        order_transition(order=walk_order, to=OrderStatus.FAILED, actor="driver", reason="Out")
        assert not PlanStop.objects.filter(order_id=failing).exists()
        assert PlanUnassigned.objects.get(plan=plan, order_id=failing).reason == "failed"
        first.refresh_from_db()
        assert orders_on(first) == kept
        assert first.version == 2
        version = latest_version(first)
        assert version.changes == {"added": [], "removed": [failing], "moved": []}
        assert version_orders(version) == kept and version.actor == "driver"
        assert [s.sequence for s in first.stops.order_by("sequence")] == list(
            range(1, len(kept) + 1)
        )
        assert status_of(failing) == OrderStatus.FAILED

        cancelled = orders_on(second)[1]
        order_transition(
            order=Order.objects.get(pk=cancelled), to=OrderStatus.CANCELLED, actor=ACTOR
        )
        assert PlanUnassigned.objects.get(plan=plan, order_id=cancelled).reason == "cancelled"
        second.refresh_from_db()
        assert cancelled not in orders_on(second) and second.version == 2
        assert latest_version(second).changes["removed"] == [cancelled]
        first.refresh_from_db()
        assert first.version == 2  # the other route is left alone
        placed = PlanStop.objects.filter(route__plan=plan, order__isnull=False).count()
        assert placed == 8 and plan.unassigned.count() == 2

        # the failed delivery is tried again later the same day: back on a route, dispatched
        edits.stop_move(plan=plan, order_id=failing, route_id=second.pk, actor=ACTOR)
        assert orders_on(PlanRoute.objects.get(pk=second.pk))[-1] == failing
        assert status_of(failing) == OrderStatus.DISPATCHED
        assert not PlanUnassigned.objects.filter(plan=plan, order_id=failing).exists()
        with pytest.raises(ValidationError):  # a cancelled order is never planned again
            edits.stop_move(plan=plan, order_id=cancelled, route_id=second.pk, actor=ACTOR)


# --- the day as it happens ------------------------------------------------------------------


@pytest.mark.django_db
def test_an_urgent_order_goes_after_the_stops_drivers_reached(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("urg")
        routes = busy_routes(plan)
        delivered = {}
        for route in routes:  # every driver has served a stop: none may come first
            head = route.stops.order_by("sequence").first()
            deliver(monkeypatch, head)
            delivered[route.pk] = head.order_id
        later = max(r.stops.order_by("sequence").first().departs_at for r in routes)
        freeze(monkeypatch, later + dt.timedelta(minutes=10))
        before = {r.pk: (r.version, r.violations, orders_on(r)) for r in routes}
        urgent = new_order("urg")

        with pytest.raises(ValidationError) as exc:  # not this plan's day
            live.order_insert_urgent(plan=plan, order=new_order("urg", date=DAY + dt.timedelta(1)))
        assert set(exc.value.message_dict) == {"order"}

        route = live.order_insert_urgent(plan=plan, order=urgent, actor=ACTOR)
        assert route is not None and route.pk in before
        route.refresh_from_db()
        stops = orders_on(route)
        assert stops.count(urgent.pk) == 1
        assert stops.index(urgent.pk) > stops.index(delivered[route.pk])
        version, old_orders = before[route.pk][0], before[route.pk][2]
        assert [o for o in stops if o != urgent.pk] == old_orders
        assert route.version == version + 1
        assert latest_version(route).changes["added"] == [urgent.pk]
        assert route.violations == before[route.pk][1] == []
        assert status_of(urgent.pk) == OrderStatus.DISPATCHED
        assert not PlanUnassigned.objects.filter(plan=plan, order=urgent).exists()
        assert status_of(delivered[route.pk]) == OrderStatus.DELIVERED
        # the delivered stop keeps its place and times
        head = route.stops.order_by("sequence").first()
        assert head.order_id == delivered[route.pk]

        # a retried request (stale or reloaded order) answers the same route, changes nothing
        versions = RouteVersion.objects.filter(route__plan=plan).count()
        assert live.order_insert_urgent(plan=plan, order=urgent, actor=ACTOR) == route
        reloaded = Order.objects.get(pk=urgent.pk)
        assert live.order_insert_urgent(plan=plan, order=reloaded, actor=ACTOR) == route
        assert PlanStop.objects.filter(order=urgent).count() == 1
        assert RouteVersion.objects.filter(route__plan=plan).count() == versions
        assert status_of(urgent.pk) == OrderStatus.DISPATCHED


@pytest.mark.django_db
def test_re_planning_keeps_delivered_stops_first(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("rp", spread=0.1)
        routes = busy_routes(plan)
        assert len(routes) == 2
        route = routes[0]
        heads = list(route.stops.order_by("sequence")[:2])
        for stop in heads:
            deliver(monkeypatch, stop)
        done = [s.order_id for s in heads]
        freeze(monkeypatch, heads[1].departs_at + dt.timedelta(minutes=3))
        where = {o: r.pk for r in routes for o in orders_on(r)}

        resolve(plan, allow_reassign=False)
        route.refresh_from_db()
        assert orders_on(route)[:2] == done
        now_where = {o: r.pk for r in plan.routes.order_by("pk") for o in orders_on(r)}
        assert now_where == where  # nobody's order went to another driver
        assert not plan.unassigned.exists()
        assert {status_of(o) for o in done} == {OrderStatus.DELIVERED}
        assert {status_of(o) for o in where if o not in done} == {OrderStatus.DISPATCHED}
        # the delivered stops keep the times they were served at
        assert [s.departs_at for s in route.stops.order_by("sequence")[:2]] == [
            s.departs_at for s in heads
        ]
        # what is ahead starts after now
        ahead = route.stops.order_by("sequence")[2:]
        assert all(s.arrives_at >= heads[1].departs_at for s in ahead)

        freeze(monkeypatch, heads[1].departs_at + dt.timedelta(minutes=6))
        resolve(plan, allow_reassign=True)
        route.refresh_from_db()
        assert orders_on(route)[:2] == done
        placed = [o for r in plan.routes.all() for o in orders_on(r)]
        assert sorted(placed) == sorted(where)  # every order is still on some route, once
        assert {status_of(o) for o in placed if o not in done} == {OrderStatus.DISPATCHED}


@pytest.mark.django_db
def test_a_late_driver_pushes_the_eta_of_the_next_stops_back(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("eta")
        route = busy_routes(plan)[0]
        first, second, third = list(route.stops.order_by("sequence")[:3])
        late = dt.timedelta(minutes=45)
        deliver(monkeypatch, first, late=late)
        now = first.departs_at + late
        assert timezone.now() == now

        eta = order_eta(Order.objects.get(pk=second.order_id), now=now)
        assert (eta.plan, eta.route, eta.route_version) == (plan.pk, route.pk, 1)
        assert eta.driver == route.driver.name and eta.status == OrderStatus.DISPATCHED
        assert eta.planned_arrival == second.starts_at  # as published
        assert eta.stops_before == 0
        assert eta.eta > eta.planned_arrival
        assert abs((eta.eta - eta.planned_arrival) - late) <= dt.timedelta(minutes=1)

        after = order_eta(Order.objects.get(pk=third.order_id), now=now)
        assert after.stops_before == 1
        assert abs((after.eta - after.planned_arrival) - late) <= dt.timedelta(minutes=1)

        # the delivered one: where it was, no ETA any more
        done = order_eta(Order.objects.get(pk=first.order_id), now=now)
        assert done.status == OrderStatus.DELIVERED and done.eta is None
        assert done.planned_arrival == first.starts_at

        # on no published route: nothing to tell
        nowhere = order_eta(new_order("eta"), now=now)
        assert (nowhere.plan, nowhere.route, nowhere.eta, nowhere.planned_arrival) == (
            None,
            None,
            None,
            None,
        )
        assert nowhere.status == OrderStatus.UNASSIGNED


@pytest.mark.django_db
def test_an_order_on_a_draft_plan_only_has_no_eta(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = planned("draft")
        order_id = orders_on(busy_routes(plan)[0])[0]
        eta = order_eta(Order.objects.get(pk=order_id))
        assert eta.route is None and eta.eta is None and eta.stops_before is None


# --- tenants ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_live_services_stay_in_their_tenant(alpha, beta, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, day = published("iso")
        ours = {o.pk: (o.lat, o.lng) for o in day.orders}
    with schema_context(beta.tenant.schema_name):
        theirs = make_fleet_day("oth", orders=0)
        Vehicle.objects.filter(pk__in=[v.pk for v in theirs.vans]).update(max_stops=6)
        for k, (pk, (lat, lng)) in enumerate(sorted(ours.items())):
            Order.objects.create(  # the same ids as alpha's orders
                pk=pk,
                customer_name=f"oth {k}",
                external_id=f"oth-{k}",
                address_line1="x",
                city="London",
                delivery_date=DAY,
                lat=lat,
                lng=lng,
                weight_kg=Decimal("3"),
            )
        other = plans.plan_create(date=DAY, depot=theirs.depot, seconds=1)
        assert plans.plan_solve(other.pk) == Plan.Status.DONE
        publish.plan_publish(plan=other, actor="beta")
        snapshot = sorted(
            PlanStop.objects.filter(route__plan=other).values_list(
                "pk", "route_id", "order_id", "sequence", "arrives_at"
            )
        )
        versions = sorted(RouteVersion.objects.values_list("pk", "route_id", "number"))
        assert {o for _, _, o, _, _ in snapshot} == set(ours)

    with schema_context(alpha.tenant.schema_name):
        route = busy_routes(plan)[0]
        failing, asked = orders_on(route)[0], orders_on(route)[1]
        eta = order_eta(Order.objects.get(pk=asked), now=midnight_of(plan))
        assert (eta.plan, eta.route) == (plan.pk, route.pk)
        assert eta.driver == route.driver.name and eta.driver.startswith("iso ")
        order = order_transition(
            order=Order.objects.get(pk=failing), to=OrderStatus.EN_ROUTE, actor="driver"
        )
        order_transition(order=order, to=OrderStatus.FAILED, actor="driver")
        assert not PlanStop.objects.filter(order_id=failing).exists()
        left = live.order_left_routes(order=Order.objects.get(pk=asked), reason="manual")
        assert [r.pk for r in left] == [route.pk]
        assert {r.plan_id for r in left} == {plan.pk}

    with schema_context(beta.tenant.schema_name):
        assert (
            sorted(
                PlanStop.objects.filter(route__plan=other).values_list(
                    "pk", "route_id", "order_id", "sequence", "arrives_at"
                )
            )
            == snapshot
        )
        assert sorted(RouteVersion.objects.values_list("pk", "route_id", "number")) == versions
        assert not PlanUnassigned.objects.exists()
        assert {status_of(pk) for pk in ours} == {OrderStatus.DISPATCHED}
        theirs_eta = order_eta(Order.objects.get(pk=asked), now=midnight_of(other))
        assert theirs_eta.plan == other.pk and theirs_eta.driver.startswith("oth ")


# --- regressions: each of these was a bug found by these tests ------------------------------


@pytest.mark.django_db
def test_a_stop_moved_onto_a_van_added_after_publishing_stays_on_it(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan, day = published("add")
        driver, van = extra_crew("add", day.depot)
        added = edits.route_add(plan=plan, driver_id=driver.pk, vehicle_id=van.pk, actor=ACTOR)
        source = busy_routes(plan)[0]
        moving = orders_on(source)[-1]
        result = edits.stop_move(plan=plan, order_id=moving, route_id=added.pk, actor=ACTOR)
        assert result.pk == added.pk
        added.refresh_from_db()
        assert orders_on(added) == [moving]
        assert not PlanUnassigned.objects.filter(plan=plan, order_id=moving).exists()
        # the plan is out with the drivers: the new van's driver gets the stop
        assert status_of(moving) == OrderStatus.DISPATCHED
        assert added.version == 1


@pytest.mark.django_db
def test_an_urgent_order_on_a_van_added_after_publishing_reaches_its_driver(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, day = published("addu", max_stops=5)
        assert sorted(len(orders_on(r)) for r in busy_routes(plan)) == [5, 5]  # both full
        driver, van = extra_crew("addu", day.depot)
        added = edits.route_add(plan=plan, driver_id=driver.pk, vehicle_id=van.pk, actor=ACTOR)
        now = midnight_of(plan) + dt.timedelta(hours=10)
        freeze(monkeypatch, now)
        urgent = new_order("addu")
        route = live.order_insert_urgent(plan=plan, order=urgent, actor=ACTOR)
        assert route is not None and route.pk == added.pk  # the only van with room
        route.refresh_from_db()
        assert status_of(urgent.pk) == OrderStatus.DISPATCHED
        assert route.version == 1
        assert route.stops.get(order=urgent).arrives_at >= now
        assert order_eta(urgent, now=now).route == added.pk


@pytest.mark.django_db
def test_a_re_solve_that_fills_a_van_added_after_publishing_publishes_its_route(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan, day = published("addr")
        driver, van = extra_crew("addr", day.depot)
        added = edits.route_add(plan=plan, driver_id=driver.pk, vehicle_id=van.pk, actor=ACTOR)
        other = busy_routes(plan)[1]
        edits.route_remove(plan=plan, route_id=other.pk, actor=ACTOR)  # its stops: pool
        resolve(plan)
        added.refresh_from_db()
        on_added = orders_on(added)
        assert on_added  # the remaining van holds at most 6: the new one drives the rest
        assert {status_of(o) for o in on_added} == {OrderStatus.DISPATCHED}
        assert added.version >= 1
        assert version_orders(latest_version(added)) == on_added
        assert order_eta(Order.objects.get(pk=on_added[0])).route == added.pk


@pytest.mark.django_db
def test_a_stop_the_driver_skipped_gets_an_eta_in_the_future(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("skip")
        route = busy_routes(plan)[0]
        first, second = list(route.stops.order_by("sequence")[:2])
        deliver(monkeypatch, second, late=dt.timedelta(minutes=30))  # first one skipped
        now = timezone.now()
        eta = order_eta(Order.objects.get(pk=first.order_id), now=now)
        assert eta.status == OrderStatus.DISPATCHED
        assert eta.eta is not None and eta.eta >= now


@pytest.mark.django_db
def test_an_on_time_route_gives_the_published_arrival_as_eta(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = make_fleet_day("wait", vans=1, orders=2)
        early, late = day.orders  # served in this order: the first window closes first
        Order.objects.filter(pk=early.pk).update(time_windows=[{"start": "08:00", "end": "08:30"}])
        Order.objects.filter(pk=late.pk).update(time_windows=[{"start": "10:00", "end": "11:00"}])
        plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        publish.plan_publish(plan=plan, actor=ACTOR)
        route = plan.routes.get()
        stop = route.stops.get(order_id=late.pk)
        assert orders_on(route) == [early.pk, late.pk] and stop.waiting_s > 0
        eta = order_eta(Order.objects.get(pk=late.pk), now=midnight_of(plan))  # nothing
        assert eta.planned_arrival == stop.starts_at  # happened yet: exactly on plan
        assert eta.eta == eta.planned_arrival


@pytest.mark.django_db
def test_a_late_re_solve_plans_every_route_from_now(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("late")
        started = busy_routes(plan)[0]
        deliver(monkeypatch, started.stops.order_by("sequence").first())
        freeze(monkeypatch, midnight_of(plan) + dt.timedelta(hours=18, minutes=40))
        resolve(plan, allow_reassign=False)
        assert all(r.violations == [] for r in plan.routes.all())
