"""One order through a whole delivery day, and at each step the arrival window as the
customer reads it on all four surfaces: the last SMS, the last email, the tracking page
in Chromium and the tracking socket (a real websocket against the running web process).

The day is tomorrow, from 07:50 local time: the test process and its web process share one
moved clock (time-machine here, `TEST_CLOCK_OFFSET_S` there), so both time the route
alike whatever the hour the suite runs at.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import contextmanager
from dataclasses import replace
from zoneinfo import ZoneInfo

import time_machine
from django.core import mail
from django_tenants.utils import schema_context

from tests.conftest import tenant_today
from tests.e2e.conftest import csp_checked_page, live_tenant, running_web
from tests.e2e.ws import receive, run, socket

ZONE = ZoneInfo("Europe/London")
EVENTS = ["confirmed", "out_for_delivery", "arriving_soon", "eta_changed", "delivered"]


def _real_time() -> float:
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.time.time()
    return time.time()


@contextmanager
def clock_at(instant: dt.datetime):
    """This process and a web process of its own, both reading `instant` now (and ticking)."""
    offset = instant.timestamp() - _real_time()
    traveller = time_machine.travel(instant, tick=True)
    traveller.start()
    try:
        with running_web(TEST_CLOCK_OFFSET_S=repr(offset)) as url:
            yield url
    finally:
        traveller.stop()


def _fix(k: int, lat: float, lng: float) -> dict:
    return {
        "id": f"p{k}",
        "t": int(time.time() * 1000),
        "lat": lat,
        "lng": lng,
        "accuracy_m": 5,
        "speed_mps": 12.0,
        "heading_deg": 0,
    }


def _make_day(django_db_blocker, url: str, day: dt.date):
    """A depot, a driver with a van, three orders (the customer's last, booked 09:00-12:00)
    on a plan of `day` that is not published yet; the customer hears it is booked."""
    from accounts.models import User
    from dispatch.models import Depot, Driver, Order, OrderStatus, Vehicle
    from dispatch.services.orders import order_transition
    from notifications.models import NotificationSettings
    from notifications.services import sending as services
    from routing.models import Plan, PlanRoute, PlanStop
    from tracking.services.day import duty_set, tracking_link_for
    from tracking.services.tokens import driver_token

    tenant = live_tenant(
        django_db_blocker, url, "promise", users=(("driver@promise.test", "driver"),)
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        NotificationSettings.objects.update_or_create(
            pk=1, defaults={"sms_events": EVENTS, "email_events": EVENTS}
        )
        depot = Depot.objects.create(name="Depot", lat=51.5, lng=-0.12)
        van = Vehicle.objects.create(name="Van", start_depot=depot)
        user = User.objects.get(email="driver@promise.test")
        driver = Driver.objects.create(name="Dana Driver", user=user, default_vehicle=van)
        duty_set(driver=driver, on_duty=True)
        orders = [
            Order.objects.create(
                customer_name=f"Customer {k}",
                external_id=f"P-{k}",
                delivery_date=day,
                lat=51.51 + k / 100,
                lng=-0.12,
                customer_phone=f"+4477009001{k:02d}",
                customer_email=f"customer{k}@example.test",
                time_windows=[{"start": "09:00", "end": "12:00"}] if k == 2 else [],
            )
            for k in range(3)
        ]
        start = dt.datetime.combine(day, dt.time(8), tzinfo=ZONE)
        plan = Plan.objects.create(date=day, status="done", solved_at=start)
        route = PlanRoute.objects.create(
            plan=plan,
            driver=driver,
            vehicle=van,
            starts_at=start,
            ends_at=start,
            distance_m=0,
            duration_s=0,
            version=1,
        )
        for k, order in enumerate(orders, start=1):
            PlanStop.objects.create(
                route=route,
                sequence=k,
                order=order,
                arrives_at=start,
                starts_at=start,
                departs_at=start,
            )
            order_transition(order=order, to=OrderStatus.PLANNED, actor="test")
        services.notify_orders([orders[2].pk], "confirmed")
        token = driver_token(schema=tenant.schema, driver_id=driver.pk, user_id=user.pk)
        link = tracking_link_for(orders[2])
    return tenant, plan, [o.pk for o in orders], token, link


def test_one_order_reads_the_same_window_on_every_surface_all_day(
    django_db_setup, django_db_blocker, browser, settings
):
    from notifications.services.senders import MemorySender

    settings.SMS_BACKEND = "memory"
    MemorySender.outbox.clear()
    mail.outbox.clear()
    with csp_checked_page(browser, viewport={"width": 390, "height": 844}) as page:
        _through_the_day(django_db_blocker, page)


def _through_the_day(django_db_blocker, page) -> None:
    from dispatch.models import Order, OrderStatus
    from dispatch.services.orders import order_transition
    from notifications.models import Notification
    from notifications.services import sending as services
    from notifications.services.senders import MemorySender
    from tracking.selectors import customer_promise

    day = tenant_today(1)
    first_light = dt.datetime.combine(day, dt.time(7, 50), tzinfo=ZONE)

    def deliver_pending() -> None:
        for n in Notification.objects.filter(status="pending"):
            services.deliver(n.pk)

    def on_every_surface(public: str, tenant, link: str, order_id: int, *, told):
        """The promise now; the page and the socket say it to the letter, and the last SMS
        and email carry `told` (a text, or a function of the promise giving it)."""
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            deliver_pending()
            promise = customer_promise(Order.objects.get(pk=order_id))
        told = told(promise) if callable(told) else told
        sms = [m["body"] for m in MemorySender.outbox if m["to"].endswith("02")]
        emails = [m.body for m in mail.outbox if m.to == ["customer2@example.test"]]
        assert told in sms[-1], (told, sms[-1])
        assert told in emails[-1], (told, emails[-1])
        page.goto(f"{public}/t/{link}")
        eta = page.locator("#track-eta")
        if promise.headline:
            assert eta.inner_text() == promise.headline
        else:
            assert eta.is_hidden()

        async def snapshot() -> dict:
            async with socket(public.removeprefix("http://"), f"/ws/track/{link}/") as ws:
                return await receive(ws, kind="snapshot")

        assert run(snapshot())["text"] == promise.headline
        return promise

    with clock_at(first_light) as url:
        tenant, plan, (a, b, c), token, link = _make_day(django_db_blocker, url, day)
        # 1. booked: the booked window everywhere (the confirmation said it)
        booked = on_every_surface(url, tenant, link, c, told="09:00-12:00")
        assert booked.stage == "booked" and booked.headline == "Delivery window 09:00-12:00"

        # 2. published: a window around the route's time, inside the booked one (the
        # confirmation's window still holds)
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            plan.published_at = plan.solved_at
            plan.save(update_fields=["published_at"])
            for pk in (a, b, c):
                order_transition(order=Order.objects.get(pk=pk), to="dispatched", actor="test")
        planned = on_every_surface(url, tenant, link, c, told="09:00-12:00")
        assert planned.stage == "planned" and planned.off_booking == ""
        assert planned.booked[0] <= planned.window[0] < planned.window[1] <= planned.booked[1]

        # 3. the driver sets off to the first stop: "out for delivery" with the window
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            order_transition(order=Order.objects.get(pk=a), to=OrderStatus.EN_ROUTE, actor="d")
            services.on_order_status(a, "en_route")
        out = on_every_surface(url, tenant, link, c, told=f"expected {planned.window_text}.")
        assert out.stage == "live" and out.window == planned.window

    async def phone(host: str, fixes: list[dict]) -> None:
        async with socket(host, f"/ws/driver/?token={token}") as ws:
            await receive(ws, kind="hello")
            await ws.send(json.dumps({"type": "fixes", "fixes": fixes}))
            await receive(ws, kind="ack")

    # 4. eleven minutes on, the driver's phone is 280 km away: the van will be late, and
    # the watcher says so (with the booked window it now misses) on every surface
    with clock_at(first_light + dt.timedelta(minutes=11)) as url:
        tenant = replace(tenant, port=url.rsplit(":", 1)[1])
        run(phone(tenant.host, [_fix(1, 54.0, -0.12)]))
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            assert services.eta_watch() > 0
            late = customer_promise(Order.objects.get(pk=c))
        assert late.off_booking == "late"
        assert "(later than the 09:00-12:00 you booked)" in late.window_text
        on_every_surface(url, tenant, link, c, told=f"now expected {late.window_text}.")

    # 5. a minute on, the first two stops done, the driver sets off to the customer:
    # "arriving soon" with the window; the open page follows the phone over its socket
    with clock_at(first_light + dt.timedelta(minutes=12)) as url:
        tenant = replace(tenant, port=url.rsplit(":", 1)[1])
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            for pk in (a, b):
                order = Order.objects.get(pk=pk)
                for status in ("en_route", "arrived", "delivered")[1 if pk == a else 0 :]:
                    order = order_transition(order=order, to=status, actor="d")
            order_transition(order=Order.objects.get(pk=c), to=OrderStatus.EN_ROUTE, actor="d")
            services.on_order_status(c, "en_route")
        coming = on_every_surface(
            url, tenant, link, c, told=lambda p: f"on the way to you, expected {p.window_text}."
        )
        assert coming.stage == "live" and coming.off_booking == "late"
        run(phone(tenant.host, [_fix(2, 53.95, -0.12)]))  # a little closer
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            closer = customer_promise(Order.objects.get(pk=c))
        page.wait_for_function(  # pushed by the hub, in the same words
            "t => document.getElementById('track-eta').textContent === t", arg=closer.headline
        )

        # 6. delivered: no window left to promise anywhere
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            order = Order.objects.get(pk=c)
            for status in ("arrived", "delivered"):
                order = order_transition(order=order, to=status, actor="d")
            services.on_order_status(c, "delivered")
        done = on_every_surface(url, tenant, link, c, told="was delivered")
        assert done.stage == "over" and done.window_text == ""
