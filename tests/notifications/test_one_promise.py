"""One answer to "what do we tell this customer now": the arrival window as the SMS, the
email, the tracking page, its socket and the API say it, never contradicting the booked
window without saying so, in the tenant's own time format; and a customer's messages
about when their order comes kept to a budget and never sent after the news went stale."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from config.test_clock import next_spring_forward
from dispatch.models import Order, OrderStatus
from dispatch.services.orders import order_transition
from notifications.models import Notification, NotificationSettings
from notifications.services import sending as services
from tenants.models import Tenant
from tenants.services.formats import Formats, babel_locale
from tests.conftest import api_client, host_client, tenant_today
from tests.routing.test_plan_live import busy_routes, freeze, published, walk
from tracking.models import EtaPromise
from tracking.selectors import arrival_window, customer_promise, customer_snapshot
from tracking.services.day import tracking_link_for

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def _at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=LONDON)


# --- the window itself ------------------------------------------------------------------


def test_an_estimate_early_in_the_booked_window_is_never_promised_before_it():
    """The bug: booked 09:00-12:00, planned 09:10, the page said 08:40-09:40."""
    day = tenant_today(3)
    booked = [(_at(day, 9), _at(day, 12))]
    window, meets, off = arrival_window(_at(day, 9, 10), 60, booked)
    assert window == (_at(day, 9), _at(day, 10)) and meets == booked[0] and off == ""
    window, _, off = arrival_window(_at(day, 11, 50), 60, booked)  # late in it: moved in
    assert window == (_at(day, 11), _at(day, 12)) and off == ""
    window, _, _ = arrival_window(_at(day, 10, 40), 60, booked)  # the middle: centred
    assert window == (_at(day, 10, 10), _at(day, 11, 10))
    narrow = [(_at(day, 10), _at(day, 10, 30))]  # narrower than the width: the booked one
    assert arrival_window(_at(day, 10, 10), 60, narrow)[0] == narrow[0]
    window, meets, off = arrival_window(_at(day, 12, 20), 60, booked)  # after it: says so
    assert window == (_at(day, 11, 50), _at(day, 12, 50)) and off == "late"
    assert arrival_window(_at(day, 8, 0), 60, booked)[2] == "early"
    assert arrival_window(_at(day, 10, 40), 60, [])[1:] == (None, "")


def test_times_read_in_the_tenants_locale_and_fit_an_sms():
    # 13:05 UTC on the first 1 July ahead: summer time in London, Berlin and New York
    today = tenant_today()
    july = dt.date(today.year + (today >= dt.date(today.year, 7, 1)), 7, 1)
    at = dt.datetime.combine(july, dt.time(13, 5), tzinfo=dt.UTC)
    gb = Formats(time_zone="Europe/London", locale="en", country="GB")
    us = Formats(time_zone="America/New_York", locale="en", country="US")
    de = Formats(time_zone="Europe/Berlin", locale="de", country="DE")
    assert gb.time(at) == "14:05" and de.time(at) == "15:05"
    assert us.time(at) == "9:05 AM"  # a plain space: CLDR's narrow one is not GSM-7
    assert us.span(at, at + dt.timedelta(hours=1)) == "9:05 AM-10:05 AM"
    assert gb.date(july) == f"{july:%A} 1 July"
    assert str(babel_locale("en", "GB")) == "en_GB" and str(babel_locale("en-us", "GB")) == "en_US"
    assert str(babel_locale("xx", "ZZ")) == "en_GB"  # unknown: British English, not a crash
    # the night the clocks go forward: 00:30 GMT and 02:30 BST are an hour apart in UTC
    spring = next_spring_forward(timezone.now()).astimezone(dt.UTC)  # 00:30 GMT
    assert spring.utcoffset() == dt.timedelta(0)
    assert gb.span(spring, spring + dt.timedelta(hours=1)) == "00:30-02:30"


# --- through the day: one text on every surface -----------------------------------------


def _booked_order(prefix: str, window=("09:00", "12:00")):
    """A published day whose longest route's third stop is booked for `window`."""
    plan, day = published(prefix, orders=8)
    Order.objects.filter(pk__in=[o.pk for o in day.orders]).update(
        customer_phone="+447700900111", customer_email="c@example.test"
    )
    route = busy_routes(plan)[0]
    stops = list(route.stops.exclude(order=None).order_by("sequence"))
    order = stops[2].order
    order.time_windows = [{"start": window[0], "end": window[1]}]
    order.save(update_fields=["time_windows"])
    return route, stops, order


