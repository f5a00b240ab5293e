"""The driver's stop buttons: only their own published stops, in the order the state
machine allows, a repeat changing nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderEvent, OrderStatus
from routing.models import PlanStop, PlanUnassigned
from routing.services.routes import midnight_of
from tests.tracking.helpers import ACTOR, orders_on, solved_day
from tracking.services.day import heading_to, stop_event


def status_of(order_id: int) -> str:
    return Order.objects.get(pk=order_id).status


def events_of(order_id: int) -> list[tuple[str, str, str]]:
    return [
        (e.from_status, e.to_status, e.actor)
        for e in OrderEvent.objects.filter(order_id=order_id).order_by("created_at", "id")
    ]


PUBLISHED = [
    (OrderStatus.UNASSIGNED, OrderStatus.PLANNED, ACTOR),
    (OrderStatus.PLANNED, OrderStatus.DISPATCHED, ACTOR),
]


EVENTS = "One of: en_route, arrived, departed, delivered, failed."


def freeze(monkeypatch, at: dt.datetime) -> None:
    """The clock reads `at` (order events, route timing)."""
    monkeypatch.setattr(timezone, "now", lambda: at)


def refused(**kwargs) -> dict:
    with pytest.raises(ValidationError) as exc:
        stop_event(**kwargs)
    return exc.value.message_dict


@pytest.mark.django_db
def test_en_route_arrived_departed_walk_the_statuses(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("walk", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[0]
        me = f"driver:{day.driver.pk}"
        assert status_of(order_id) == OrderStatus.DISPATCHED
        assert heading_to(day.driver.pk) is None

        order = stop_event(driver=day.driver, order_id=order_id, event="en_route")
        assert order.pk == order_id and order.status == OrderStatus.EN_ROUTE
        assert status_of(order_id) == OrderStatus.EN_ROUTE
        assert heading_to(day.driver.pk) == order_id

        order = stop_event(driver=day.driver, order_id=order_id, event="arrived")
        assert order.status == status_of(order_id) == OrderStatus.ARRIVED
        assert heading_to(day.driver.pk) is None  # at the door, not on the way

        order = stop_event(driver=day.driver, order_id=order_id, event="departed")
        assert order.status == status_of(order_id) == OrderStatus.DELIVERED
        assert events_of(order_id) == [
            *PUBLISHED,
            (OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, me),
            (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, me),
            (OrderStatus.ARRIVED, OrderStatus.DELIVERED, me),
        ]
        # the delivered stop stays on the route (only failed and cancelled ones leave)
        assert PlanStop.objects.filter(route=day.mine, order_id=order_id).exists()


@pytest.mark.django_db
def test_delivered_straight_from_dispatched_passes_through_en_route_and_arrived(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("direct", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[1]
        me = f"driver:{day.driver.pk}"
        order = stop_event(
            driver=day.driver, order_id=order_id, event="delivered", reason="Left with a neighbour"
        )
        assert order.status == status_of(order_id) == OrderStatus.DELIVERED
        assert events_of(order_id) == [
            *PUBLISHED,
            (OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, me),
            (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, me),
            (OrderStatus.ARRIVED, OrderStatus.DELIVERED, me),
        ]
        reasons = list(
            OrderEvent.objects.filter(order_id=order_id, actor=me).values_list("reason", flat=True)
        )
        assert reasons == ["Left with a neighbour"] * 3

        # arrived straight from dispatched: through en route
        other = orders_on(day.mine)[2]
        stop_event(driver=day.driver, order_id=other, event="arrived")
        assert events_of(other)[2:] == [
            (OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, me),
            (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, me),
        ]


@pytest.mark.django_db
def test_a_repeated_event_changes_nothing(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("rep", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[0]
        for event, status in (
            ("en_route", OrderStatus.EN_ROUTE),
            ("arrived", OrderStatus.ARRIVED),
            ("delivered", OrderStatus.DELIVERED),
        ):
            stop_event(driver=day.driver, order_id=order_id, event=event)
            count = OrderEvent.objects.filter(order_id=order_id).count()
            again = stop_event(driver=day.driver, order_id=order_id, event=event)
            assert again.status == status_of(order_id) == status
            assert OrderEvent.objects.filter(order_id=order_id).count() == count
        # "departed" means delivered too: after "delivered" it is a repeat
        again = stop_event(driver=day.driver, order_id=order_id, event="departed")
        assert again.status == OrderStatus.DELIVERED
        assert OrderEvent.objects.filter(order_id=order_id).count() == len(PUBLISHED) + 3


@pytest.mark.django_db
def test_failed_from_arrived_leaves_the_route_for_the_pool(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("fail", alpha.user_ids[alpha.driver_email])
        ordered = orders_on(day.mine)
        order_id, kept = ordered[0], ordered[1:]
        me = f"driver:{day.driver.pk}"
        stop_event(driver=day.driver, order_id=order_id, event="en_route")
        stop_event(driver=day.driver, order_id=order_id, event="arrived")
        order = stop_event(
            driver=day.driver, order_id=order_id, event="failed", reason="Nobody home"
        )
        assert order.status == status_of(order_id) == OrderStatus.FAILED
        assert events_of(order_id)[-1] == (OrderStatus.ARRIVED, OrderStatus.FAILED, me)
        last = OrderEvent.objects.filter(order_id=order_id).order_by("-created_at", "-id").first()
        assert last.reason == "Nobody home"
        # the routing receiver took the stop off the route, into the plan's pool
        assert not PlanStop.objects.filter(order_id=order_id).exists()
        assert PlanUnassigned.objects.get(plan=day.plan, order_id=order_id).reason == "failed"
        day.mine.refresh_from_db()
        assert orders_on(day.mine) == kept
        assert day.mine.version == 2


@pytest.mark.django_db
def test_failed_straight_from_dispatched_passes_through_en_route(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("fail2", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[-1]
        me = f"driver:{day.driver.pk}"
        stop_event(driver=day.driver, order_id=order_id, event="failed", reason="x" * 400)
        assert events_of(order_id)[2:] == [
            (OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE, me),
            (OrderStatus.EN_ROUTE, OrderStatus.FAILED, me),
        ]
        reasons = OrderEvent.objects.filter(order_id=order_id, actor=me).values_list(
            "reason", flat=True
        )
        assert {len(r) for r in reasons} == {300}  # cut, not refused
        assert PlanUnassigned.objects.get(plan=day.plan, order_id=order_id).reason == "failed"


@pytest.mark.django_db
def test_a_repeated_failed_changes_nothing(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("fail3", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[0]
        stop_event(driver=day.driver, order_id=order_id, event="failed")
        count = OrderEvent.objects.filter(order_id=order_id).count()
        again = stop_event(driver=day.driver, order_id=order_id, event="failed")
        assert again.status == OrderStatus.FAILED
        assert OrderEvent.objects.filter(order_id=order_id).count() == count


@pytest.mark.django_db
def test_only_the_drivers_own_published_stops(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("own", alpha.user_ids[alpha.driver_email])
        theirs = orders_on(day.other)[0]
        for event in ("en_route", "delivered", "failed"):
            errors = refused(driver=day.driver, order_id=theirs, event=event)
            assert errors == {"order": ["This order is not on your route."]}
        assert status_of(theirs) == OrderStatus.DISPATCHED
        assert len(events_of(theirs)) == len(PUBLISHED)
        # the other driver may
        assert stop_event(driver=day.other.driver, order_id=theirs, event="en_route").status == (
            OrderStatus.EN_ROUTE
        )
        assert refused(driver=day.driver, order_id=10**9, event="en_route") == {
            "order": ["This order is not on your route."]
        }


@pytest.mark.django_db
def test_a_draft_plans_stops_are_not_the_drivers_yet(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("draft", alpha.user_ids[alpha.driver_email], publish_it=False)
        order_id = orders_on(day.mine)[0]
        assert status_of(order_id) == OrderStatus.UNASSIGNED  # a draft promises nothing
        for event in ("en_route", "delivered"):
            errors = refused(driver=day.driver, order_id=order_id, event=event)
            assert errors == {"order": ["This order is not on your route."]}
        assert status_of(order_id) == OrderStatus.UNASSIGNED
        assert events_of(order_id) == []  # made by the factory, never moved
        assert heading_to(day.driver.pk) is None


@pytest.mark.django_db
def test_an_unknown_event_is_refused_by_name(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("evt", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[0]
        for event in ("teleport", None, "", "EN_ROUTE", 3, 1.5, True):
            errors = refused(driver=day.driver, order_id=order_id, event=event)
            assert errors == {"event": [EVENTS]}, event
        # the event is checked before the order
        assert refused(driver=day.driver, order_id="x", event="nope") == {"event": [EVENTS]}
        assert status_of(order_id) == OrderStatus.DISPATCHED


@pytest.mark.django_db
@pytest.mark.parametrize("event", [["en_route"], {"kind": "en_route"}])
def test_an_event_that_is_a_list_or_object_is_refused_by_name(alpha, event):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("evt2", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[0]
        assert refused(driver=day.driver, order_id=order_id, event=event) == {"event": [EVENTS]}


@pytest.mark.django_db
def test_an_order_id_that_is_not_an_integer_is_refused(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("oid", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[0]
        for bad in (str(order_id), float(order_id), True, None, [order_id], {"id": order_id}):
            errors = refused(driver=day.driver, order_id=bad, event="en_route")
            assert errors == {"order": ["Must be an order id."]}, bad
        assert status_of(order_id) == OrderStatus.DISPATCHED


@pytest.mark.django_db
def test_a_step_the_state_machine_forbids_is_refused_and_changes_nothing(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("back", alpha.user_ids[alpha.driver_email])
        order_id = orders_on(day.mine)[0]
        stop_event(driver=day.driver, order_id=order_id, event="arrived")
        count = OrderEvent.objects.filter(order_id=order_id).count()
        with pytest.raises(ValidationError) as exc:
            stop_event(driver=day.driver, order_id=order_id, event="en_route")  # back
        assert set(exc.value.message_dict) == {"status"}
        assert status_of(order_id) == OrderStatus.ARRIVED
        assert OrderEvent.objects.filter(order_id=order_id).count() == count


@pytest.mark.django_db
def test_heading_to_is_the_en_route_order_on_a_published_route(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("head", alpha.user_ids[alpha.driver_email])
        first, second = orders_on(day.mine)[:2]
        noon = midnight_of(day.plan) + dt.timedelta(hours=12)  # during the plan's day
        assert heading_to(day.driver.pk) is None
        freeze(monkeypatch, noon)
        stop_event(driver=day.driver, order_id=first, event="en_route")
        assert heading_to(day.driver.pk) == first
        assert heading_to(day.other.driver.pk) is None
        freeze(monkeypatch, noon + dt.timedelta(minutes=10))
        stop_event(driver=day.driver, order_id=first, event="delivered")
        assert heading_to(day.driver.pk) is None
        freeze(monkeypatch, noon + dt.timedelta(minutes=12))
        stop_event(driver=day.driver, order_id=second, event="en_route")
        assert heading_to(day.driver.pk) == second
        freeze(monkeypatch, noon + dt.timedelta(minutes=30))
        stop_event(driver=day.driver, order_id=second, event="failed")
        assert heading_to(day.driver.pk) is None
        assert status_of(first) == OrderStatus.DELIVERED
        assert status_of(second) == OrderStatus.FAILED


@pytest.mark.django_db
def test_a_driver_who_starts_early_can_report_a_failed_stop(alpha, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        day = solved_day("early", alpha.user_ids[alpha.driver_email])
        first, second = orders_on(day.mine)[:2]
        day.mine.refresh_from_db()
        early = day.mine.starts_at - dt.timedelta(minutes=50)  # out before the planned start
        freeze(monkeypatch, early)
        stop_event(driver=day.driver, order_id=first, event="en_route")
        freeze(monkeypatch, early + dt.timedelta(minutes=10))
        stop_event(driver=day.driver, order_id=first, event="delivered")
        freeze(monkeypatch, early + dt.timedelta(minutes=15))
        order = stop_event(driver=day.driver, order_id=second, event="failed")
        assert order.status == OrderStatus.FAILED
        day.mine.refresh_from_db()
        assert day.mine.duration_s >= 0
