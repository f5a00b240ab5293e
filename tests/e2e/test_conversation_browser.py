"""A customer's text, signed as Twilio signs it, posted to the running web process: a
dispatcher's real websocket hears it (another tenant's does not); in Chromium the board's
badge counts it, the order page shows the next one live, and the dispatcher's answer
reaches the fake Twilio from the tenant's sender to the customer."""

from __future__ import annotations

import datetime as dt
import http.client
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import (
    LiveTenant,
    csp_checked_page,
    live_tenant,
    running_web,
    sign_in,
    wait_until,
)
from tests.e2e.ws import nothing_of, receive, run, socket
from tests.notifications.fake_twilio import FakeTwilio, running_fake_twilio

TOKEN = "browser-conversation-token-0123"
SENDER = "+447700900000"
CUSTOMER = "+447700900555"


@dataclass
class Server:
    url: str
    twilio: FakeTwilio


@pytest.fixture(scope="module")
def server(django_db_setup) -> Iterator[Server]:
    """A web process of its own, sending SMS through the real client to the fake Twilio."""
    with running_fake_twilio() as (fake, api_url):
        env = {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM": SENDER,
            "TWILIO_API_URL": api_url,
            "TWILIO_CALLBACK_BASE": "http://{host}",
        }
        with running_web(**env) as url:
            yield Server(url, fake)


@dataclass
class Shop:
    tenant: LiveTenant
    order: int
    plan: int
    cookie: str  # the dispatcher's session, for a websocket of the test's own