def test_the_page_the_socket_the_api_and_the_messages_say_one_window(
    alpha, memory_sms, monkeypatch
):
    with schema_context(alpha.tenant.schema_name):
        NotificationSettings.objects.update_or_create(
            pk=1,
            defaults={
                "sms_events": ["out_for_delivery", "arriving_soon", "eta_changed", "delivered"],
                "email_events": ["out_for_delivery", "eta_changed", "delivered"],
            },
        )
        _, stops, order = _booked_order("one")
        token = tracking_link_for(order)

        def said() -> dict[str, str]:
            promise = customer_promise(order)
            snapshot = customer_snapshot(order.pk)
            key = api_client(alpha.host, alpha.api_key)
            api = key.get(f"/api/v1/orders/{order.pk}/eta").json()["promise"]
            return {"promise": promise, "socket": snapshot, "api": api}

        # published, not set off: a window around the route's time, inside the booked one
        before = said()
        assert before["promise"].stage == "planned"
        assert before["promise"].off_booking == ""
        low, high = before["promise"].window
        assert _at(order.delivery_date, 9) <= low < high <= _at(order.delivery_date, 12)
        assert before["socket"]["text"] == before["promise"].headline == before["api"]["text"]

        # the route sets off: "out for delivery" says the window the page shows
        start = stops[0].arrives_at - dt.timedelta(minutes=10)
        walk(monkeypatch, stops[0].order_id, (OrderStatus.EN_ROUTE, start))
        services.on_order_status(stops[0].order_id, "en_route")
        now = said()
        text = now["promise"].window_text
        (sms,) = Notification.objects.filter(order=order, event="out_for_delivery", channel="sms")
        (mail,) = Notification.objects.filter(
            order=order, event="out_for_delivery", channel="email"
        )
        assert f"expected {text}." in sms.body and f"expected {text}." in mail.body
        assert now["socket"]["text"] == f"Expected {text}" == now["api"]["text"]
    page = host_client("localhost").get(f"/t/{token}").content.decode()
    assert f"Expected {text}" in page

    with schema_context(alpha.tenant.schema_name):
        # the driver reaches the first stop only at noon: the window moves past the booked one
        stuck = _at(order.delivery_date, 12)
        walk(monkeypatch, stops[0].order_id, (OrderStatus.ARRIVED, stuck))
        services.eta_watch(now=stuck)
        late = said()
        text = late["promise"].window_text
        assert late["promise"].off_booking == "late"
        assert "(later than the 09:00-12:00 you booked)" in text
        (changed,) = Notification.objects.filter(order=order, event="eta_changed", channel="sms")
        (mailed,) = Notification.objects.filter(order=order, event="eta_changed", channel="email")
        assert f"now expected {text}." in changed.body and f"now expected {text}." in mailed.body
        assert late["socket"]["text"] == f"Expected {text}" == late["api"]["text"]
        told = EtaPromise.objects.get(order=order)
        assert (told.starts_at, told.ends_at) == late["promise"].window
    page = host_client("localhost").get(f"/t/{token}").content.decode()
    assert f"Expected {text}" in page


def _timing_sms(order: Order) -> list[Notification]:
    return list(
        Notification.objects.filter(order=order, channel="sms", event__in=services.TIME_SENSITIVE)
        .exclude(status="skipped")
        .order_by("created_at", "pk")
    )


def _deliver_pending(order: Order) -> None:
    """What the worker does with the order's queued messages."""
    for notification in Notification.objects.filter(order=order, status="pending"):
        services.deliver(notification.pk)


