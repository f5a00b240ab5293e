"""Outgoing webhooks against a real HTTP receiver on loopback: signed deliveries a client
can verify, retries with backoff after a 500, no delivery to a private, loopback or
link-local address (when saved, when sent, and behind a redirect), the receiver's answer
never kept; the events; the API and the owner's pages; tenants kept apart."""

from __future__ import annotations

import datetime as dt
import json
import socket

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook

from dispatch.models import Order
from dispatch.services.orders import orders_create
from tests.conftest import api_client, login_client, tenant_today
from tests.webhooks.receiver import running_receiver
from webhooks import services
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db

ORDER = {
    "customer_name": "Hook Customer",
    "address_line1": "1 High St",
    "lat": 51.5,
    "lng": -0.1,
    "delivery_date": str(tenant_today(1)),
}


@pytest.fixture
def hooks(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True  # the receiver is on loopback; tests below turn it off
    settings.WEBHOOK_RETRY_BASE_S = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    with running_receiver() as receiver:
        yield receiver


def _subscribe(url: str, events=("order.created",)) -> Subscription:
    return services.subscription_create(url=url, events=list(events), actor="test")


def _create_order(captured, **fields) -> Order:
    with captured(execute=False):
        (result,) = orders_create([{**ORDER, **fields}], source="api", actor="test")
    return Order.objects.get(pk=result.id)


def _due_now() -> None:
    Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())