def make_shop(django_db_blocker, server_url: str, prefix: str) -> Shop:
    from django.test import Client
    from django.utils import timezone

    from accounts.models import User
    from dispatch.models import Order
    from routing.models import Plan

    tenant = live_tenant(
        django_db_blocker, server_url, prefix, users=((f"dispatcher@{prefix}.test", "dispatcher"),)
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        today = timezone.localdate()
        order = Order.objects.create(
            customer_name=f"{prefix.title()} Customer",
            customer_phone=CUSTOMER,  # the same customer in every shop
            delivery_date=today,
        )
        plan = Plan.objects.create(date=today, status="done", solved_at=dt.datetime.now(dt.UTC))
        client = Client(HTTP_HOST=tenant.host)
        client.force_login(User.objects.get(email=f"dispatcher@{prefix}.test"))
        cookie = f"sessionid={client.cookies['sessionid'].value}"
    return Shop(tenant, order.pk, plan.pk, cookie)


def twilio_texts(tenant: LiveTenant, body: str, sid: str) -> int:
    """What Twilio does when the customer texts the tenant's number: a signed POST to the
    inbound webhook on the tenant's host (the connection goes to 127.0.0.1)."""
    from twilio.request_validator import RequestValidator

    path = "/notifications/twilio/inbound"
    params = {"From": CUSTOMER, "To": SENDER, "Body": body, "MessageSid": sid}
    signature = RequestValidator(TOKEN).compute_signature(f"http://{tenant.host}{path}", params)
    connection = http.client.HTTPConnection("127.0.0.1", int(tenant.port), timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=urlencode(params),
            headers={
                "Host": tenant.host,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_signed_text_reaches_the_dispatchers_socket_of_its_own_tenant_only(
    server, django_db_blocker
):
    from notifications.models import CustomerMessage

    a = make_shop(django_db_blocker, server.url, "convwsa")
    b = make_shop(django_db_blocker, server.url, "convwsb")

    async def scenario():
        async with (
            socket(a.tenant.host, "/ws/dispatch/", cookie=a.cookie) as ws_a,
            socket(b.tenant.host, "/ws/dispatch/", cookie=b.cookie) as ws_b,
        ):
            assert (await receive(ws_a, kind="hello"))["type"] == "hello"
            assert (await receive(ws_b, kind="hello"))["type"] == "hello"
            status = twilio_texts(a.tenant, "Is it coming today?", "SM" + "f" * 32)
            assert status == 200
            heard = await receive(ws_a, kind="conversation", timeout=10)
            assert await nothing_of(ws_b, "conversation", wait=1.5)
            return heard

    heard = run(scenario())
    assert heard["order"] == a.order and heard["unread"] == 1
    assert heard["message"]["body"] == "Is it coming today?"
    assert heard["message"]["direction"] == "in"
    with django_db_blocker.unblock():
        with schema_context(a.tenant.schema):
            assert list(CustomerMessage.objects.values_list("order_id", flat=True)) == [a.order]
        with schema_context(b.tenant.schema):
            assert not CustomerMessage.objects.exists()


def test_the_dispatcher_sees_texts_live_and_answers_them(server, django_db_blocker, browser):
    from notifications.models import CustomerMessage

    shop = make_shop(django_db_blocker, server.url, "convpage")
    email = "dispatcher@convpage.test"
    with csp_checked_page(browser) as board:
        sign_in(board, shop.tenant, email)
        board.goto(f"{shop.tenant.url}/plans/{shop.plan}/board")
        board.locator("#board-live", has_text="Live").wait_for()
        badge = board.locator("#board-unread-count")
        assert badge.is_hidden() and badge.get_attribute("data-unread") == "0"

        # the order page is not open: the text waits, counted on the board
        assert twilio_texts(shop.tenant, "Please ring twice", "SM" + "1" * 31 + "a") == 200
        board.locator("#board-unread-count[data-unread='1']", has_text="1").wait_for()
        assert badge.is_visible()
        assert board.locator("#board-unread").get_attribute("href") == "/conversations/"

        with csp_checked_page(browser) as page:
            sign_in(page, shop.tenant, email)
            page.goto(f"{shop.tenant.url}/orders/{shop.order}/")
            card = page.locator("#order-conversation")
            card.get_by_text("Please ring twice").wait_for()
            # the order page open: the text is read, and the board's badge says so
            board.locator("#board-unread-count[data-unread='0']").wait_for(state="attached")
            assert badge.is_hidden()
            page.locator("#order-conversation[data-live='1']").wait_for(state="attached")

            # a text while the page is open appears at once, without a reload
            assert twilio_texts(shop.tenant, "I'm in the garden", "SM" + "1" * 31 + "b") == 200
            card.get_by_text("I'm in the garden").wait_for()
            # an SMS body is text, never markup: drawn live, it stays text
            hostile = '<img src="x" onerror="window.__xss = 1"><b>bold</b>'
            assert twilio_texts(shop.tenant, hostile, "SM" + "1" * 31 + "c") == 200
            card.get_by_text(hostile).wait_for()

            # texts that came one after the other while the page was open are all read
            # there (a read asked while another was on its way is asked again)
            def none_unread() -> bool:
                with django_db_blocker.unblock(), schema_context(shop.tenant.schema):
                    unread = CustomerMessage.objects.filter(direction="in", read_at__isnull=True)
                    return not unread.exists()

            wait_until(none_unread, timeout=10)
            assert card.locator("img, b").count() == 0
            assert page.evaluate("window.__xss") is None

            box = page.get_by_label("Answer the customer")
            box.fill("Thanks, the driver will come round the back.")
            page.locator("#conversation-count", has_text="1 SMS (GSM-7)").wait_for()
            page.get_by_role("button", name="Send").dblclick()  # a double click sends once
            card.locator(".is-answer", has_text="the driver will come round the back").wait_for()
            card.locator(".is-answer .status", has_text="Sent").wait_for()
            assert box.input_value() == ""

    wait_until(lambda: len(server.twilio.messages) >= 1, timeout=10)
    (sent,) = server.twilio.messages
    assert (sent["From"], sent["To"]) == (SENDER, CUSTOMER)
    assert sent["Body"] == "Thanks, the driver will come round the back."
    with django_db_blocker.unblock(), schema_context(shop.tenant.schema):
        answers = CustomerMessage.objects.filter(direction="out")
        assert answers.count() == 1 and answers.get().sent_by.email == email
        assert not CustomerMessage.objects.filter(direction="in", read_at__isnull=True).exists()
