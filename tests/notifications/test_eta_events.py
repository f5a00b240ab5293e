"""What customers are told while the day runs: the arrival window promised when the route
sets off, "ETA changed" when the live ETA leaves it (a limited number of times), "arriving
soon" by minutes, and "rescheduled" when the order moves to another day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderStatus
from dispatch.services.orders import order_reschedule, order_transition
from notifications.models import Notification, NotificationSettings
from notifications.services import sending as services
from routing.models import PlanUnassigned
from routing.services import edits
from tests.conftest import TENANT_ZONE, tenant_today
from tests.routing.test_plan_live import busy_routes, freeze, published, walk
from tracking.models import EtaPromise

pytestmark = pytest.mark.django_db


def _set_off(monkeypatch, prefix: str, *, orders: int = 8):
    """A published day whose longest route sets off for its first stop 10 minutes early."""
    plan, day = published(prefix, orders=orders)
    Order.objects.filter(pk__in=[o.pk for o in day.orders]).update(customer_phone="+447700900111")
    route = busy_routes(plan)[0]
    stops = list(route.stops.exclude(order=None).order_by("sequence"))
    start = stops[0].arrives_at - dt.timedelta(minutes=10)
    walk(monkeypatch, stops[0].order_id, (OrderStatus.EN_ROUTE, start))
    services.on_order_status(stops[0].order_id, "en_route")
    return route, stops, start


def _sms(event: str, order_ids) -> list[Notification]:
    return list(
        Notification.objects.filter(event=event, channel="sms", order_id__in=order_ids).order_by(
            "order_id", "created_at"
        )
    )


def test_setting_off_promises_a_window_and_a_late_van_changes_it_a_limited_number_of_times(
    alpha, memory_sms, monkeypatch
):
    with schema_context(alpha.tenant.schema_name):
        _, stops, start = _set_off(monkeypatch, "late")
        later = [s.order_id for s in stops[1:]]
        promises = {p.order_id: p for p in EtaPromise.objects.filter(order_id__in=later)}
        assert set(promises) == set(later)
        for stop in stops[1:]:  # the window is an hour around the stop's ETA, on 5 minutes
            promise = promises[stop.order_id]
            assert promise.ends_at - promise.starts_at == dt.timedelta(minutes=60)
            assert promise.starts_at <= stop.starts_at <= promise.ends_at
            assert promise.starts_at.minute % 5 == 0
            (out,) = _sms("out_for_delivery", [stop.order_id])
            window = "-".join(
                timezone.localtime(t).strftime("%H:%M")
                for t in (promise.starts_at, promise.ends_at)
            )
            assert f"expected {window}" in out.body
        assert services.eta_watch(now=start) == 0  # nothing moved: nothing to say
        assert _sms("eta_changed", later) == []

        # stuck at the first stop for 90 minutes: everyone after it is late
        first = stops[0]
        stuck = first.arrives_at + dt.timedelta(minutes=90)
        walk(monkeypatch, first.order_id, (OrderStatus.ARRIVED, stuck))
        assert services.eta_watch(now=stuck) > 0
        changed = _sms("eta_changed", later)
        assert [n.order_id for n in changed] == sorted(later)
        for note in changed:
            promise = EtaPromise.objects.get(order_id=note.order_id)
            assert promise.changes == 1 and promise.starts_at > promises[note.order_id].ends_at
            window = "-".join(
                timezone.localtime(t).strftime("%H:%M")
                for t in (promise.starts_at, promise.ends_at)
            )
            assert f"now expected {window}" in note.body
        assert services.eta_watch(now=stuck) == 0  # the new window holds: said once

        # later again, twice: one more message each (the default limit is two), then none
        for hours in (3, 5):
            at = first.arrives_at + dt.timedelta(hours=hours)
            freeze(monkeypatch, at)
            services.eta_watch(now=at)
        per_order = {oid: len(_sms("eta_changed", [oid])) for oid in later}
    assert set(per_order.values()) == {2}


def test_the_tracking_page_shows_the_window_the_customer_was_told(alpha, memory_sms, monkeypatch):
    from tracking.selectors import customer_snapshot

    with schema_context(alpha.tenant.schema_name):
        _, stops, _ = _set_off(monkeypatch, "agree")
        promise = EtaPromise.objects.get(order_id=stops[2].order_id)
        snapshot = customer_snapshot(stops[2].order_id)
    assert snapshot["eta_from"] == promise.starts_at.isoformat()
    assert snapshot["eta_to"] == promise.ends_at.isoformat()


def test_arriving_soon_by_minutes_reaches_each_customer_once(alpha, memory_sms, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        NotificationSettings.objects.update_or_create(
            pk=1, defaults={"arriving_soon_stops": 0, "arriving_soon_minutes": 20}
        )
        _, stops, start = _set_off(monkeypatch, "soon")
        ids = [s.order_id for s in stops]
        # by stops: off; by minutes: only the first stop is within 20 minutes, and its
        # customer was told the time by "out for delivery" that same minute: not twice
        assert _sms("out_for_delivery", [stops[0].order_id])
        assert _sms("arriving_soon", ids) == []
        services.eta_watch(now=start)
        assert _sms("arriving_soon", ids) == []
        third = stops[2]
        at = third.starts_at - dt.timedelta(minutes=15)
        for stop in stops[:2]:  # served on time
            walk(
                monkeypatch,
                stop.order_id,
                (OrderStatus.EN_ROUTE, stop.arrives_at),
                (OrderStatus.ARRIVED, stop.arrives_at),
                (OrderStatus.DELIVERED, stop.departs_at),
            )
        freeze(monkeypatch, at)
        services.eta_watch(now=at)
        services.eta_watch(now=at)
        told = [n.order_id for n in _sms("arriving_soon", ids)]
    assert told.count(third.order_id) == 1 and stops[-1].order_id not in told


def test_a_customer_told_no_window_hears_of_no_change(alpha, memory_sms, monkeypatch):
    with schema_context(alpha.tenant.schema_name):
        NotificationSettings.objects.update_or_create(
            pk=1, defaults={"sms_events": ["delivered", "eta_changed"], "email_events": []}
        )
        _, stops, _ = _set_off(monkeypatch, "quiet")
        stuck = stops[0].arrives_at + dt.timedelta(hours=2)
        walk(monkeypatch, stops[0].order_id, (OrderStatus.ARRIVED, stuck))
        services.eta_watch(now=stuck)
        services.on_order_status(stops[0].order_id, "en_route")
        assert not EtaPromise.objects.filter(order_id__in=[s.order_id for s in stops]).exists()
        assert not Notification.objects.filter(order_id__in=[s.order_id for s in stops]).exists()


def test_a_changed_published_route_is_checked_by_a_job_in_its_own_schema(
    alpha, memory_sms, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("ver", orders=8)
        first, second = busy_routes(plan)[:2]
        stop = first.stops.exclude(order=None).order_by("sequence").first()
        with django_capture_on_commit_callbacks(execute=True):
            edits.stop_move(plan=plan, order_id=stop.order_id, route_id=second.pk, position=1)
        names = [q.name() for q in OrmQ.objects.all()]
        schema = alpha.tenant.schema_name
        assert f"{schema}:route-watch-{first.pk}" in names
        assert f"{schema}:route-watch-{second.pk}" in names
        assert services.route_watch_by_id(first.pk) == 0  # not set off: nothing promised


def test_rescheduling_tells_the_customer_once_per_new_day(
    alpha, memory_sms, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Rae Moss",
            customer_phone="+447700900333",
            customer_email="rae@example.com",
            delivery_date=timezone.localdate(),
        )
        for status in ("planned", "dispatched", "en_route"):
            order = order_transition(order=order, to=status, actor="t")
        order_transition(order=order, to="failed", actor="driver", reason="Nobody home")
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        with django_capture_on_commit_callbacks(execute=True):
            order = order_reschedule(
                order=order,
                delivery_date=tomorrow.isoformat(),
                time_windows=[{"start": "13:00", "end": "15:00"}],
                actor="user:d@alpha.test",
            )
        assert order.status == "unassigned" and order.delivery_date == tomorrow
        queued = [q.name() for q in OrmQ.objects.all()]
        assert f"{alpha.tenant.schema_name}:notify-rescheduled-{order.pk}" in queued
        assert services.notify_rescheduled(order.pk) == 2  # SMS and email
        assert services.notify_rescheduled(order.pk) == 2  # the job again: the same two
        order = order_reschedule(order=order, delivery_date=tomorrow, actor="t")  # no change
        later = tomorrow + dt.timedelta(days=2)
        order_reschedule(order=order, delivery_date=later, actor="t")
        services.notify_rescheduled(order.pk)
        sms = _sms("rescheduled", [order.pk])
        assert Notification.objects.filter(order=order, event="rescheduled").count() == 4
    assert len(sms) == 2
    assert "13:00-15:00" in sms[0].body and f"{tomorrow:%A} {tomorrow.day}" in sms[0].body
    assert f"{later:%A} {later.day}" in sms[1].body


def test_a_dispatched_order_moved_to_another_day_leaves_its_route(alpha, memory_sms):
    from django.core.exceptions import ValidationError

    with schema_context(alpha.tenant.schema_name):
        plan, _ = published("move", orders=8)
        route = busy_routes(plan)[0]
        stop = route.stops.exclude(order=None).order_by("sequence").first()
        version = route.version
        other_day = plan.date + dt.timedelta(days=3)
        order = order_reschedule(order=stop.order, delivery_date=other_day, actor="t")
        route.refresh_from_db()
        assert order.status == "unassigned"
        assert not route.stops.filter(order=order).exists() and route.version == version + 1
        assert PlanUnassigned.objects.get(plan=plan, order=order).reason == "rescheduled"
        # yesterday, as the tenant's requests and jobs see it (their zone is active)
        with pytest.raises(ValidationError) as refused, timezone.override(TENANT_ZONE):
            order_reschedule(order=order, delivery_date=str(tenant_today(-1)), actor="t")
        assert refused.value.message_dict["delivery_date"] == ["The new day is in the past."]
        with pytest.raises(ValidationError) as refused:
            order_reschedule(order=order, delivery_date="next week", actor="t")
        assert "delivery_date" in refused.value.message_dict
