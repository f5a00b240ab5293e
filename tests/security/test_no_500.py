"""Bad input is a 4xx (or a refusal), never a 500 (issue 22): ids that are not numbers,
NUL characters in form posts, cookie headers Python's SimpleCookie cannot read, and
message templates that reach for other templates."""

from __future__ import annotations

import base64
import os
import socket as _socket

import pytest
from django.core.cache import cache
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from dispatch.models import Order
from notifications.models import NotificationSettings
from notifications.services.messages import SAMPLE, render
from tests.conftest import FIXED_NOW, host_client, login_client
from tests.dispatch.test_orders_pages import FORM
from tests.e2e.conftest import live_tenant, running_web
from tests.e2e.ws import receive, refusal, run, socket
from tests.notifications.test_tracking_page import MESSAGE_SETTINGS
from webhooks.models import Delivery, Subscription


def _answering(client):
    """The client answers a view's exception with the 500 page instead of raising it."""
    client.raise_request_exception = False
    return client


# 1. ids that are not numbers ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("delivery", ["abc", "1\x00", "²", "1.5", "9" * 30, ""])
def test_a_replay_of_a_delivery_that_is_not_a_number_is_a_404(alpha, delivery):
    with schema_context(alpha.tenant.schema_name):
        subscription = Subscription.objects.create(
            url="https://example.com/hook", events=["order.created"]
        )
    owner = _answering(login_client(alpha.host, alpha.owner_email))
    response = owner.post(
        f"/settings/webhooks/{subscription.pk}/action", {"action": "replay", "delivery": delivery}
    )
    assert response.status_code == 404
    with schema_context(alpha.tenant.schema_name):
        assert not Delivery.objects.exists()


# 2. NUL characters in form posts --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.time_machine(FIXED_NOW, tick=True)
@pytest.mark.parametrize("field", ["customer_name", "notes", "delivery_date", "priority"])
def test_a_nul_in_the_order_form_is_a_field_error_and_nothing_is_saved(alpha, field):
    client = _answering(login_client(alpha.host, alpha.dispatcher_email))
    data = {**FORM, field: f"{FORM.get(field, 'x')}\x00"}
    response = client.post("/orders/new/", data)
    assert response.status_code == 200  # the form again, with its errors (as for any error)
    assert "Null characters are not allowed." in response.content.decode()
    with schema_context(alpha.tenant.schema_name):
        assert not Order.objects.filter(customer_name__startswith="Grace Hopper").exists()


