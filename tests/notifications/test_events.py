"""What customers are told, and when: confirmed on intake, out for delivery when the
route sets off, arriving soon for the next stops, delivered, failed with the reason;
templates, SMS segments, quiet hours, the monthly cap, and email over a real SMTP server."""

from __future__ import annotations

import datetime as dt
import email
import socket
import time
from email import policy

import pytest
from aiosmtpd.controller import Controller
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderStatus
from dispatch.services.orders import order_transition, orders_create
from notifications.models import Notification, NotificationSettings
from notifications.services import sending as services
from notifications.services.messages import DEFAULTS, SAMPLE, render, sms_segments
from routing.services import publish
from tests.conftest import tenant_today
from tests.routing.test_plan_live import busy_routes, planned
from tracking.models import TrackingSettings

pytestmark = pytest.mark.django_db


def _sms(notifications: list[Notification]) -> Notification:
    (sms,) = [n for n in notifications if n.channel == "sms"]
    return sms


def _deliver_all(captured) -> None:
    """Run the delivery jobs queued so far (what the worker does)."""
    for notification in Notification.objects.filter(status="pending"):
        services.deliver(notification.pk)


def test_intake_confirms_the_batch_in_one_job(
    alpha, memory_sms, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    day = tenant_today(3)
    with schema_context(alpha.tenant.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            results = orders_create(
                [
                    {
                        "customer_name": "Ann Lee",
                        "customer_email": "ann@example.com",
                        "delivery_date": str(day),
                        "address_line1": "1 High St",
                        "city": "London",
                        "lat": 51.5,
                        "lng": -0.1,
                        "time_windows": [{"start": "09:00", "end": "12:00"}],
                    }
                ],
                source="api",
                actor="test",
            )
        queued = [
            q
            for q in OrmQ.objects.all()
            if q.name() == f"{alpha.tenant.schema_name}:notify-confirmed"
        ]
        assert len(queued) == 1
        order_id = results[0].id
        assert services.notify_orders([order_id], "confirmed") == 1  # email only by default
        note = Notification.objects.get(order_id=order_id)
    assert (note.channel, note.event, note.to) == ("email", "confirmed", "ann@example.com")
    assert "Hello Ann," in note.body and f"{day:%A} {day.day} {day:%B}, 09:00-12:00" in note.body
    assert "https://track.example/t/" in note.body


def test_a_route_setting_off_tells_everyone_on_it_once_and_warns_the_next_stops(
    alpha, memory_sms, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        plan, day = planned("evt")
        Order.objects.filter(pk__in=[o.pk for o in day.orders]).update(
            customer_phone="+447700900111"
        )
        publish.plan_publish(plan=plan, actor="test")
        route = busy_routes(plan)[0]
        stops = list(route.stops.exclude(order=None).order_by("sequence"))
        first = order_transition(order=stops[0].order, to=OrderStatus.EN_ROUTE, actor="driver")
        assert services.on_order_status(first.pk, "en_route") > 0
        services.on_order_status(first.pk, "en_route")  # the job delivered twice
        made = Notification.objects.filter(order__in=[s.order for s in stops], channel="sms")
        out = sorted(made.filter(event="out_for_delivery").values_list("order_id", flat=True))
        # "out for delivery" carried the time: no "arriving soon" on top of it that minute
        assert not made.filter(event="arriving_soon").exists()
        _deliver_all(None)
        assert out == sorted(s.order_id for s in stops)  # each once
        business = alpha.tenant.name
        texts = [m["body"] for m in memory_sms]
        assert len(texts) == len(stops)
        assert sum(f"{business}: your order" in t and "is on its way" in t for t in texts) == len(
            stops
        )
        # the first stop served; setting off to the second warns it and the one after it
        for status in (OrderStatus.ARRIVED, OrderStatus.DELIVERED):
            order_transition(order=stops[0].order, to=status, actor="driver")
        second = order_transition(order=stops[1].order, to=OrderStatus.EN_ROUTE, actor="driver")
        services.on_order_status(second.pk, "en_route")
        services.on_order_status(second.pk, "en_route")
        soon = sorted(made.filter(event="arriving_soon").values_list("order_id", flat=True))
        _deliver_all(None)
    assert soon == sorted(s.order_id for s in stops[1:3])  # the next two stops (default)
    texts = [m["body"] for m in memory_sms][len(stops) :]
    assert sum(t.startswith(f"{business}: evt is on the way to you") for t in texts) == 1
    assert sum(t.startswith(f"{business}: evt is 1 stop(s) away") for t in texts) == 1
    assert sum(t.startswith(f"{business}: your order") for t in texts) == 0  # once was enough


def test_delivered_and_failed_reach_their_customer_with_the_reason(alpha, memory_sms):
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Bo", customer_phone="+447700900222", delivery_date=tenant_today(1)
        )
        for status in ("planned", "dispatched", "en_route"):
            order = order_transition(order=order, to=status, actor="t")
        order_transition(order=order, to="failed", actor="driver", reason="Nobody home")
        services.on_order_status(order.pk, "failed")
        note = Notification.objects.get(order=order, event="failed", channel="sms")
    assert "(Nobody home)" in note.body


def test_templates_render_over_plain_strings_and_count_segments():
    text = render(DEFAULTS["out_for_delivery.sms"], SAMPLE)
    assert text.startswith("Acme Flowers: your order #1042 is on its way, expected 10:15-11:15.")
    assert sms_segments("a" * 160) == (1, "GSM-7")
    assert sms_segments("a" * 161) == (2, "GSM-7")
    assert sms_segments("€" * 80) == (1, "GSM-7")  # two units each
    assert sms_segments("€" * 81) == (2, "GSM-7")
    assert sms_segments("é" * 160) == (1, "GSM-7")
    assert sms_segments("ł" * 70) == (1, "UCS-2")
    assert sms_segments("ł" * 71) == (2, "UCS-2")
    with pytest.raises(ValueError):
        render("{% for %}", SAMPLE)
    with pytest.raises(ValueError):  # placeholders are names from the list, nothing else
        render("{business.__class__}", SAMPLE)


def test_a_tenant_template_is_used_and_a_broken_one_falls_back(alpha, memory_sms):
    with schema_context(alpha.tenant.schema_name):
        row = services.notification_settings()
        row.templates = {"delivered.sms": "Done, {customer_name}!"}
        row.save()
        order = Order.objects.create(
            customer_name="Cy Ng", customer_phone="+447700900333", delivery_date=tenant_today(1)
        )
        note = _sms(services.notify_event(order, "delivered"))
        row.templates = {"failed.sms": "{custmer_name}"}
        row.save()
        broken = _sms(services.notify_event(order, "failed"))
    assert note.body == "Done, Cy!"
    assert broken.body.startswith(f"{alpha.tenant.name}: we could not deliver")


def test_quiet_hours_postpone_sms_and_the_monthly_cap_stops_them(
    alpha, memory_sms, monkeypatch, django_capture_on_commit_callbacks
):
    from django.utils import timezone
    from django_q.models import Schedule

    with schema_context(alpha.tenant.schema_name):
        row = services.notification_settings()
        row.quiet_start, row.quiet_end = dt.time(21), dt.time(8)
        row.save()
        late = timezone.localtime().replace(hour=22, minute=30, second=0, microsecond=0)
        monkeypatch.setattr(timezone, "now", lambda: late)
        order = Order.objects.create(
            customer_name="Di", customer_phone="+447700900444", delivery_date=tenant_today(1)
        )
        with django_capture_on_commit_callbacks(execute=True):
            note = _sms(services.notify_event(order, "delivered"))
        run = Schedule.objects.get(name=f"{alpha.tenant.schema_name}:notify-{note.pk}-0")
        assert timezone.localtime(run.next_run).time() == dt.time(8)
        assert (
            run.next_run.date() > late.date()
            or timezone.localtime(run.next_run).date() > late.date()
        )
        soon = _sms(services.notify_event(order, "arriving_soon", stops_before=1))
        assert soon.status == "skipped" and "quiet hours" in soon.error  # stale by morning

        NotificationSettings.objects.filter(pk=1).update(
            quiet_start=None, quiet_end=None, monthly_sms_cap=1
        )
        Notification.objects.filter(pk=note.pk).update(status="sent")
        other = Order.objects.create(
            customer_name="Ed", customer_phone="+447700900555", delivery_date=tenant_today(1)
        )
        capped = _sms(services.notify_event(other, "delivered"))
    assert capped.status == "skipped" and "monthly SMS cap of 1" in capped.error


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback; yields the messages it received."""
    received: list = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "dispatch@example.com"
    try:
        yield received
    finally:
        controller.stop()


def test_email_goes_through_smtp_with_text_and_branded_html(
    alpha, memory_sms, smtp_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        NotificationSettings.objects.update_or_create(
            pk=1, defaults={"email_from_name": "Alpha Flowers"}
        )
        TrackingSettings.objects.update_or_create(pk=1, defaults={"brand_colour": "#aa3300"})
        order = Order.objects.create(
            customer_name="Flo Park",
            customer_email="flo@example.com",
            delivery_date=tenant_today(1),
        )
        (note,) = services.notify_event(order, "confirmed")
        assert services.deliver(note.pk) == "sent"
        assert services.deliver(note.pk) == "sent"  # a second job sends nothing
    deadline = time.time() + 5
    while not smtp_server and time.time() < deadline:
        time.sleep(0.05)
    assert len(smtp_server) == 1
    recipients, raw = smtp_server[0]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert recipients == ["flo@example.com"]
    assert message["From"] == "Alpha Flowers <dispatch@example.com>"
    assert message["Subject"] == f"{alpha.tenant.name}: Order confirmed"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello Flo," in text and "/t/" in text
    assert "#aa3300" in html and "Track your delivery" in html and alpha.tenant.name in html