def test_a_late_order_that_then_fails_is_not_flooded(alpha, memory_sms, monkeypatch):
    """The bug: one failed order was sent 6 messages in 4 minutes. News about when it comes
    waits TIMING_GAP after the last, keeps to the daily budget, and what is still queued
    when the order fails is dropped; the failure itself always goes."""
    from routing.services import edits

    with schema_context(alpha.tenant.schema_name):
        NotificationSettings.objects.update_or_create(
            pk=1,
            defaults={
                "sms_events": ["out_for_delivery", "arriving_soon", "eta_changed", "failed"],
                "email_events": [],
                "eta_changes_max": 5,
                "order_messages_max": 3,
            },
        )
        route, stops, order = _booked_order("flood")
        start = stops[0].arrives_at - dt.timedelta(minutes=10)
        walk(monkeypatch, stops[0].order_id, (OrderStatus.EN_ROUTE, start))
        services.on_order_status(stops[0].order_id, "en_route")
        assert [n.event for n in _timing_sms(order)] == ["out_for_delivery"]
        _deliver_pending(order)

        noon = _at(order.delivery_date, 12)  # the first stop reached only at noon
        walk(monkeypatch, stops[0].order_id, (OrderStatus.ARRIVED, noon))
        services.eta_watch(now=noon)
        assert [n.event for n in _timing_sms(order)] == ["out_for_delivery", "eta_changed"]
        first_change = EtaPromise.objects.get(order=order)
        _deliver_pending(order)

        # a minute later the dispatcher puts the order last: later again, but the customer
        # heard a minute ago; the watcher says it once the gap has passed, not before
        freeze(monkeypatch, noon + dt.timedelta(minutes=1))
        edits.stop_move(plan=route.plan, order_id=order.pk, route_id=route.pk, position=None)
        for minutes in (1, 2, 3, 4, 9):
            freeze(monkeypatch, noon + dt.timedelta(minutes=minutes))
            services.eta_watch(now=noon + dt.timedelta(minutes=minutes))
        assert len(_timing_sms(order)) == 2
        assert EtaPromise.objects.get(order=order).starts_at == first_change.starts_at
        later = noon + dt.timedelta(minutes=11)
        freeze(monkeypatch, later)
        services.eta_watch(now=later)
        events = [n.event for n in _timing_sms(order)]
        assert events == ["out_for_delivery", "eta_changed", "eta_changed"]
        promise = customer_promise(order)
        assert f"now expected {promise.window_text}." in _timing_sms(order)[-1].body

        # the budget (3) is spent: a further change is recorded as skipped, with the reason
        much_later = noon + dt.timedelta(hours=3)
        walk(monkeypatch, stops[1].order_id, (OrderStatus.EN_ROUTE, much_later))
        services.eta_watch(now=much_later)
        assert len(_timing_sms(order)) == 3
        skipped = Notification.objects.filter(order=order, event="eta_changed", status="skipped")
        assert [n.error for n in skipped] == ["3 messages about this order's timing today already"]
        told = EtaPromise.objects.get(order=order)
        for minutes in (1, 2):  # looked at again: recorded once, and nothing counts as told
            freeze(monkeypatch, much_later + dt.timedelta(minutes=minutes))
            services.eta_watch(now=much_later + dt.timedelta(minutes=minutes))
        assert skipped.count() == 1
        again = EtaPromise.objects.get(order=order)
        assert (again.starts_at, again.ends_at, again.changes) == (
            told.starts_at,
            told.ends_at,
            told.changes,
        )

        # the order fails while its last news is still queued: that news is dropped, the
        # failure goes
        for status in (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, OrderStatus.FAILED):
            order = order_transition(order=order, to=status, actor="driver")
        services.on_order_status(order.pk, "failed")
        _deliver_pending(order)
        sent = [m["body"] for m in memory_sms]
        skipped = Notification.objects.filter(order=order, event="eta_changed", status="skipped")
        reasons = sorted(n.error for n in skipped)
    assert len(sent) == 3 and "on its way" in sent[0] and "now expected" in sent[1]
    assert "could not deliver" in sent[2]
    assert reasons == [
        "3 messages about this order's timing today already",
        "the order was failed before this could be sent",
    ]


def test_the_hubs_live_message_says_what_the_page_says(alpha, memory_sms, monkeypatch):
    """The socket's "eta" message (the hub, after a fix of the driver heading here) is
    worded by the same promise as the page's snapshot."""
    from tracking.services.hub import promises_of

    with schema_context(alpha.tenant.schema_name):
        route, stops, order = _booked_order("hub")
        start = stops[0].arrives_at - dt.timedelta(minutes=10)
        walk(monkeypatch, stops[0].order_id, (OrderStatus.EN_ROUTE, start))
        services.on_order_status(stops[0].order_id, "en_route")
        done = ((OrderStatus.ARRIVED, start), (OrderStatus.DELIVERED, start))
        walk(monkeypatch, stops[0].order_id, *done)
        walk(monkeypatch, stops[1].order_id, (OrderStatus.EN_ROUTE, start), *done)
        order = walk(monkeypatch, order.pk, (OrderStatus.EN_ROUTE, start))
        snapshot = customer_snapshot(order.pk)
    ((driver, order_id, message, seq),) = promises_of(
        alpha.tenant.schema_name, [(route.driver_id, order.pk, 7)]
    )
    assert (driver, order_id, seq) == (route.driver_id, order.pk, 7)
    assert message["text"] == snapshot["text"] and message["text"].startswith("Expected ")
    assert message["window_text"] in message["text"]


def test_a_business_in_the_united_states_reads_its_own_clock(alpha, memory_sms, monkeypatch):
    """Times as the tenant's locale writes them, on the SMS and the page alike."""
    Tenant.objects.filter(pk=alpha.tenant.pk).update(country="US", locale="en")
    with schema_context(alpha.tenant.schema_name):
        _, stops, order = _booked_order("clock")
        token = tracking_link_for(order)
        start = stops[0].arrives_at - dt.timedelta(minutes=10)
        walk(monkeypatch, stops[0].order_id, (OrderStatus.EN_ROUTE, start))
        services.on_order_status(stops[0].order_id, "en_route")
        promise = customer_promise(order)
        (sms,) = Notification.objects.filter(order=order, event="out_for_delivery", channel="sms")
    assert re.fullmatch(r"\d{1,2}:\d\d [AP]M-\d{1,2}:\d\d [AP]M", promise.window_text)
    assert promise.booked_text == "9:00 AM-12:00 PM"
    assert f"expected {promise.window_text}." in sms.body
    page = host_client("localhost").get(f"/t/{token}").content.decode()
    assert f"Expected {promise.window_text}" in page
