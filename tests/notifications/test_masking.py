"""Masked calls and texts between a driver and a stop's customer (issue 26, item 2): the
driver opens a session for a stop of today's route, Twilio's signed webhooks for the pool
numbers dial or relay to the other side from the pool number, and refuse politely once
the stop is over; the owner keeps the pool on /settings/calls/."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from twilio.request_validator import RequestValidator

from dispatch.models import Depot, Driver, Order, OrderStatus, Vehicle
from dispatch.services.orders import order_transition
from notifications.models import MaskedContact, MaskedSession, ProxyNumber
from notifications.services import masking
from routing.models import Plan, PlanRoute, PlanStop
from tests.conftest import host_client, login_client, tenant_today
from tests.notifications.fake_twilio import twilio_pointed_at_fake

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-masked-0123456789"
POOL = ("+447700900001", "+447700900002")
DRIVER_PHONE = "+447700900111"
OTHER_DRIVER_PHONE = "+447700900222"
CUSTOMER_PHONES = ("+447700900501", "+447700900502", "+447700900503")

VOICE = "/notifications/twilio/masked/voice"
VOICE_STATUS = "/notifications/twilio/masked/voice/status"
SMS = "/notifications/twilio/masked/sms"
SORRY_CALL = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="en-GB">Sorry, this number '
    "no longer connects you for this delivery. Please contact the business directly. "
    "Goodbye.</Say><Hangup /></Response>"
)
SORRY_TEXT = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>This number no longer forwards '
    "texts for your delivery. Please contact the business directly.</Message></Response>"
)
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def twilio(settings):
    """The real `twilio` client against the local fake; webhooks signed with TOKEN."""
    with twilio_pointed_at_fake(
        settings, token=TOKEN, account="AC" + "1" * 32, callbacks=False
    ) as fake:
        yield fake


@dataclass
class Today:
    driver: Driver  # linked to the tenant's driver user
    other: Driver  # another driver, with a route of their own
    orders: list[int]  # on `driver`'s route, in its order
    others: list[int]  # on `other`'s route


def _route(driver: Driver, van: Vehicle, plan: Plan, orders: list[Order]) -> PlanRoute:
    now = timezone.now()
    route = PlanRoute.objects.create(
        plan=plan,
        driver=driver,
        vehicle=van,
        starts_at=now,
        ends_at=now + dt.timedelta(hours=3),
        distance_m=0,
        duration_s=0,
        version=1,
    )
    for k, order in enumerate(orders, start=1):
        at = now + dt.timedelta(minutes=20 * k)
        PlanStop.objects.create(
            route=route, sequence=k, order=order, arrives_at=at, starts_at=at, departs_at=at
        )
        for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
            order_transition(order=order, to=status, actor="test")
    return route


def _today(fixture, *, pool: tuple[str, ...] = POOL, day: dt.date | None = None) -> Today:
    """A published plan of `day` (today) in the fixture's schema: the signed-in driver's
    route of three stops, another driver's of one, and the pool numbers."""
    day = day or tenant_today()
    depot = Depot.objects.create(name="Masked depot", lat=51.5, lng=-0.12)
    van = Vehicle.objects.create(name="Masked van", start_depot=depot)
    van2 = Vehicle.objects.create(name="Masked van 2", start_depot=depot)
    driver = Driver.objects.create(
        name="Dana", user_id=fixture.user_ids[fixture.driver_email], phone=DRIVER_PHONE
    )
    other = Driver.objects.create(name="Olli", phone=OTHER_DRIVER_PHONE)
    orders = [
        Order.objects.create(
            customer_name=f"Customer {k}",
            customer_phone=CUSTOMER_PHONES[k],
            address_line1=f"{k} High Street",
            delivery_date=day,
            lat=51.51,
            lng=-0.12,
            weight_kg=Decimal("1"),
        )
        for k in range(3)
    ]
    theirs = Order.objects.create(
        customer_name="Their customer",
        customer_phone="+447700900599",
        delivery_date=day,
        lat=51.52,
        lng=-0.12,
    )
    now = timezone.now()
    plan = Plan.objects.create(date=day, status="done", solved_at=now, published_at=now)
    _route(driver, van, plan, orders)
    _route(other, van2, plan, [theirs])
    for phone in pool:
        ProxyNumber.objects.create(phone=phone)
    return Today(driver, other, [o.pk for o in orders], [theirs.pk])


