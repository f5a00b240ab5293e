"""Customers' texts and the dispatchers' answers: an inbound SMS through the signed Twilio
webhook lands on the right order (once per MessageSid, in its own tenant only) and reaches
the dispatchers' socket group; the answer goes out through the real `twilio` client (the
fake Twilio) from the tenant's sender, once per form key; STOP refuses it; Twilio's
status reports move it forward."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone
from django_tenants.utils import schema_context
from twilio.request_validator import RequestValidator

from dispatch.models import Order
from notifications.models import CustomerMessage, NotificationSettings, SmsOptOut, new_send_key
from tests.conftest import host_client, login_client, tenant_today
from tests.notifications.fake_twilio import twilio_pointed_at_fake
from tracking.services.hub import dispatch_group

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-conversations-01"
PHONE = "+447700900321"
INBOUND = "/notifications/twilio/inbound"


@pytest.fixture
def twilio(settings):
    with twilio_pointed_at_fake(settings, token=TOKEN) as fake:
        yield fake


@pytest.fixture
def layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    import channels.layers

    channels.layers.channel_layers.backends.pop("default", None)
    yield get_channel_layer()
    channels.layers.channel_layers.backends.pop("default", None)


def _signed(client, host: str, path: str, params: dict, *, token: str = TOKEN):
    url = f"http://{host}{path}"
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(
        url,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


def _inbound(host: str, body: str, *, sid: str, phone: str = PHONE):
    params = {"From": phone, "To": "+447700900000", "Body": body, "MessageSid": sid}
    return _signed(host_client(host), host, INBOUND, params)


def _order(name: str, *, days: int | None = 0, status: str = "unassigned", phone=PHONE) -> Order:
    order = Order.objects.create(
        customer_name=name,
        customer_phone=phone,
        delivery_date=tenant_today(days) if days is not None else None,
    )
    if status != "unassigned":
        Order.objects.filter(pk=order.pk).update(status=status)
    return order


def test_an_inbound_text_lands_on_the_order_still_to_come_and_reaches_the_dispatchers(
    alpha, twilio, layer, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        _order("Old", days=-3, status="delivered")
        later = _order("Later", days=4)
        today = _order("Today", days=0)
        _order("Yesterday undelivered", days=-1)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(dispatch_group(alpha.tenant.schema_name), channel)
    with django_capture_on_commit_callbacks(execute=True):
        response = _inbound(alpha.host, "Leave it with the neighbour please", sid="SM" + "1" * 32)
    assert response.status_code == 200
    with schema_context(alpha.tenant.schema_name):
        (message,) = CustomerMessage.objects.all()
    assert message.order_id == today.pk != later.pk
    assert (message.direction, message.phone, message.status) == ("in", PHONE, "received")
    event = async_to_sync(layer.receive)(channel)
    assert event["type"] == "conversation" and event["order"] == today.pk
    assert event["message"]["body"] == "Leave it with the neighbour please"
    assert event["message"]["direction"] == "in" and event["unread"] == 1
    assert event["opted_out"] is False


def test_the_nearest_coming_day_when_nothing_today_and_the_latest_order_when_all_done(
    alpha, twilio
):
    with schema_context(alpha.tenant.schema_name):
        far = _order("Far", days=6)
        near = _order("Near", days=2)
    assert _inbound(alpha.host, "what time?", sid="SM" + "2" * 32).status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.get().order_id == near.pk != far.pk
        Order.objects.filter(pk__in=[near.pk, far.pk]).update(status="delivered")
        newest = _order("Done", days=-1, status="delivered")
    assert _inbound(alpha.host, "thanks!", sid="SM" + "3" * 32).status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.get(body="thanks!").order_id == newest.pk


def test_an_unsigned_or_forged_inbound_is_refused_and_stores_nothing(alpha, twilio):
    client = host_client(alpha.host)
    params = {"From": PHONE, "Body": "hello", "MessageSid": "SM" + "5" * 32}
    assert client.post(INBOUND, params).status_code == 403
    forged = _signed(client, alpha.host, INBOUND, params, token="not-the-token")
    assert forged.status_code == 403
    with schema_context(alpha.tenant.schema_name):
        assert not CustomerMessage.objects.exists()


def test_twilio_delivering_the_same_text_twice_stores_it_once(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        _order("Twice")
    for _ in range(2):
        assert _inbound(alpha.host, "ring the bell", sid="SM" + "6" * 32).status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.count() == 1


def test_stop_still_opts_out_and_shows_in_the_thread_start_opts_back_in(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Stopper")
    assert _inbound(alpha.host, " stop ", sid="SM" + "7" * 32).status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert SmsOptOut.objects.filter(phone=PHONE).exists()
        assert list(CustomerMessage.objects.values_list("order_id", "body")) == [
            (order.pk, " stop ")
        ]
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-opted-out="1"' in page and "This customer answered STOP" in page
    assert _inbound(alpha.host, "START", sid="SM" + "8" * 32).status_code == 200
    assert 'data-opted-out="0"' in client.get(f"/orders/{order.pk}/").content.decode()
    with schema_context(alpha.tenant.schema_name):
        assert not SmsOptOut.objects.filter(phone=PHONE).exists()
        assert CustomerMessage.objects.count() == 2


def test_a_text_from_an_unknown_number_is_kept_and_shown_in_the_inbox(alpha, twilio):
    assert (
        _inbound(alpha.host, "who is this?", sid="SM" + "9" * 32, phone="+447700900999").status_code
        == 200
    )
    with schema_context(alpha.tenant.schema_name):
        message = CustomerMessage.objects.get()
    assert message.order_id is None and message.phone == "+447700900999"
    client = login_client(alpha.host, alpha.dispatcher_email)
    inbox = client.get("/conversations/").content.decode()
    assert "who is this?" in inbox
    assert "07700\u00a0900999" in inbox  # as the tenant's country writes it
    assert "No order with this number" in inbox
    assert client.get("/conversations/unread").json() == {"unread": 1}
    assert client.post("/conversations/read", {"phone": "+447700900999"}).status_code == 302
    assert client.get("/conversations/unread").json() == {"unread": 0}


def test_the_inbox_lists_unread_threads_first_with_links_to_their_orders(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        first = _order("First", phone="+447700900111")
        second = _order("Second", phone="+447700900222")
    _inbound(alpha.host, "first text", sid="SM" + "a" * 32, phone="+447700900111")
    _inbound(alpha.host, "second text", sid="SM" + "b" * 32, phone="+447700900222")
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert client.post(f"/conversations/orders/{second.pk}/read").status_code == 302
    inbox = client.get("/conversations/").content.decode()
    assert inbox.index("first text") < inbox.index("second text")  # unread first
    assert f'href="/orders/{first.pk}/' in inbox and f'href="/orders/{second.pk}/' in inbox


def _answer(client, order: Order, body: str, key: str | None = None, **extra):
    return client.post(
        f"/conversations/orders/{order.pk}/answer",
        {"body": body, "key": key or new_send_key()},
        HTTP_ACCEPT="application/json",
        **extra,
    )


def test_the_answer_goes_out_through_twilio_from_the_tenants_sender(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Answered")
        NotificationSettings.objects.update_or_create(pk=1, defaults={"sms_sender": "AlphaShop"})
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = _answer(client, order, "  We will leave it with the neighbour.  ")
    assert response.status_code == 201, response.content
    payload = response.json()
    assert payload["message"]["status"] == "sent" and payload["next_key"]
    (sent,) = twilio.messages
    assert (sent["From"], sent["To"], sent["Body"]) == (
        "AlphaShop",
        PHONE,
        "We will leave it with the neighbour.",
    )
    with schema_context(alpha.tenant.schema_name):
        message = CustomerMessage.objects.get()
    assert message.direction == "out" and message.sent_by.email == alpha.dispatcher_email
    assert message.provider_id == sent["sid"]
    assert sent["StatusCallback"] == (
        f"https://{alpha.host}/notifications/twilio/answer-status?key={message.send_key}"
    )
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "We will leave it with the neighbour." in page


def test_without_a_sender_of_its_own_the_answer_comes_from_the_platforms_number(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Platform")
    response = _answer(login_client(alpha.host, alpha.dispatcher_email), order, "On our way")
    assert response.status_code == 201
    assert twilio.messages[0]["From"] == "+447700900000"


def test_a_customer_who_answered_stop_gets_no_answer(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Opted out")
        SmsOptOut.objects.create(phone=PHONE)
    response = _answer(login_client(alpha.host, alpha.dispatcher_email), order, "Hello?")
    assert response.status_code == 400
    assert "answered STOP" in response.json()["errors"]["body"][0]
    assert twilio.messages == []
    with schema_context(alpha.tenant.schema_name):
        assert not CustomerMessage.objects.exists()


@pytest.mark.parametrize("body", ["", "   ", "x" * 1601])
def test_an_empty_or_too_long_answer_is_a_field_error_and_sends_nothing(alpha, twilio, body):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Refused")
    response = _answer(login_client(alpha.host, alpha.dispatcher_email), order, body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["body"]
    assert twilio.messages == []


def test_the_longest_answer_allowed_goes(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Long")
    response = _answer(login_client(alpha.host, alpha.dispatcher_email), order, "y" * 1600)
    assert response.status_code == 201 and len(twilio.messages) == 1


def test_the_same_form_sent_twice_sends_one_answer(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Double")
    client = login_client(alpha.host, alpha.dispatcher_email)
    key = new_send_key()
    first = _answer(client, order, "Coming at 3", key=key)
    second = _answer(client, order, "Coming at 3", key=key)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["message"]["id"] == second.json()["message"]["id"]
    assert len(twilio.messages) == 1
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.count() == 1


def test_a_plain_form_post_answers_and_goes_back_to_the_order(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Plain")
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    key = page.split('name="key" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/conversations/orders/{order.pk}/answer", {"body": "Hi", "key": key})
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/#order-conversation"
    assert len(twilio.messages) == 1


def test_a_provider_failure_is_shown_on_the_message_not_a_500(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Failing")
    twilio.fail_next(400, 21211)
    response = _answer(login_client(alpha.host, alpha.dispatcher_email), order, "Hello")
    assert response.status_code == 201
    message = response.json()["message"]
    assert message["status"] == "failed" and "21211" in message["error"]


def test_status_reports_move_the_answer_forward_and_need_the_signature(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Reported")
    _answer(login_client(alpha.host, alpha.dispatcher_email), order, "Hello")
    (sent,) = twilio.messages
    with schema_context(alpha.tenant.schema_name):
        message = CustomerMessage.objects.get()
    path = f"/notifications/twilio/answer-status?key={message.send_key}"
    client = host_client(alpha.host)
    params = {"MessageSid": sent["sid"], "MessageStatus": "delivered"}
    assert client.post(path, params).status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"
    assert _signed(client, alpha.host, path, params).status_code == 204
    late = {"MessageSid": sent["sid"], "MessageStatus": "sent"}
    assert _signed(client, alpha.host, path, late).status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered"


def test_the_thread_as_json_for_a_page_whose_socket_came_back(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Reconnected")
        _order("Another", phone="+447700900777")
    _inbound(alpha.host, "while you were away", sid="SM" + "f" * 32)
    _inbound(alpha.host, "not this order", sid="SM" + "0" * 32, phone="+447700900777")
    client = login_client(alpha.host, alpha.dispatcher_email)
    answer = client.get(f"/conversations/orders/{order.pk}/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    data = answer.json()
    assert [m["body"] for m in data["messages"]] == ["while you were away"]
    assert data["order"] == order.pk and data["unread"] == 2


def test_opening_the_order_page_marks_its_texts_read(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Reader")
    _inbound(alpha.host, "are you close?", sid="SM" + "c" * 32)
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "are you close?" in page and 'data-unread="1"' in page
    read = client.post(f"/conversations/orders/{order.pk}/read", HTTP_ACCEPT="application/json")
    assert read.json() == {"read": 1, "unread": 0}
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.get().read_at is not None


def test_the_same_customer_in_two_tenants_texts_each_one_separately(alpha, beta, twilio):
    """Ids repeat across schemas: alpha's and beta's orders may share a number and a pk."""
    with schema_context(alpha.tenant.schema_name):
        a_order = _order("Shared A")
    with schema_context(beta.tenant.schema_name):
        b_order = _order("Shared B")
    assert _inbound(alpha.host, "for alpha only", sid="SM" + "d" * 32).status_code == 200
    with schema_context(beta.tenant.schema_name):
        assert not CustomerMessage.objects.exists()
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.get().order_id == a_order.pk
    beta_client = login_client(beta.host, beta.dispatcher_email)
    # beta's dispatcher on beta's host: beta's order of the same id shows none of alpha's text
    page = beta_client.get(f"/orders/{b_order.pk}/").content.decode()
    assert "for alpha only" not in page
    assert "for alpha only" not in beta_client.get("/conversations/").content.decode()
    assert beta_client.get("/conversations/unread").json() == {"unread": 0}
    # beta's session on alpha's host signs nobody in: no reading, no answering
    beta_client.defaults["HTTP_HOST"] = alpha.host
    assert beta_client.get("/conversations/").status_code in (302, 403)
    refused = beta_client.post(
        f"/conversations/orders/{a_order.pk}/answer", {"body": "x", "key": new_send_key()}
    )
    assert refused.status_code in (302, 403)
    assert beta_client.post(f"/conversations/orders/{a_order.pk}/read").status_code in (302, 403)
    assert twilio.messages == []
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.get().read_at is None


def test_a_driver_may_not_read_or_answer(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Driverless")
    client = login_client(alpha.host, alpha.driver_email)
    assert client.get("/conversations/").status_code == 403
    assert _answer(client, order, "hi").status_code == 403
    assert twilio.messages == []


def test_the_socket_payload_is_json_and_says_a_stop_at_once(
    alpha, twilio, layer, django_capture_on_commit_callbacks
):
    """What goes over the channel layer must serialise (Redis in production); a STOP tells
    the open order page to close its answer box."""
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(dispatch_group(alpha.tenant.schema_name), channel)
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(alpha.host, "STOP", sid="SM" + "e" * 32, phone="+447700900888")
    event = json.loads(json.dumps(async_to_sync(layer.receive)(channel)))
    assert event["order"] is None and event["opted_out"] is True


def test_an_old_stop_delivered_again_does_not_undo_the_start_that_followed(alpha, twilio):
    """Twilio redelivers a webhook it did not see answered, possibly after later texts."""
    with schema_context(alpha.tenant.schema_name):
        _order("Changed mind")
    assert _inbound(alpha.host, "STOP", sid="SM" + "f1" * 16).status_code == 200
    assert _inbound(alpha.host, "START", sid="SM" + "f2" * 16).status_code == 200
    assert _inbound(alpha.host, "STOP", sid="SM" + "f1" * 16).status_code == 200
    with schema_context(alpha.tenant.schema_name):
        assert not SmsOptOut.objects.filter(phone=PHONE).exists()
        assert list(CustomerMessage.objects.values_list("body", flat=True)) == ["STOP", "START"]


@pytest.mark.parametrize(
    "params",
    [
        {"To": "+447700900000", "Body": "STOP", "MessageSid": "SM" + "a1" * 16},
        {"From": "", "To": "+447700900000", "Body": "hello", "MessageSid": "SM" + "a2" * 16},
        {"From": PHONE, "MessageSid": "SM" + "a3" * 16},
        {"From": PHONE, "To": "+447700900999"},
    ],
    ids=["no-from", "empty-from", "no-body-no-to", "no-sid-unknown-to"],
)
def test_odd_inbound_fields_answer_empty_twiml_never_a_500(alpha, twilio, params):
    response = _signed(host_client(alpha.host), alpha.host, INBOUND, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert response.content.decode() == "<Response/>"
    with schema_context(alpha.tenant.schema_name):
        assert not SmsOptOut.objects.filter(phone="").exists()
        # a text with no sender is nobody's: nothing kept; one with a sender is kept
        kept = list(CustomerMessage.objects.values_list("phone", "body"))
        assert kept == ([] if not params.get("From") else [(PHONE, "")])


def test_a_text_reaches_only_its_own_tenants_dispatchers(
    alpha, beta, twilio, layer, django_capture_on_commit_callbacks
):
    """The group carries the schema: beta's dispatchers hear nothing of alpha's customer."""
    mine = async_to_sync(layer.new_channel)()
    theirs = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(dispatch_group(alpha.tenant.schema_name), mine)
    async_to_sync(layer.group_add)(dispatch_group(beta.tenant.schema_name), theirs)
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(alpha.host, "alpha's customer", sid="SM" + "b1" * 16)
    assert async_to_sync(layer.receive)(mine)["message"]["body"] == "alpha's customer"
    with pytest.raises(asyncio.TimeoutError):
        async_to_sync(asyncio.wait_for)(layer.receive(theirs), 0.2)


def test_the_inbox_pages_through_every_thread_unread_first(alpha, twilio):
    """More threads than any page (or any cap) holds: the oldest is still on the last page,
    and an old unread one still leads the first."""
    total = 503
    with schema_context(alpha.tenant.schema_name):
        orders = Order.objects.bulk_create(
            Order(customer_name=f"Many {k}", customer_phone=f"+4477009{k:05d}")
            for k in range(total)
        )
        CustomerMessage.objects.bulk_create(
            CustomerMessage(
                order=order,
                direction=CustomerMessage.Direction.INBOUND,
                phone=order.customer_phone,
                body=f"text number {k:03d}.",
                status=CustomerMessage.Status.RECEIVED,
                read_at=None if k == 1 else timezone.now(),
            )
            for k, order in enumerate(orders)
        )
    client = login_client(alpha.host, alpha.dispatcher_email)
    first = client.get("/conversations/").content.decode()
    assert first.count('class="is-unread"') == 1
    assert first.index("text number 001.") < first.index(f"text number {total - 1:03d}.")
    pages = -(-total // 50)
    assert f"Page 1 of {pages}" in first
    last = client.get(f"/conversations/?page={pages}").content.decode()
    assert "text number 000." in last and "text number 001." not in last
    assert last.count("<tr class=") == total - 50 * (pages - 1)


def test_a_key_used_on_another_order_is_refused_and_sends_nothing_more(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        first = _order("Keyed")
        other = _order("Other", phone="+447700900444")
    client = login_client(alpha.host, alpha.dispatcher_email)
    key = new_send_key()
    assert _answer(client, first, "For the first", key=key).status_code == 201
    reused = _answer(client, other, "For the other", key=key)
    assert reused.status_code == 400 and list(reused.json()["errors"]) == ["key"]
    assert [m["To"] for m in twilio.messages] == [PHONE]


def test_a_provider_failure_on_a_plain_form_post_is_said_on_the_order_page(alpha, twilio):
    with schema_context(alpha.tenant.schema_name):
        order = _order("Plain failing")
    twilio.fail_next(400, 21211)
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post(
        f"/conversations/orders/{order.pk}/answer",
        {"body": "Hello", "key": new_send_key()},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "The answer was not sent" in page and "21211" in page
    with schema_context(alpha.tenant.schema_name):
        assert CustomerMessage.objects.get().status == "failed"