def test_a_delivery_is_signed_so_the_client_can_verify_it(
    alpha, hooks, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    with schema_context(alpha.tenant.schema_name):
        subscription = _subscribe(hooks.url)
        with django_capture_on_commit_callbacks(execute=True):
            (result,) = orders_create([{**ORDER, "external_id": "H-1"}], source="api", actor="t")
        (delivery,) = Delivery.objects.all()
        queued = [q.name() for q in OrmQ.objects.all()]
        assert f"{alpha.tenant.schema_name}:webhook-{delivery.pk}" in queued
        assert services.deliver(delivery.pk) == "delivered"
        assert services.deliver(delivery.pk) == "delivered"  # the job again: nothing sent
        delivery.refresh_from_db()
        tries = list(delivery.tries.values_list("status_code", "error"))
        kept = json.dumps(
            [list(Delivery.objects.values()), list(delivery.tries.values())], default=str
        )
    (request,) = hooks.requests
    payload = Webhook(subscription.secret).verify(request["body"], request["headers"])
    assert payload["type"] == "order.created" and payload["id"] == delivery.message_id
    assert payload["data"]["order"]["id"] == result.id
    assert payload["data"]["order"]["external_id"] == "H-1"
    assert request["headers"]["webhook-id"] == delivery.message_id
    forged = {**request["headers"], "webhook-signature": "v1,AAAA"}
    with pytest.raises(Exception, match="signature"):
        Webhook(subscription.secret).verify(request["body"], forged)
    assert tries == [(200, "")] and delivery.delivered_at is not None
    assert "secret the receiver" not in kept  # the receiver's answer is never kept


def test_a_bulk_import_records_one_delivery_per_order_and_subscriber_once(
    alpha, hooks, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    from dispatch.signals import orders_created

    with schema_context(alpha.tenant.schema_name):
        first = _subscribe(hooks.url)
        second = _subscribe(hooks.url + "b")
        _subscribe(hooks.url + "c", events=("order.status_changed",))  # wants no creations
        rows = [{**ORDER, "external_id": f"B-{n}"} for n in range(5)]
        with django_capture_on_commit_callbacks(execute=True):
            results = orders_create(rows, source="api", actor="t")
        ids = [r.id for r in results]
        stored = Delivery.objects.order_by("pk")
        assert sorted((d.subscription_id, d.key) for d in stored) == sorted(
            (s.pk, f"order.created:{i}") for s in (first, second) for i in ids
        )
        assert len({d.message_id for d in stored}) == 10
        for delivery in stored:
            assert delivery.payload["id"] == delivery.message_id
            assert delivery.payload["data"]["order"]["id"] == int(delivery.key.split(":")[1])
        assert {f"{alpha.tenant.schema_name}:webhook-{d.pk}" for d in stored} <= {
            q.name() for q in OrmQ.objects.all()
        }

        # the signal again (a retried batch): nothing more recorded, no webhook job queued
        def webhook_jobs() -> int:
            return sum(":webhook-" in q.name() for q in OrmQ.objects.all())

        queued = webhook_jobs()
        with django_capture_on_commit_callbacks(execute=True):
            orders_created.send(sender=Order, order_ids=ids)
        assert Delivery.objects.count() == 10
        assert webhook_jobs() == queued == 10


def test_without_a_subscriber_a_bulk_import_reads_no_orders_for_webhooks(alpha):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from webhooks.receivers import on_orders_created

    with schema_context(alpha.tenant.schema_name):
        Subscription.objects.create(url="http://x.example/", events=["order.eta_changed"])
        with CaptureQueriesContext(connection) as queries:
            on_orders_created(Order, order_ids=list(range(1, 1001)))
        read = [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"]]
        assert len(read) == 1 and Subscription._meta.db_table in read[0]  # never the orders
        assert not Delivery.objects.exists()


def test_a_500_is_retried_with_exponential_backoff(
    alpha, hooks, django_capture_on_commit_callbacks
):
    hooks.answers = [500, 503]
    with schema_context(alpha.tenant.schema_name):
        _subscribe(hooks.url)
        _create_order(django_capture_on_commit_callbacks)
        (delivery,) = Delivery.objects.all()
        before = timezone.now()
        assert services.deliver(delivery.pk) == "pending"
        delivery.refresh_from_db()
        first_wait = delivery.next_attempt_at - before
        assert services.deliver(delivery.pk) == "pending"  # not due yet: nothing sent
        assert len(hooks.requests) == 1
        _due_now()
        before = timezone.now()
        assert services.deliver(delivery.pk) == "pending"
        delivery.refresh_from_db()
        second_wait = delivery.next_attempt_at - before
        _due_now()
        assert services.deliveries_due() == 1
        assert services.deliver(delivery.pk) == "delivered"
        delivery.refresh_from_db()
        tries = list(delivery.tries.values_list("status_code", flat=True))
    assert dt.timedelta(seconds=29) < first_wait <= dt.timedelta(seconds=31)
    assert dt.timedelta(seconds=59) < second_wait <= dt.timedelta(seconds=61)
    assert tries == [500, 503, 200] and delivery.attempts == 3
    ids = {r["headers"]["webhook-id"] for r in hooks.requests}
    assert len(ids) == 1, "a retry repeats the webhook-id"


def test_tries_run_out_then_a_replay_sends_it_again(
    alpha, hooks, django_capture_on_commit_callbacks
):
    hooks.answers = [500, 500, 500]
    with schema_context(alpha.tenant.schema_name):
        _subscribe(hooks.url)
        _create_order(django_capture_on_commit_callbacks)
        (delivery,) = Delivery.objects.all()
        for _ in range(3):
            _due_now()
            services.deliver(delivery.pk)
        delivery.refresh_from_db()
        assert delivery.status == "failed" and delivery.last_error == "the receiver answered 500"
        services.delivery_replay(delivery=delivery)
        assert services.deliver(delivery.pk) == "delivered"
    assert len(hooks.requests) == 4


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.10/",
        "http://[::1]/hooks",
        "http://[::127.0.0.1]/hooks",  # IPv4-compatible: 127.0.0.1
        "http://[64:ff9b::7f00:1]/hooks",  # NAT64: 127.0.0.1 on a NAT64 network
        "http://[64:ff9b::a00:1]/hooks",  # NAT64: 10.0.0.1
        "http://[2002:a9fe:a9fe::]/latest/meta-data/",  # 6to4: 169.254.169.254
        "http://[::ffff:127.0.0.1]/hooks",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "ftp://hooks.example.com/",
        "http://user:pass@hooks.example.com/",
        "not a url",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused_when_saved(alpha, settings, url):
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    with schema_context(alpha.tenant.schema_name):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError) as refused:
            _subscribe(url)
        assert "url" in refused.value.message_dict
        assert not Subscription.objects.exists()


def test_loopback_is_refused_unless_allowed_even_with_a_listener_there(
    alpha, hooks, settings, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        _subscribe(hooks.url)  # saved while loopback was allowed
        settings.WEBHOOK_ALLOW_LOOPBACK = False
        _create_order(django_capture_on_commit_callbacks)
        (delivery,) = Delivery.objects.all()
        assert services.deliver(delivery.pk) == "pending"
        delivery.refresh_from_db()
    assert hooks.requests == [], "nothing may reach a blocked address"
    assert delivery.last_error.startswith("blocked: 127.0.0.1")


def test_a_host_that_turns_private_after_it_was_saved_is_blocked_when_sent(
    alpha, hooks, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """DNS rebinding: public when checked, the receiver's loopback when sent."""
    real = socket.getaddrinfo
    answer = {"ip": "93.184.215.14"}

    def resolve(host, port, *args, **kwargs):
        if host == "hooks.customer.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["ip"], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    port = hooks.url.split(":")[2].split("/")[0]
    with schema_context(alpha.tenant.schema_name):
        _subscribe(f"http://hooks.customer.test:{port}/hooks")
        answer["ip"] = "127.0.0.1"  # where the receiver listens
        _create_order(django_capture_on_commit_callbacks)
        (delivery,) = Delivery.objects.all()
        services.deliver(delivery.pk)
        delivery.refresh_from_db()
    assert hooks.requests == []
    assert delivery.last_error.startswith("blocked") and delivery.status == "pending"


def test_a_redirect_to_a_blocked_address_is_never_followed(
    alpha, hooks, django_capture_on_commit_callbacks
):
    with running_receiver() as internal:
        hooks.redirect_to = internal.url  # "internal": what a redirect must not reach
        with schema_context(alpha.tenant.schema_name):
            _subscribe(hooks.url)
            _create_order(django_capture_on_commit_callbacks)
            (delivery,) = Delivery.objects.all()
            assert services.deliver(delivery.pk) == "pending"
            delivery.refresh_from_db()
        assert len(hooks.requests) == 1 and internal.requests == []
    assert delivery.last_error == "redirect (302) not followed"
    assert delivery.last_status_code == 302


def test_status_route_and_eta_events_reach_their_subscribers_once(
    alpha, hooks, django_capture_on_commit_callbacks
):
    from notifications.signals import eta_window_changed
    from tests.tracking.helpers import orders_on, solved_day
    from tracking.models import EtaPromise
    from tracking.services.day import stop_event

    with schema_context(alpha.tenant.schema_name):
        _subscribe(
            hooks.url,
            events=[
                "order.status_changed",
                "route.published",
                "route.completed",
                "order.eta_changed",
            ],
        )
        with django_capture_on_commit_callbacks(execute=False):
            day = solved_day("hooked", alpha.user_ids[alpha.driver_email])
            for order_id in orders_on(day.mine):
                stop_event(driver=day.driver, order_id=order_id, event="delivered")
            order = Order.objects.get(pk=orders_on(day.other)[0])
            now = timezone.now()
            kwargs = {"order": order, "starts_at": now, "ends_at": now, "eta": now, "changes": 1}
            eta_window_changed.send(sender=EtaPromise, **kwargs)
            eta_window_changed.send(sender=EtaPromise, **kwargs)  # the same change again
        events = list(Delivery.objects.values_list("event", flat=True))
        completed = Delivery.objects.get(event="route.completed")
        versions = {
            p.payload["data"]["route"]["version"]
            for p in Delivery.objects.filter(event="route.published")
        }
        stops = len(orders_on(day.mine))
    assert events.count("route.published") == 2  # both vans, once each
    assert events.count("route.completed") == 1  # only the route whose stops are all done
    assert events.count("order.eta_changed") == 1
    # per stop: planned, dispatched at publish; en route, arrived, delivered by the driver
    assert events.count("order.status_changed") == 2 * 6 + 3 * stops
    assert completed.payload["data"]["route"]["id"] == day.mine.pk
    assert completed.payload["data"]["delivered"] == stops
    assert versions == {1}


def test_the_api_manages_subscriptions_and_reads_and_replays_deliveries(alpha, beta, hooks):
    with schema_context(beta.tenant.schema_name):  # beta's subscription, the same id as alpha's
        theirs = Subscription.objects.create(
            pk=4242, url="http://127.0.0.1:9/x", events=["order.created"]
        )
    with schema_context(alpha.tenant.schema_name):
        Subscription.objects.create(pk=4242, url=hooks.url, events=["order.created"])
    client = api_client(alpha.host, alpha.api_key)
    created = client.post(
        "/api/v1/webhooks", {"url": hooks.url, "events": ["order.created"]}, format="json"
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    bad = client.post(
        "/api/v1/webhooks", {"url": "http://10.1.2.3/", "events": ["nope"]}, format="json"
    )
    assert bad.status_code == 400 and {"url", "events"} <= set(bad.json()["errors"])
    assert client.post("/api/v1/webhooks", [1], format="json").status_code == 400
    # a secret of the client's own is refused, not silently replaced by ours
    own = {"url": hooks.url, "events": ["order.created"], "secret": "whsec_mine"}
    refused = client.post("/api/v1/webhooks", own, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["secret"] == ["Made by the server; it cannot be set."]
    patched = client.patch(f"/api/v1/webhooks/{created.json()['id']}", {"colour": 1}, format="json")
    assert patched.status_code == 400 and set(patched.json()["errors"]) == {"colour"}
    listed = client.get("/api/v1/webhooks").json()
    assert {s["url"] for s in listed} == {hooks.url} and theirs.secret not in str(listed)
    order = client.post("/api/v1/orders", ORDER, format="json")
    assert order.status_code == 201
    deliveries = client.get("/api/v1/webhooks/4242/deliveries").json()["results"]
    assert [d["event"] for d in deliveries] == ["order.created"]
    assert deliveries[0]["payload"]["data"]["order"]["id"] == order.json()["id"]
    replay = client.post(f"/api/v1/webhooks/4242/deliveries/{deliveries[0]['id']}/replay")
    assert replay.status_code == 202 and replay.json()["status"] == "pending"
    assert client.get("/api/v1/webhooks/4242/deliveries?status=bogus").status_code == 400
    paused = client.patch("/api/v1/webhooks/4242", {"active": False}, format="json")
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert client.delete(f"/api/v1/webhooks/{created.json()['id']}").status_code == 204
    # other principals and other tenants
    assert api_client(alpha.host, alpha.read_key).get("/api/v1/webhooks").status_code == 403
    assert (
        login_client(alpha.host, alpha.dispatcher_email).get("/api/v1/webhooks").status_code == 403
    )
    assert login_client(alpha.host, alpha.owner_email).get("/api/v1/webhooks").status_code == 200
    assert api_client(alpha.host, beta.api_key).get("/api/v1/webhooks").status_code == 401
    beta_client = api_client(beta.host, beta.api_key)
    assert beta_client.get("/api/v1/webhooks/4242").json()["url"] == "http://127.0.0.1:9/x"
    assert beta_client.get("/api/v1/webhooks/4242/deliveries").json()["results"] == []
    with schema_context(beta.tenant.schema_name):
        assert Subscription.objects.get(pk=4242).active is True


def test_the_owner_adds_and_watches_a_webhook_on_its_page(alpha, hooks):
    owner = login_client(alpha.host, alpha.owner_email)
    refused = owner.post(
        "/settings/webhooks/", {"url": "http://169.254.169.254/", "events": ["order.created"]}
    )
    assert refused.status_code == 400 and b"public addresses only" in refused.content
    added = owner.post("/settings/webhooks/", {"url": hooks.url, "events": ["order.created"]})
    assert added.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        subscription = Subscription.objects.get()
    page = owner.get(added["Location"]).content.decode()
    assert subscription.secret in page and "Nothing sent yet." in page
    assert (
        login_client(alpha.host, alpha.dispatcher_email).get("/settings/webhooks/").status_code
        == 403
    )
    paused = owner.post(f"/settings/webhooks/{subscription.pk}/action", {"action": "pause"})
    assert paused.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        assert Subscription.objects.get().active is False
    assert owner.get(f"/settings/webhooks/{subscription.pk + 1}/").status_code == 404
