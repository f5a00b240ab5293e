"""SMS through the real `twilio` client against a local fake of Twilio's Messages API:
sent once, retried with backoff, never retried when permanent; status callbacks and
STOP / START verified by signature."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context
from twilio.request_validator import RequestValidator

from dispatch.models import Order
from notifications.models import Notification, SmsOptOut
from notifications.services import sending as services
from tests.conftest import host_client
from tests.notifications.fake_twilio import twilio_pointed_at_fake

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-0123456789abcdef"
PHONE = "+447700900123"


@pytest.fixture
def twilio(settings):
    settings.NOTIFY_MAX_ATTEMPTS = 3
    with twilio_pointed_at_fake(settings, token=TOKEN) as fake:
        yield fake


def _order(prefix: str, phone: str = PHONE) -> Order:
    return Order.objects.create(
        customer_name=f"{prefix} customer", customer_phone=phone, delivery_date=dt.date.today()
    )


def _send(order: Order, captured) -> Notification:
    with captured(execute=False) as callbacks:
        notification = services.notify(
            order=order, event="out_for_delivery", channel="sms", body="Your parcel is coming"
        )
    assert len(callbacks) <= 1  # at most the one job, after the commit
    return notification


def test_a_message_goes_out_once_through_the_twilio_client(
    alpha, twilio, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        order = _order("once")
        notification = _send(order, django_capture_on_commit_callbacks)
        assert services.deliver(notification.pk) == "sent"
        again = services.notify(order=order, event="out_for_delivery", channel="sms", body="x")
        assert again.pk == notification.pk
        assert services.deliver(notification.pk) == "sent"  # a duplicate job sends nothing
        notification.refresh_from_db()
    assert len(twilio.messages) == 1
    sent = twilio.messages[0]
    assert (sent["To"], sent["From"], sent["Body"]) == (
        PHONE,
        "+447700900000",
        "Your parcel is coming",
    )
    assert sent["StatusCallback"] == (
        f"https://{alpha.host}/notifications/twilio/status?key={notification.send_key}"
    )
    assert twilio.auth[0].startswith("Basic ")
    assert notification.status == "sent" and notification.provider_id.startswith("SM")
    assert notification.attempts == 1


def test_a_tenant_sends_from_its_own_sender_when_it_has_one(
    alpha, twilio, django_capture_on_commit_callbacks
):
    from notifications.models import NotificationSettings

    with schema_context(alpha.tenant.schema_name):
        NotificationSettings.objects.update_or_create(pk=1, defaults={"sms_sender": "AlphaFlwrs"})
        notification = _send(_order("sender"), django_capture_on_commit_callbacks)
        assert services.deliver(notification.pk) == "sent"
    assert twilio.messages[0]["From"] == "AlphaFlwrs"


def test_a_transient_error_is_retried_later_then_given_up(
    alpha, twilio, django_capture_on_commit_callbacks
):
    from django_q.models import Schedule

    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order("retry"), django_capture_on_commit_callbacks)
        twilio.fail_next(500, 20500)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliver(notification.pk) == "pending"
        retry = Schedule.objects.get(name=f"{alpha.tenant.schema_name}:notify-{notification.pk}-1")
        assert retry.schedule_type == Schedule.ONCE and retry.next_run > dt.datetime.now(dt.UTC)
        twilio.fail_next(429, 20429)
        twilio.fail_next(503, 20503)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliver(notification.pk) == "pending"
            assert services.deliver(notification.pk) == "failed"  # the third attempt
        notification.refresh_from_db()
        outcomes = list(notification.attempts_made.values_list("outcome", flat=True))
    assert notification.status == "failed" and "gave up after 3 attempts" in notification.error
    assert outcomes == ["retry", "retry", "retry", "failed"]
    assert twilio.messages == []


@pytest.mark.parametrize("code", [21610, 21211])
def test_a_permanent_error_is_not_retried(alpha, twilio, django_capture_on_commit_callbacks, code):
    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order(f"perm{code}"), django_capture_on_commit_callbacks)
        twilio.fail_next(400, code)
        assert services.deliver(notification.pk) == "failed"
        assert services.deliver(notification.pk) == "failed"
        notification.refresh_from_db()
    assert str(code) in notification.error and notification.attempts == 1


def _died_while_sending(notification: Notification, *, ago_s: float = 300) -> None:
    """As a worker that marked it `sending` `ago_s` seconds ago and then died leaves it."""
    Notification.objects.filter(pk=notification.pk).update(
        status="sending", attempts=1, updated_at=timezone.now() - dt.timedelta(seconds=ago_s)
    )


def test_a_message_twilio_got_before_its_worker_died_is_reconciled_not_sent_again(
    alpha, twilio, settings, django_capture_on_commit_callbacks
):
    from notifications.services.senders import TwilioSender

    settings.TWILIO_CALLBACK_BASE = "http://{host}"  # its reports reach us without a proxy
    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order("died"), django_capture_on_commit_callbacks)
        other = _send(_order("other", phone="+447700900999"), django_capture_on_commit_callbacks)
        # the worker handed both over; Twilio has them; then it died before the answer
        for note in (notification, other):
            url = services.status_callback_url(note)
            TwilioSender().send(to=note.to, body=note.body, status_callback=url)
            _died_while_sending(note)
        assert services.deliver(notification.pk) == "sending"  # listed: perhaps this one
    for message in twilio.messages:  # Twilio reports each to its URL, with its key
        params = {"MessageSid": message["sid"], "MessageStatus": "queued"}
        response = _signed_post(host_client(alpha.host), message["StatusCallback"], params)
        assert response.status_code == 204
    with schema_context(alpha.tenant.schema_name):
        assert services.deliver(notification.pk) == "sent"
        assert services.deliver(notification.pk) == "sent"  # and again: nothing more
        assert services.sending_reconcile() == 1  # the sweep finds the other one
        notification.refresh_from_db()
        other.refresh_from_db()
        outcomes = list(notification.attempts_made.values_list("outcome", flat=True))
    assert len(twilio.messages) == 2, "no message went twice"
    assert notification.status == "sent" and notification.provider_id == twilio.messages[0]["sid"]
    assert other.status == "sent" and other.provider_id == twilio.messages[1]["sid"]
    assert outcomes == ["looked", "reported", "ignored queued", "reconciled"]


def test_a_message_twilio_never_got_is_sent_once_after_its_worker_died(
    alpha, twilio, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        # the same words went to this number before: an older message is not this one
        earlier = _send(_order("earlier"), django_capture_on_commit_callbacks)
        assert services.deliver(earlier.pk) == "sent"
        Notification.objects.filter(pk=earlier.pk).update(status="delivered")
        old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        twilio.messages[0]["date_created"] = old.strftime("%a, %d %b %Y %H:%M:%S +0000")
        notification = _send(_order("never"), django_capture_on_commit_callbacks)
        _died_while_sending(notification)
        looks = [services.deliver(notification.pk) for _ in range(services.LIST_LOOKS)]
        notification.refresh_from_db()
        outcomes = list(notification.attempts_made.values_list("outcome", "detail"))
    assert looks == ["sending"] * (services.LIST_LOOKS - 1) + ["sent"]  # the list may lag
    assert len(twilio.messages) == 2 and twilio.messages[1]["To"] == PHONE
    assert notification.provider_id == twilio.messages[1]["sid"]
    looked = services.LIST_LOOKS - 1
    assert outcomes[:looked] == [("looked", f"look {k}: not listed") for k in range(1, looked + 1)]
    assert outcomes[looked] == (
        "reconciled",
        f"the provider never got it ({services.LIST_LOOKS} looks): sending it now",
    )
    assert outcomes[looked + 1][0] == "sent" and notification.attempts == 2


def test_a_message_still_in_its_workers_hands_is_left_alone_and_looked_at_later(
    alpha, twilio, django_capture_on_commit_callbacks
):
    from django_q.models import Schedule

    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order("busy"), django_capture_on_commit_callbacks)
        _died_while_sending(notification, ago_s=1)  # its worker may still be waiting
        with django_capture_on_commit_callbacks(execute=True):
            assert services.deliver(notification.pk) == "sending"
        assert services.sending_reconcile() == 0  # too young for the sweep too
    check = Schedule.objects.get(
        name=f"{alpha.tenant.schema_name}:notify-{notification.pk}-1-check"
    )
    assert check.next_run > timezone.now()
    assert twilio.messages == []


def test_an_email_whose_worker_died_is_failed_as_unknown_never_sent_twice(
    alpha, mailoutbox, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        order = _order("mail")
        order.customer_email = "mail@example.com"
        order.save()
        with django_capture_on_commit_callbacks(execute=False):
            notification = services.notify(
                order=order, event="delivered", channel="email", body="Delivered"
            )
        _died_while_sending(notification)
        assert services.deliver(notification.pk) == "failed"
        notification.refresh_from_db()
    assert "outcome unknown" in notification.error
    assert mailoutbox == []


def _signed_post(client, url: str, params: dict, *, signed_url: str | None = None, **extra):
    signature = RequestValidator(TOKEN).compute_signature(signed_url or url, params)
    return client.post(
        url,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
        **extra,
    )


def test_status_callbacks_need_the_signature_and_never_go_backwards(
    alpha, twilio, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        notification = _send(_order("cb"), django_capture_on_commit_callbacks)
        services.deliver(notification.pk)
        notification.refresh_from_db()
    client = host_client(alpha.host)
    url = f"http://{alpha.host}/notifications/twilio/status"
    sid = notification.provider_id
    forged = client.post(
        url, {"MessageSid": sid, "MessageStatus": "delivered"}, HTTP_X_TWILIO_SIGNATURE="forged"
    )
    assert forged.status_code == 403
    assert client.post(url, {"MessageSid": sid, "MessageStatus": "delivered"}).status_code == 403
    for status in ("delivered", "sent", "queued"):  # the later ones arrive late
        assert (
            _signed_post(client, url, {"MessageSid": sid, "MessageStatus": status}).status_code
            == 204
        )
    notification.refresh_from_db()
    assert notification.status == "delivered"
    with schema_context(alpha.tenant.schema_name):
        outcomes = list(notification.attempts_made.values_list("outcome", flat=True))
    assert outcomes == ["sent", "delivered", "ignored sent", "ignored queued"]


@override_settings(
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
    TRUSTED_PROXIES=["127.0.0.1"],  # the test client's address: the proxy
)
def test_a_signature_made_for_https_is_valid_behind_a_proxy_that_ended_tls(alpha, twilio):
    client = host_client(alpha.host)
    path = "/notifications/twilio/inbound"
    params = {"From": PHONE, "Body": "STOP"}
    https = f"https://{alpha.host}{path}"
    # Twilio signed the https URL; the proxy forwarded plain http with X-Forwarded-Proto
    response = _signed_post(
        client,
        f"http://{alpha.host}{path}",
        params,
        signed_url=https,
        HTTP_X_FORWARDED_PROTO="https",
    )
    assert response.status_code == 200
    without = _signed_post(client, f"http://{alpha.host}{path}", params, signed_url=https)
    assert without.status_code == 403  # the same request without the header: wrong URL
    direct = _signed_post(  # the header from a client, not the proxy: not believed
        client,
        f"http://{alpha.host}{path}",
        params,
        signed_url=https,
        HTTP_X_FORWARDED_PROTO="https",
        REMOTE_ADDR="203.0.113.5",
    )
    assert direct.status_code == 403


def test_stop_and_start_keep_the_opt_out_list_and_stop_sending(
    alpha, beta, twilio, django_capture_on_commit_callbacks
):
    client = host_client(alpha.host)
    url = f"http://{alpha.host}/notifications/twilio/inbound"
    assert _signed_post(client, url, {"From": PHONE, "Body": " stop "}).status_code == 200
    with schema_context(beta.tenant.schema_name):
        assert not SmsOptOut.objects.exists()  # another business's customers are its own
    with schema_context(alpha.tenant.schema_name):
        assert SmsOptOut.objects.filter(phone=PHONE).exists()
        notification = _send(_order("optout"), django_capture_on_commit_callbacks)
        assert services.deliver(notification.pk) == "skipped"
    assert twilio.messages == []
    assert _signed_post(client, url, {"From": PHONE, "Body": "START"}).status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert not SmsOptOut.objects.filter(phone=PHONE).exists()


def test_an_order_without_a_phone_is_skipped_not_queued(
    alpha, twilio, django_capture_on_commit_callbacks
):
    with (
        schema_context(alpha.tenant.schema_name),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        notification = services.notify(
            order=_order("nophone", phone=""), event="delivered", channel="sms", body="x"
        )
    assert notification.status == "skipped" and callbacks == []


def test_sms_past_the_tenants_rate_wait_for_the_next_minute(
    alpha, beta, twilio, settings, django_capture_on_commit_callbacks
):
    from django.core.cache import cache
    from django_q.models import Schedule

    cache.clear()
    settings.SMS_RATE_PER_MINUTE = 2
    with schema_context(alpha.tenant.schema_name):
        notes = [
            _send(_order(f"rate{k}", phone=f"+44770090050{k}"), django_capture_on_commit_callbacks)
            for k in range(3)
        ]
        with django_capture_on_commit_callbacks(execute=True):
            outcomes = [services.deliver(n.pk) for n in notes]
        held = Notification.objects.get(pk=notes[2].pk)
        tries = list(held.attempts_made.values_list("outcome", flat=True))
        waiting = Schedule.objects.filter(name__startswith=f"alpha:notify-{held.pk}-0-rate-")
    with schema_context(beta.tenant.schema_name):  # another tenant's minute is its own
        other = _send(_order("beta-rate"), django_capture_on_commit_callbacks)
        assert services.deliver(other.pk) == "sent"
    assert outcomes == ["sent", "sent", "pending"] and held.attempts == 0
    assert tries == ["rate limited"] and waiting.count() == 1
    assert waiting.get().next_run.second == 0 and waiting.get().next_run > timezone.now()
    assert len(twilio.messages) == 3  # two of alpha's, one of beta's
    cache.clear()