@pytest.mark.django_db
@pytest.mark.time_machine(FIXED_NOW, tick=True)
def test_a_nul_in_the_order_edit_form_is_a_field_error_and_nothing_is_saved(alpha):
    client = _answering(login_client(alpha.host, alpha.dispatcher_email))
    assert client.post("/orders/new/", FORM).status_code == 302
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.get(customer_name="Grace Hopper")
    response = client.post(f"/orders/{order.pk}/edit/", {**FORM, "city": "Lon\x00don"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    with schema_context(alpha.tenant.schema_name):
        order.refresh_from_db()
        assert order.city == "London"


@pytest.mark.django_db
@pytest.mark.time_machine(FIXED_NOW, tick=True)
@pytest.mark.parametrize("field", ["reason", "delivery_date", "window_start"])
def test_a_nul_in_the_order_actions_is_refused_not_a_500(alpha, field):
    client = _answering(login_client(alpha.host, alpha.dispatcher_email))
    assert client.post("/orders/new/", FORM).status_code == 302
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.get(customer_name="Grace Hopper")
    data = {"delivery_date": "2026-12-04", "reason": "asked", field: "x\x00"}
    for action in ("reschedule", "cancel"):
        response = client.post(f"/orders/{order.pk}/{action}/", data)
        assert response.status_code in (302, 400), (action, response.status_code)
    with schema_context(alpha.tenant.schema_name):
        assert not any("\x00" in event.reason for event in order.events.all())


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/t/abc%00", "/t/abc%00/path", "/t/%00/proof/1/photo"])
def test_a_nul_in_a_tracking_link_is_a_404(path):
    cache.clear()  # the unknown-token counter
    client = _answering(host_client("localhost"))
    assert client.get(path).status_code == 404


# 3. cookie headers SimpleCookie cannot read, on the dispatcher's socket ----------------


@pytest.fixture(scope="module")
def dispatcher_socket(django_db_setup, django_db_blocker):
    """A running server and a dispatcher of a tenant of its own: (host, session cookie)."""
    with running_web() as url:
        tenant = live_tenant(
            django_db_blocker, url, "nul", users=(("dispatcher@nul.test", "dispatcher"),)
        )
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            client = Client(HTTP_HOST=tenant.host)
            client.force_login(User.objects.get(email="dispatcher@nul.test"))
            session = client.cookies["sessionid"].value
        yield tenant.host, f"sessionid={session}"


async def _hello(host: str, cookie: str) -> str:
    async with socket(host, "/ws/dispatch/", cookie=cookie) as ws:
        return (await receive(ws))["type"]


@pytest.mark.parametrize("other", ["a b=1", "a@b=1", "a(b=1", "x=1; c d=2"])
def test_another_sites_odd_cookie_does_not_sign_the_dispatcher_out(dispatcher_socket, other):
    host, session = dispatcher_socket
    assert run(_hello(host, f"{other}; {session}")) == "hello"
    assert run(_hello(host, f"{session}; {other}")) == "hello"


def _raw_handshake(host: str, cookie: bytes) -> bytes:
    """The server's answer to a handshake sent by hand (websocket clients refuse to send
    control characters in a header; anyone else can)."""
    port = int(host.rsplit(":", 1)[1])
    key = base64.b64encode(os.urandom(16))
    lines = [
        b"GET /ws/dispatch/ HTTP/1.1",
        b"Host: " + host.encode(),
        b"Origin: http://" + host.encode(),
        b"Upgrade: websocket",
        b"Connection: Upgrade",
        b"Sec-WebSocket-Key: " + key,
        b"Sec-WebSocket-Version: 13",
        b"Cookie: " + cookie,
    ]
    request = b"\r\n".join(lines) + b"\r\n\r\n"
    with _socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.split(b"\r\n\r\n", 1)[1]:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


@pytest.mark.parametrize("other", [b"\x00=1", b"\x01\x7f=\x00", b"a\x00b"])
def test_control_characters_in_a_cookie_are_a_400_from_the_server(dispatcher_socket, other):
    """The web server's HTTP parser refuses a header with control characters itself, before
    any consumer runs."""
    host, session = dispatcher_socket
    for cookie in (other + b"; " + session.encode(), other):
        assert _raw_handshake(host, cookie).startswith(b"HTTP/1.1 400 ")


@pytest.mark.parametrize("cookie", ["a@b=1", "a b=1", "=; ;;", "sessionid"])
def test_an_odd_cookie_without_a_session_is_not_signed_in(dispatcher_socket, cookie):
    host, _ = dispatcher_socket
    assert run(refusal(host, "/ws/dispatch/", cookie=cookie)) == ("not_signed_in", 4401)


# 4. message templates that reach for other templates -------------------------------------


SETTINGS_FORM = MESSAGE_SETTINGS

REACHING = [
    '{% include "base.html" %}',
    '{% extends "base.html" %}Hi',
    "{% include link %}",
    "{% load static %}{% static 'x' %}",
    '{% if customer %}{% include "nothing.txt" %}{% endif %}',
]


@pytest.mark.django_db
@pytest.mark.parametrize("source", REACHING)
def test_a_template_reaching_for_other_templates_is_refused_when_saved(alpha, source):
    owner = _answering(login_client(alpha.host, alpha.owner_email))
    response = owner.post(
        "/settings/messages/", {**SETTINGS_FORM, "template_delivered_sms": source}
    )
    assert response.status_code == 400
    assert "is the old syntax" in response.content.decode()
    with schema_context(alpha.tenant.schema_name):
        row = NotificationSettings.objects.first()
        assert row is None or not row.templates


@pytest.mark.django_db
@pytest.mark.parametrize("source", REACHING)
def test_a_template_reaching_for_other_templates_has_a_preview_error(alpha, source):
    owner = _answering(login_client(alpha.host, alpha.owner_email))
    response = owner.post(
        "/settings/messages/preview", {"key": "delivered.sms", "template_delivered_sms": source}
    )
    assert response.status_code == 200
    assert "is the old syntax" in response.content.decode()


def test_include_and_extends_say_why_they_are_refused():
    for source in ('{% include "a.txt" %}', '{% extends "a.txt" %}'):
        with pytest.raises(ValueError, match="is the old syntax"):
            render(source, SAMPLE)


# 5. too many form fields ----------------------------------------------------------------


@pytest.mark.django_db
def test_too_many_form_fields_are_a_400(alpha, settings):
    client = _answering(login_client(alpha.host, alpha.dispatcher_email))
    data = {**FORM, **{f"extra{k}": "1" for k in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)}}
    assert client.post("/orders/new/", data).status_code == 400
    with schema_context(alpha.tenant.schema_name):
        assert not Order.objects.filter(customer_name="Grace Hopper").exists()