def _open(client, order_id: int):
    return client.post(f"/driver/stops/{order_id}/masked", HTTP_ACCEPT="application/json")


def _signed(client, host: str, path: str, params: dict, *, token: str = TOKEN):
    url = f"http://{host}{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def _call(host: str, *, to: str, caller: str, sid: str):
    return _signed(host_client(host), host, VOICE, {"To": to, "From": caller, "CallSid": sid})


def _dial(host: str, pool_number: str, callee: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        f'<Dial action="http://{host}{VOICE_STATUS}" callerId="{pool_number}">'
        f"<Number>{callee}</Number></Dial></Response>"
    )


# --- the driver app opens a session ---------------------------------------------------------


def test_a_driver_call_is_dialled_to_the_customer_with_the_pool_number_as_caller_id(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    driver = login_client(alpha.host, alpha.driver_email)
    opened = _open(driver, day.orders[0])
    assert opened.status_code == 200, opened.content
    number = opened.json()["number"]
    assert number in POOL
    again = _open(driver, day.orders[0])  # a double tap: the same session, the same number
    assert again.json() == opened.json()

    answer = _call(alpha.host, to=number, caller=DRIVER_PHONE, sid="CA" + "1" * 32)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/xml")
    twiml = answer.content.decode()
    assert twiml == _dial(alpha.host, number, CUSTOMER_PHONES[0])
    assert DRIVER_PHONE not in twiml  # the customer never sees the driver's number
    with schema_context(alpha.tenant.schema_name):
        contact = MaskedContact.objects.get()
        session = MaskedSession.objects.get()
    assert (contact.kind, contact.direction, contact.order_id, contact.refused) == (
        "call",
        "driver",
        day.orders[0],
        "",
    )
    assert contact.provider_id == "CA" + "1" * 32
    # the session lasts until the end of the delivery day, in the tenant's zone (London)
    local_end = timezone.localtime(session.expires_at, timezone=masking.ZoneInfo("Europe/London"))
    assert (local_end.date(), local_end.time()) == (tenant_today(1), dt.time(0))


def test_a_customer_call_is_dialled_to_the_driver_and_shows_only_the_pool_number(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[1]).json()["number"]
    answer = _call(alpha.host, to=number, caller=CUSTOMER_PHONES[1], sid="CA" + "2" * 32)
    twiml = answer.content.decode()
    assert twiml == _dial(alpha.host, number, DRIVER_PHONE)
    assert CUSTOMER_PHONES[1] not in twiml
    with schema_context(alpha.tenant.schema_name):
        assert MaskedContact.objects.get().direction == "customer"


def test_two_stops_of_one_driver_get_different_pool_numbers(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    driver = login_client(alpha.host, alpha.driver_email)
    first = _open(driver, day.orders[0]).json()["number"]
    second = _open(driver, day.orders[1]).json()["number"]
    assert {first, second} == set(POOL)
    # each pool number names exactly one customer for the driver's phone
    assert _call(
        alpha.host, to=second, caller=DRIVER_PHONE, sid="CA" + "3" * 32
    ).content.decode() == (_dial(alpha.host, second, CUSTOMER_PHONES[1]))


def test_with_no_free_pool_number_the_driver_is_told_clearly(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha, pool=POOL[:1])
    driver = login_client(alpha.host, alpha.driver_email)
    assert _open(driver, day.orders[0]).status_code == 200
    refused = _open(driver, day.orders[1])  # the only number already joins this driver
    assert refused.status_code == 400
    body = refused.json()
    assert "proxy" in body["errors"] and "No calling number is free" in body["message"]
    with schema_context(alpha.tenant.schema_name):
        assert MaskedSession.objects.count() == 1


def test_another_drivers_stop_is_not_found(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    driver = login_client(alpha.host, alpha.driver_email)
    assert _open(driver, day.others[0]).status_code == 404
    assert _open(driver, 999_999).status_code == 404
    with schema_context(alpha.tenant.schema_name):
        assert not MaskedSession.objects.exists()


def test_what_is_missing_is_said_in_a_400(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
        Order.objects.filter(pk=day.orders[1]).update(customer_phone="")
        order = Order.objects.get(pk=day.orders[2])
        for status in (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, OrderStatus.DELIVERED):
            order = order_transition(order=order, to=status, actor="t")
    driver = login_client(alpha.host, alpha.driver_email)
    no_phone = _open(driver, day.orders[1])
    assert no_phone.status_code == 400 and "order" in no_phone.json()["errors"]
    finished = _open(driver, day.orders[2])
    assert finished.status_code == 400 and "finished" in finished.json()["message"]
    with schema_context(alpha.tenant.schema_name):
        Driver.objects.filter(pk=day.driver.pk).update(phone="")
    no_driver_phone = _open(driver, day.orders[0])
    assert no_driver_phone.status_code == 400
    assert "Your phone number is missing" in no_driver_phone.json()["message"]
    with schema_context(alpha.tenant.schema_name):
        Driver.objects.filter(pk=day.driver.pk).update(phone=DRIVER_PHONE)
        ProxyNumber.objects.update(is_active=False)
    no_pool = _open(driver, day.orders[0])
    assert no_pool.status_code == 400 and "not set up" in no_pool.json()["message"]


def test_a_stop_of_another_day_opens_no_session(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha, day=tenant_today(1))
    refused = _open(login_client(alpha.host, alpha.driver_email), day.orders[0])
    assert refused.status_code == 400 and "delivery day" in refused.json()["message"]


# --- the call-time check ---------------------------------------------------------------------


def test_a_call_after_the_order_was_delivered_is_refused_politely_and_kept(
    alpha, twilio, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with (
        schema_context(alpha.tenant.schema_name),
        django_capture_on_commit_callbacks(execute=True),
    ):
        order = Order.objects.get(pk=day.orders[0])
        for status in (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED, OrderStatus.DELIVERED):
            order = order_transition(order=order, to=status, actor="test")
    with schema_context(alpha.tenant.schema_name):
        assert MaskedSession.objects.get().closed_at is not None  # the receiver closed it
    answer = _call(alpha.host, to=number, caller=CUSTOMER_PHONES[0], sid="CA" + "4" * 32)
    assert answer.content.decode() == SORRY_CALL
    with schema_context(alpha.tenant.schema_name):
        contact = MaskedContact.objects.get()
    assert (contact.direction, contact.refused) == ("customer", masking.REFUSED_CLOSED)


def test_the_call_time_check_refuses_a_finished_order_even_if_its_session_is_open(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with schema_context(alpha.tenant.schema_name):
        # no signal: as if the receiver had not run
        Order.objects.filter(pk=day.orders[0]).update(status=OrderStatus.CANCELLED)
    answer = _call(alpha.host, to=number, caller=DRIVER_PHONE, sid="CA" + "5" * 32)
    assert answer.content.decode() == SORRY_CALL
    with schema_context(alpha.tenant.schema_name):
        assert MaskedContact.objects.get().refused == masking.REFUSED_FINISHED
        assert MaskedSession.objects.get().closed_at is not None


def test_a_call_after_the_delivery_day_is_refused(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
        session = masking.session_open(driver=day.driver, order_id=day.orders[0])
        later = session.expires_at + dt.timedelta(seconds=1)
        twiml = masking.voice_answer(
            to=session.proxy.phone,
            caller=DRIVER_PHONE,
            call_sid="CA" + "6" * 32,
            action_url="http://x/status",
            now=later,
        )
        assert twiml == SORRY_CALL
        assert MaskedContact.objects.get().refused == masking.REFUSED_EXPIRED
        # the same number is free again for this driver the next day
        session.refresh_from_db()
        assert session.closed_at == later


def test_a_stop_moved_to_another_driver_no_longer_connects(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with schema_context(alpha.tenant.schema_name):
        theirs = PlanRoute.objects.get(driver=day.other)
        PlanStop.objects.filter(order_id=day.orders[0]).update(route=theirs, sequence=9)
    answer = _call(alpha.host, to=number, caller=DRIVER_PHONE, sid="CA" + "7" * 32)
    assert answer.content.decode() == SORRY_CALL
    with schema_context(alpha.tenant.schema_name):
        assert MaskedContact.objects.get().refused == masking.REFUSED_MOVED


def test_the_refusal_is_said_in_the_business_language(alpha, twilio):
    from tenants.models import Tenant

    with schema_context(alpha.tenant.schema_name):
        _today(alpha)
    Tenant.objects.filter(pk=alpha.tenant.pk).update(locale="fi")
    answer = _call(alpha.host, to=POOL[0], caller="+447700900999", sid="CA" + "d" * 32)
    assert '<Say language="fi-FI">' in answer.content.decode()


def test_a_call_from_a_stranger_is_refused_and_recorded_nowhere(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    answer = _call(alpha.host, to=number, caller="+447700900999", sid="CA" + "8" * 32)
    assert answer.content.decode() == SORRY_CALL
    with schema_context(alpha.tenant.schema_name):
        assert not MaskedContact.objects.exists()


def test_the_call_status_is_recorded_once_per_call(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    sid = "CA" + "9" * 32
    _call(alpha.host, to=number, caller=DRIVER_PHONE, sid=sid)
    _call(alpha.host, to=number, caller=DRIVER_PHONE, sid=sid)  # Twilio asked again
    client = host_client(alpha.host)
    params = {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "73"}
    for _ in range(2):
        done = _signed(client, alpha.host, VOICE_STATUS, params)
        assert done.status_code == 200 and done.content.decode() == EMPTY
    with schema_context(alpha.tenant.schema_name):
        contact = MaskedContact.objects.get()
    assert (contact.status, contact.duration_s) == ("completed", 73)


@pytest.mark.parametrize("path", [VOICE, VOICE_STATUS, SMS])
def test_unsigned_or_forged_webhooks_are_refused(alpha, twilio, path):
    with schema_context(alpha.tenant.schema_name):
        _today(alpha)
    client = host_client(alpha.host)
    params = {"To": POOL[0], "From": DRIVER_PHONE, "CallSid": "CAx", "MessageSid": "SMx"}
    assert client.post(path, params).status_code == 403
    assert client.post(path, params, HTTP_X_TWILIO_SIGNATURE="forged").status_code == 403
    wrong_key = _signed(client, alpha.host, path, params, token="another-token")
    assert wrong_key.status_code == 403
    with schema_context(alpha.tenant.schema_name):
        assert not MaskedContact.objects.exists()


# --- texts ----------------------------------------------------------------------------------


def _text(host: str, *, to: str, sender: str, body: str, sid: str):
    params = {"To": to, "From": sender, "Body": body, "MessageSid": sid}
    return _signed(host_client(host), host, SMS, params)


def test_texts_are_relayed_both_ways_from_the_pool_number_once(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    out = _text(
        alpha.host, to=number, sender=DRIVER_PHONE, body="At your gate", sid="SM" + "1" * 32
    )
    assert out.status_code == 200 and out.content.decode() == EMPTY
    _text(alpha.host, to=number, sender=DRIVER_PHONE, body="At your gate", sid="SM" + "1" * 32)
    back = _text(
        alpha.host, to=number, sender=CUSTOMER_PHONES[0], body="Coming down", sid="SM" + "2" * 32
    )
    assert back.content.decode() == EMPTY
    sent = [(m["From"], m["To"], m["Body"]) for m in twilio.messages]
    assert sent == [
        (number, CUSTOMER_PHONES[0], "At your gate"),
        (number, DRIVER_PHONE, "Coming down"),
    ]
    with schema_context(alpha.tenant.schema_name):
        contacts = list(MaskedContact.objects.values_list("kind", "direction", "status"))
    assert contacts == [("sms", "driver", "queued"), ("sms", "customer", "queued")]


def test_a_text_after_the_stop_ended_is_answered_politely_and_not_relayed(
    alpha, twilio, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with (
        schema_context(alpha.tenant.schema_name),
        django_capture_on_commit_callbacks(execute=True),
    ):
        order = Order.objects.get(pk=day.orders[0])
        order_transition(order=order, to=OrderStatus.CANCELLED, actor="test")
    late = _text(
        alpha.host, to=number, sender=CUSTOMER_PHONES[0], body="Hello?", sid="SM" + "3" * 32
    )
    assert late.content.decode() == SORRY_TEXT
    assert twilio.messages == []
    with schema_context(alpha.tenant.schema_name):
        assert MaskedContact.objects.get().refused == masking.REFUSED_CLOSED


# --- tenants ----------------------------------------------------------------------------------


def test_another_tenants_host_never_reaches_this_tenants_session(alpha, beta, twilio):
    """Beta has the same pool number and rows with the same ids; a call or text through
    beta's host from alpha's driver and customer reaches nothing of alpha's."""
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with schema_context(beta.tenant.schema_name):
        ProxyNumber.objects.create(phone=number)
    call = _call(beta.host, to=number, caller=DRIVER_PHONE, sid="CA" + "a" * 32)
    assert call.content.decode() == SORRY_CALL
    text = _text(beta.host, to=number, sender=CUSTOMER_PHONES[0], body="hi", sid="SM" + "a" * 32)
    assert text.content.decode() == SORRY_TEXT
    assert twilio.messages == []
    for schema in (alpha.tenant.schema_name, beta.tenant.schema_name):
        with schema_context(schema):
            assert not MaskedContact.objects.exists()
    # beta's driver, signed in on beta, cannot open a session on alpha's host
    beta_driver = login_client(beta.host, beta.driver_email)
    crossed = beta_driver.post(
        f"http://{alpha.host}/driver/stops/{day.orders[0]}/masked", HTTP_HOST=alpha.host
    )
    assert crossed.status_code in (302, 403)
    with schema_context(alpha.tenant.schema_name):
        assert MaskedSession.objects.count() == 1


# --- the owner's pool and the pages ---------------------------------------------------------


def test_the_owner_adds_numbers_checked_as_e164(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/calls/")
    assert page.status_code == 200
    assert f"http://{alpha.host}{VOICE}" in page.content.decode()
    assert f"http://{alpha.host}{SMS}" in page.content.decode()
    assert 'href="/settings/calls/"' in page.content.decode()  # in the owner's menu
    added = owner.post("/settings/calls/", {"action": "add", "phone": "07700 900003"})
    assert added.status_code == 302
    bad = owner.post("/settings/calls/", {"action": "add", "phone": "12345"})
    assert bad.status_code == 400
    assert "is not a valid phone number" in bad.content.decode()
    assert 'id="phone-errors"' in bad.content.decode()
    empty = owner.post("/settings/calls/", {"action": "add", "phone": ""})
    assert empty.status_code == 400
    assert owner.post("/settings/calls/", {"action": "fly"}).status_code == 400
    assert owner.post("/settings/calls/", {"action": "remove", "proxy": "x"}).status_code == 400
    with schema_context(alpha.tenant.schema_name):
        assert list(ProxyNumber.objects.values_list("phone", flat=True)) == ["+447700900003"]
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get("/settings/calls/").status_code == 403


def test_a_number_in_use_is_deactivated_not_removed(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with schema_context(alpha.tenant.schema_name):
        used = ProxyNumber.objects.get(phone=number)
        unused = ProxyNumber.objects.exclude(pk=used.pk).get()
    owner = login_client(alpha.host, alpha.owner_email)
    refused = owner.post("/settings/calls/", {"action": "remove", "proxy": used.pk})
    assert refused.status_code == 400 and "deactivate it" in refused.content.decode()
    assert (
        owner.post("/settings/calls/", {"action": "deactivate", "proxy": used.pk}).status_code
        == 302
    )
    assert (
        owner.post("/settings/calls/", {"action": "remove", "proxy": unused.pk}).status_code == 302
    )
    with schema_context(alpha.tenant.schema_name):
        assert list(ProxyNumber.objects.values_list("phone", "is_active")) == [(number, False)]
    # the open session keeps working on its deactivated number until the stop ends
    answer = _call(alpha.host, to=number, caller=DRIVER_PHONE, sid="CA" + "b" * 32)
    assert answer.content.decode() == _dial(alpha.host, number, CUSTOMER_PHONES[0])


def test_the_driver_app_links_through_the_pool_only_when_it_has_numbers(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha, pool=())
    driver = login_client(alpha.host, alpha.driver_email)
    direct = driver.get("/driver/").content.decode()
    assert f'href="tel:{CUSTOMER_PHONES[0]}"' in direct and "data-masked" not in direct
    with schema_context(alpha.tenant.schema_name):
        ProxyNumber.objects.create(phone=POOL[0])
    masked = driver.get("/driver/").content.decode()
    assert f'data-url="/driver/stops/{day.orders[0]}/masked"' in masked
    assert 'data-masked="text"' in masked and "driver_masked.js" in masked
    assert CUSTOMER_PHONES[0] not in masked and "tel:" not in masked


def test_the_order_history_lists_its_masked_calls_and_texts(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    sid = "CA" + "c" * 32
    _call(alpha.host, to=number, caller=CUSTOMER_PHONES[0], sid=sid)
    _signed(
        host_client(alpha.host),
        alpha.host,
        VOICE_STATUS,
        {"CallSid": sid, "DialCallStatus": "completed", "DialCallDuration": "65"},
    )
    _text(alpha.host, to=number, sender=DRIVER_PHONE, body="Here", sid="SM" + "c" * 32)
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get(f"/orders/{day.orders[0]}/").content.decode()
    assert 'id="masked-contacts"' in page
    assert "Call from the customer to Dana" in page and "answered" in page and "1:05" in page
    assert "Text from Dana to the customer" in page


def test_a_stop_moved_to_another_day_no_longer_connects_today(alpha, twilio):
    """The same driver has it tomorrow: today's session is over for it."""
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with schema_context(alpha.tenant.schema_name):
        now = timezone.now()
        later = Plan.objects.create(
            date=tenant_today(1), status="done", solved_at=now, published_at=now
        )
        route = PlanRoute.objects.get(driver=day.driver)
        route.pk, route.plan = None, later
        route.save()
        PlanStop.objects.filter(order_id=day.orders[0]).update(route=route)
    answer = _call(alpha.host, to=number, caller=CUSTOMER_PHONES[0], sid="CA" + "d1" * 16)
    assert answer.content.decode() == SORRY_CALL
    with schema_context(alpha.tenant.schema_name):
        assert MaskedContact.objects.get().refused == masking.REFUSED_MOVED
        assert MaskedSession.objects.get().closed_at is not None


def test_a_number_taken_between_the_check_and_the_removal_is_a_400(alpha, twilio, monkeypatch):
    """A driver opening a session on it at the moment the owner removes it: no 500."""
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    number = _open(login_client(alpha.host, alpha.driver_email), day.orders[0]).json()["number"]
    with schema_context(alpha.tenant.schema_name):
        used = ProxyNumber.objects.get(phone=number)
    # the checks see the pool as it was before the session: the delete meets it
    monkeypatch.setattr(
        MaskedSession.objects, "filter", lambda *a, **kw: MaskedSession.objects.none()
    )
    owner = login_client(alpha.host, alpha.owner_email)
    refused = owner.post("/settings/calls/", {"action": "remove", "proxy": used.pk})
    assert refused.status_code == 400 and "deactivate it" in refused.content.decode()
    monkeypatch.undo()
    with schema_context(alpha.tenant.schema_name):
        assert ProxyNumber.objects.filter(pk=used.pk).exists()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"To": POOL[0]},
        {"To": POOL[0], "From": "anonymous", "CallSid": "CA" + "e1" * 16},
        {"To": "+15005550006", "From": DRIVER_PHONE, "MessageSid": "SM" + "e2" * 16},
        {"From": CUSTOMER_PHONES[0], "Body": "", "MessageSid": "SM" + "e3" * 16},
    ],
    ids=["nothing", "no-from", "withheld", "unknown-to", "no-to"],
)
@pytest.mark.parametrize("path", [VOICE, SMS])
def test_odd_webhook_fields_are_refused_politely_never_a_500(alpha, twilio, path, params):
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
    _open(login_client(alpha.host, alpha.driver_email), day.orders[0])
    answer = _signed(host_client(alpha.host), alpha.host, path, params)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/xml"
    assert answer.content.decode() == (SORRY_CALL if path == VOICE else SORRY_TEXT)
    assert twilio.messages == []
    with schema_context(alpha.tenant.schema_name):
        assert not MaskedContact.objects.exists()
        assert MaskedSession.objects.get().closed_at is None


@pytest.mark.parametrize(
    "params",
    [{}, {"CallSid": "CA" + "f" * 32}, {"CallSid": "CA" + "f" * 32, "DialCallDuration": "soon"}],
    ids=["nothing", "unknown-call", "odd-duration"],
)
def test_odd_call_status_fields_end_the_call_never_a_500(alpha, twilio, params):
    answer = _signed(host_client(alpha.host), alpha.host, VOICE_STATUS, params)
    assert answer.status_code == 200 and answer.content.decode() == EMPTY


class _StalePool:
    """`ProxyNumber` as a request that chose its number before another request's session
    was committed sees it: `.exclude(busy)` forgets the busy numbers."""

    class _Query:
        def __init__(self, query):
            self.query = query

        def exclude(self, *args, **kwargs):
            return self.query

        def __getattr__(self, name):
            return getattr(self.query, name)

    class objects:  # stands in for the model's manager (its name)
        @staticmethod
        def filter(**kwargs):
            return _StalePool._Query(ProxyNumber.objects.filter(**kwargs))


def test_a_number_taken_by_another_request_meanwhile_is_skipped_not_a_500(
    alpha, twilio, monkeypatch
):
    """Two requests choosing at once see the same free numbers: the one that loses the
    race on a number (the unique constraints) takes the next one, or says none is free."""
    with schema_context(alpha.tenant.schema_name):
        day = _today(alpha)
        Order.objects.filter(pk=day.orders[1]).update(customer_phone=CUSTOMER_PHONES[0])
    driver = login_client(alpha.host, alpha.driver_email)
    assert _open(driver, day.orders[0]).json()["number"] == POOL[0]
    monkeypatch.setattr(masking, "ProxyNumber", _StalePool)
    second = _open(driver, day.orders[1])
    assert second.status_code == 200 and second.json()["number"] == POOL[1]
    third = _open(driver, day.orders[2])  # the driver's phone is on both numbers now
    assert third.status_code == 400
    assert "No calling number is free" in third.json()["message"]
    with schema_context(alpha.tenant.schema_name):
        assert MaskedSession.objects.count() == 2
