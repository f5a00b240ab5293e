"""Shopify webhooks through the tenant's host: signature, deduplication, queueing, and
what each topic does to orders (stale updates, cancellations, compliance redaction),
tenant by tenant."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

import dispatch.tasks
from dispatch.models import Order, ShopifyIntegration, WebhookEvent
from dispatch.services import shopify, store_intake
from dispatch.services.orders import order_transition
from tests.conftest import FIXED_NOW, host_client
from tests.dispatch import shopify_payloads as sp

# Literal December 2026 dates below: the clock is pinned before them.
# their dates are fixed: the clock is too (time-machine, ticking from FIXED_NOW)
pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

URL = "/api/v1/integrations/shopify/webhooks"
JON = str(sp.ORDER["id"])


@pytest.fixture
def store(alpha):
    with schema_context("alpha"):
        return shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)


def deliver(host: str, payload: dict, *, topic="orders/create", event_id="ev-1", **kwargs):
    raw = sp.body(payload)
    return post_raw(host, raw, sp.headers(raw, topic=topic, event_id=event_id, **kwargs))


def post_raw(host: str, raw: bytes, headers: dict):
    return host_client(host).post(URL, raw, content_type="application/json", **headers)


def process_all(schema: str) -> list[str]:
    """What the background job does, for every stored event (jobs do not run in tests)."""
    with schema_context(schema):
        return [
            shopify.webhook_event_process(pk)
            for pk in WebhookEvent.objects.order_by("pk").values_list("pk", flat=True)
        ]


def nothing_stored(schema: str = "alpha") -> bool:
    with schema_context(schema):
        return not WebhookEvent.objects.exists() and not Order.objects.exists()


def event(event_id: str, schema: str = "alpha") -> WebhookEvent:
    with schema_context(schema):
        return WebhookEvent.objects.get(event_id=event_id)


# --- receiving ------------------------------------------------------------------------


def test_a_signed_order_becomes_an_order_with_its_details(alpha, store):
    response = deliver(alpha.host, sp.order())
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "event_id": "ev-1"}
    assert process_all("alpha") == ["processed"]
    with schema_context("alpha"):
        order = Order.objects.get()
        stored = WebhookEvent.objects.get()
    assert (stored.topic, stored.shop_domain, stored.payload["id"]) == (
        "orders/create",
        sp.SHOP,
        sp.ORDER["id"],
    )
    assert stored.detail == f"Order {order.pk} created." and stored.processed_at
    assert (order.source, order.external_id) == ("shopify", JON)
    assert order.customer_name == "Jon Snow"
    assert order.customer_phone == "+442079460770"  # the shipping phone, read in GB
    assert order.customer_email == "jon@example.com"
    assert (order.address_line1, order.address_line2, order.city, order.postcode) == (
        "221B Baker Street",
        "Flat 2",
        "London",
        "NW1 6XE",
    )
    assert (order.region, order.country) == ("England", "GB")
    assert (order.lat, order.lng, order.geocode_status) == (51.5237715, -0.1585557, "provided")
    assert order.delivery_date == dt.date(2026, 12, 2)
    assert order.time_windows == [{"start": "09:00", "end": "12:00"}]
    assert (order.items, str(order.weight_kg)) == (3, "2.45")  # digital items are not delivered
    assert order.notes == "Please ring the bell twice"
    assert order.source_updated_at == dt.datetime(2026, 11, 24, 15, 15, tzinfo=dt.UTC)
    assert order.events.get().actor == f"shopify:{sp.SHOP}"


@pytest.mark.parametrize(
    ("tamper", "kwargs"),
    [
        ("body", {}),
        (None, {"secret": "shpss_wrong_secret_0000000000000"}),
        (None, {"shop": "other-store.myshopify.com"}),
    ],
    ids=["tampered-body", "wrong-secret", "unknown-shop"],
)
def test_wrong_signatures_and_stores_are_401_and_store_nothing(alpha, store, tamper, kwargs):
    raw = sp.body(sp.order())
    headers = sp.headers(raw, topic="orders/create", event_id="ev-x", **kwargs)
    if tamper == "body":
        raw = raw.replace(b"Baker Street", b"Evil Street")
    response = post_raw(alpha.host, raw, headers)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert nothing_stored()


@pytest.mark.parametrize("missing", ["HTTP_X_SHOPIFY_HMAC_SHA256", "HTTP_X_SHOPIFY_SHOP_DOMAIN"])
def test_missing_headers_are_401_and_store_nothing(alpha, store, missing):
    raw = sp.body(sp.order())
    headers = sp.headers(raw, topic="orders/create", event_id="ev-m")
    headers.pop(missing)
    assert post_raw(alpha.host, raw, headers).status_code == 401
    assert nothing_stored()


def test_a_store_of_another_tenant_is_refused_here(alpha, beta):
    with schema_context("beta"):
        shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
    assert deliver(alpha.host, sp.order()).status_code == 401  # alpha has no such store
    assert nothing_stored("alpha")
    assert deliver(beta.host, sp.order()).status_code == 200
    assert event("ev-1", "beta").shop_domain == sp.SHOP


def test_a_disconnected_store_is_refused(alpha, store):
    with schema_context("alpha"):
        shopify.integration_deactivate(integration=store)
    assert deliver(alpha.host, sp.order()).status_code == 401
    assert nothing_stored()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json at all",
        b"[1, 2]",
        b'{"id": NaN}',
        b'{"note": "\\u0000"}',
        b'{"note": "x\\ud800y"}',
        b'{"x\\udfff": 1}',
        b"[" * 100_000,
    ],
    ids=["text", "array", "nan", "nul-char", "lone-surrogate", "surrogate-key", "deep"],
)
def test_signed_but_unusable_bodies_are_400_and_store_nothing(alpha, store, raw):
    headers = sp.headers(raw, topic="orders/create", event_id="ev-j")
    response = post_raw(alpha.host, raw, headers)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert nothing_stored()


def test_the_webhook_id_identifies_a_delivery_without_an_event_id(alpha, store):
    raw = sp.body(sp.order())
    headers = sp.headers(raw, topic="orders/create", event_id="ignored")
    headers.pop("HTTP_X_SHOPIFY_EVENT_ID")
    headers["HTTP_X_SHOPIFY_WEBHOOK_ID"] = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    first, again = post_raw(alpha.host, raw, headers), post_raw(alpha.host, raw, headers)
    assert first.json() == {"status": "accepted", "event_id": headers["HTTP_X_SHOPIFY_WEBHOOK_ID"]}
    assert again.json()["status"] == "duplicate"


def test_an_overlong_topic_is_kept_shortened(alpha, store):
    assert deliver(alpha.host, sp.order(), topic="x" * 300).status_code == 200
    assert process_all("alpha") == ["ignored"]
    assert len(event("ev-1").topic) == 100


def test_repeated_deliveries_of_one_event_create_one_order(alpha, store):
    answers = [deliver(alpha.host, sp.order(), event_id="same").json()["status"] for _ in range(5)]
    assert answers == ["accepted"] + ["duplicate"] * 4
    assert process_all("alpha") == ["processed"]
    assert process_all("alpha") == ["processed"]  # a job run twice changes nothing
    with schema_context("alpha"):
        assert Order.objects.count() == 1 and WebhookEvent.objects.count() == 1
        assert Order.objects.get().events.count() == 1


def test_the_endpoint_queues_the_job_that_applies_the_event(
    alpha, store, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    original_sync, Conf.SYNC = Conf.SYNC, True  # the queued job runs inline
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert deliver(alpha.host, sp.order()).status_code == 200
    finally:
        Conf.SYNC = original_sync
    # the endpoint queued one job (the jobs it set off, like the customer's order
    # confirmation, queue their own after it)
    assert callbacks[0].__qualname__.startswith("event_store")
    assert sum(c.__qualname__.startswith("event_store") for c in callbacks) == 1
    assert event("ev-1").status == "processed"
    with schema_context("alpha"):
        assert Order.objects.get().external_id == JON


def test_a_delivery_whose_job_cannot_be_queued_is_503_and_queued_on_a_retry(
    alpha, store, monkeypatch
):
    # Outside a test's transaction, on_commit runs at once: make it so here.
    monkeypatch.setattr(shopify.transaction, "on_commit", lambda func, **kwargs: func())

    def broken(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(shopify, "enqueue_for_tenant", broken)
    assert deliver(alpha.host, sp.order()).status_code == 503
    assert event("ev-1").status == "received"  # kept, for the retry

    queued = []
    monkeypatch.setattr(shopify, "enqueue_for_tenant", lambda *a, **k: queued.append(a))
    assert deliver(alpha.host, sp.order()).json()["status"] == "duplicate"
    assert queued == []  # too soon: its first job may still be on its way
    with schema_context("alpha"):
        WebhookEvent.objects.update(received_at=timezone.now() - dt.timedelta(minutes=10))
    assert deliver(alpha.host, sp.order()).json()["status"] == "duplicate"
    assert queued == [(dispatch.tasks.shopify_webhook_process, event("ev-1").pk)]


# --- orders/create, orders/updated ------------------------------------------------------


def test_a_stale_update_changes_nothing_and_a_newer_one_applies(alpha, store):
    deliver(alpha.host, sp.order(updated_at="2026-11-24T12:00:00+00:00"))
    deliver(
        alpha.host,
        sp.order(updated_at="2026-11-24T11:00:00+00:00", note="old note"),
        topic="orders/updated",
        event_id="ev-old",
    )
    assert process_all("alpha") == ["processed", "ignored"]
    with schema_context("alpha"):
        assert Order.objects.get().notes == "Please ring the bell twice"
    assert event("ev-old").detail.startswith("Older than")
    deliver(
        alpha.host,
        sp.order(updated_at="2026-11-24T13:00:00+00:00", note="new note"),
        topic="orders/updated",
        event_id="ev-new",
    )
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        order = Order.objects.get()
    assert order.notes == "new note"
    assert order.source_updated_at == dt.datetime(2026, 11, 24, 13, tzinfo=dt.UTC)


def test_an_update_without_delivery_hints_keeps_the_date_and_window(alpha, store):
    deliver(alpha.host, sp.order())
    deliver(
        alpha.host,
        sp.order(updated_at="2026-11-25T09:00:00+00:00", note_attributes=[], note="Side door"),
        topic="orders/updated",
        event_id="ev-u",
    )
    assert process_all("alpha") == ["processed", "processed"]
    with schema_context("alpha"):
        order = Order.objects.get()
    assert (order.delivery_date, order.notes) == (dt.date(2026, 12, 2), "Side door")
    assert order.time_windows == [{"start": "09:00", "end": "12:00"}]


def test_an_update_for_an_unknown_order_creates_it_and_a_late_create_adds_nothing(alpha, store):
    deliver(
        alpha.host,
        sp.order(updated_at="2026-11-25T09:00:00+00:00"),
        topic="orders/updated",
        event_id="ev-u",
    )
    deliver(alpha.host, sp.order(), event_id="ev-create-late")
    assert process_all("alpha") == ["processed", "ignored"]
    with schema_context("alpha"):
        assert Order.objects.count() == 1


def test_an_order_out_for_delivery_keeps_its_details(alpha, store):
    deliver(alpha.host, sp.order())
    process_all("alpha")
    with schema_context("alpha"):
        order = Order.objects.get()
        for status in ("planned", "dispatched", "en_route"):
            order = order_transition(order=order, to=status, actor="user:test")
    deliver(
        alpha.host,
        sp.order(updated_at="2026-11-25T09:00:00+00:00", note="changed"),
        topic="orders/updated",
        event_id="ev-u",
    )
    assert process_all("alpha")[-1] == "ignored"
    assert "out for delivery" in event("ev-u").detail
    with schema_context("alpha"):
        assert Order.objects.get().notes == "Please ring the bell twice"


def test_a_contact_detail_we_cannot_use_is_left_out_not_the_delivery(alpha, store):
    address = {**sp.ORDER["shipping_address"], "phone": "12"}
    payload = sp.order(shipping_address=address, customer={}, email="not-an-email")
    deliver(alpha.host, payload)
    assert process_all("alpha") == ["processed"]
    with schema_context("alpha"):
        order = Order.objects.get()
    assert (order.customer_phone, order.customer_email) == ("", "")
    assert "customer phone '12' left out" in event("ev-1").detail


def test_an_order_that_cannot_be_taken_in_is_failed_with_the_reason(alpha, store):
    address = {**sp.ORDER["shipping_address"], "country_code": "XX"}
    deliver(alpha.host, sp.order(shipping_address=address))
    assert process_all("alpha") == ["failed"]
    assert event("ev-1").detail.startswith("country: 'XX' is not")
    with schema_context("alpha"):
        assert not Order.objects.exists()


def test_an_unexpected_error_fails_the_event_and_undoes_its_writes(alpha, store, monkeypatch):
    def create_then_break(event):
        incoming = shopify.incoming_order(event.payload)
        store_intake.order_apply(incoming, platform="shopify", store=sp.SHOP, country="")
        raise RuntimeError("boom")

    monkeypatch.setitem(shopify.HANDLERS, "orders/create", create_then_break)
    deliver(alpha.host, sp.order())
    assert process_all("alpha") == ["failed"]
    assert event("ev-1").detail == "Could not be applied (RuntimeError)."
    with schema_context("alpha"):
        assert not Order.objects.exists()


def test_orders_without_shipping_and_unknown_topics_are_ignored(alpha, store):
    deliver(alpha.host, sp.order(shipping_address=None), event_id="ev-pickup")
    deliver(alpha.host, {"id": 1}, topic="products/update", event_id="ev-p")
    assert process_all("alpha") == ["ignored", "ignored"]
    assert "no shipping address" in event("ev-pickup").detail
    assert event("ev-p").detail == "Topic 'products/update' is not used."


# --- orders/cancelled -------------------------------------------------------------------

CANCEL = {"cancelled_at": "2026-11-24T14:00:00Z", "updated_at": "2026-11-24T14:00:00Z"}


def test_cancellation_is_recorded_and_repeats_are_harmless(alpha, store):
    deliver(alpha.host, sp.order())
    cancel = sp.order(**CANCEL, cancel_reason="customer")
    deliver(alpha.host, cancel, topic="orders/cancelled", event_id="ev-c1")
    deliver(alpha.host, cancel, topic="orders/cancelled", event_id="ev-c2")
    assert process_all("alpha") == ["processed", "processed", "ignored"]
    with schema_context("alpha"):
        order = Order.objects.get()
        assert order.status == "cancelled"
        cancelled = order.events.get(to_status="cancelled")
    assert cancelled.reason == "Cancelled in Shopify (customer)"
    assert cancelled.actor == f"shopify:{sp.SHOP}"
    assert event("ev-c2").detail == f"Order {order.pk} is already cancelled."


def test_a_cancellation_that_overtakes_the_creation_still_cancels(alpha, store):
    cancel = sp.order(**CANCEL, cancel_reason="fraud")
    deliver(alpha.host, cancel, topic="orders/cancelled", event_id="ev-c")
    deliver(alpha.host, sp.order(), event_id="ev-create-late")
    assert process_all("alpha") == ["processed", "ignored"]
    with schema_context("alpha"):
        order = Order.objects.get()
    assert order.status == "cancelled"
    assert list(order.events.values_list("to_status", flat=True)) == ["unassigned", "cancelled"]


# --- compliance -------------------------------------------------------------------------


def _two_orders_in(host: str) -> None:
    deliver(host, sp.order())
    address = {**sp.ORDER["shipping_address"], "phone": "020 7946 0123"}
    other = sp.order(id=2, email="other@example.com", customer={}, shipping_address=address)
    deliver(host, other, event_id="ev-2")


def test_customers_redact_forgets_that_customer_only_in_this_tenant(alpha, beta, store):
    with schema_context("beta"):
        shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
    for host in (alpha.host, beta.host):
        _two_orders_in(host)
    process_all("alpha")
    process_all("beta")
    before = timezone.now()
    deliver(
        alpha.host,
        sp.redact_customer(ids=[sp.ORDER["id"]]),
        topic="customers/redact",
        event_id="ev-r",
    )
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        jon = Order.objects.get(external_id=JON)
        other = Order.objects.get(external_id="2")
    assert (jon.customer_name, jon.customer_email, jon.customer_phone) == ("Redacted", "", "")
    assert (jon.address_line1, jon.address_line2, jon.notes, jon.lat, jon.lng) == (
        "",
        "",
        "",
        None,
        None,
    )
    assert jon.updated_at >= before  # API clients syncing changes see it
    assert other.customer_email == "other@example.com"
    assert event("ev-1").payload == {}  # the stored body of its order is forgotten too
    assert event("ev-2").payload["id"] == 2
    assert event("ev-r").payload == {
        "customer": {"id": sp.ORDER["customer"]["id"]},
        "orders_to_redact": [JON],
    }
    with schema_context("beta"):
        assert Order.objects.get(external_id=JON).customer_name == "Jon Snow"
    assert event("ev-1", "beta").payload["id"] == sp.ORDER["id"]


def test_customers_redact_finds_the_customers_orders_by_phone(alpha, store):
    _two_orders_in(alpha.host)
    process_all("alpha")
    redact = sp.redact_customer(email="", phone="020 7946 0770")
    deliver(alpha.host, redact, topic="customers/redact", event_id="ev-r")
    assert process_all("alpha")[-1] == "processed"
    assert event("ev-r").detail == "1 orders redacted."
    with schema_context("alpha"):
        assert Order.objects.get(external_id=JON).customer_name == "Redacted"
        assert Order.objects.get(external_id="2").customer_name == "Jon Snow"


def test_shop_redact_disconnects_and_forgets_the_stores_customers(alpha, store):
    deliver(alpha.host, sp.order())
    process_all("alpha")
    deliver(
        alpha.host, {"shop_domain": sp.SHOP, "shop_id": 1}, topic="shop/redact", event_id="ev-s"
    )
    assert process_all("alpha")[-1] == "processed"
    with schema_context("alpha"):
        assert Order.objects.get().customer_name == "Redacted"
        integration = ShopifyIntegration.objects.get()
    assert not integration.is_active and not integration.client_secret
    assert event("ev-1").payload == {}
    assert deliver(alpha.host, sp.order(), event_id="ev-after").status_code == 401


def test_shop_redact_leaves_the_tenants_other_store_alone(alpha, store):
    other_shop, other_secret = (
        "bloom-outlet.myshopify.com",
        "shpss_00000000000000000000000000000000",
    )
    with schema_context("alpha"):
        shopify.integration_save(shop_domain=other_shop, client_secret=other_secret)
    deliver(alpha.host, sp.order())
    deliver(alpha.host, sp.order(id=7), event_id="ev-7", shop=other_shop, secret=other_secret)
    process_all("alpha")
    deliver(
        alpha.host, {"shop_domain": sp.SHOP, "shop_id": 1}, topic="shop/redact", event_id="ev-s"
    )
    process_all("alpha")
    with schema_context("alpha"):
        assert Order.objects.get(external_id=JON).customer_name == "Redacted"
        assert Order.objects.get(external_id="7").customer_name == "Jon Snow"
        assert ShopifyIntegration.objects.get(shop_domain=other_shop).is_active
    assert event("ev-7").payload["id"] == 7
