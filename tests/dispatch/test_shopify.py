"""Shopify webhooks: signature, deduplication, mapping, stale updates, cancellations,
compliance redaction, tenant isolation, and the integration page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import Order, WebhookEvent
from dispatch.services import shopify
from tests.conftest import host_client, login_client
from tests.dispatch import shopify_payloads as sp

URL = "/api/v1/integrations/shopify/webhooks"


@pytest.fixture
def store(alpha):
    with schema_context("alpha"):
        return shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)


def deliver(host: str, payload: dict, *, topic="orders/create", event_id="ev-1", **kwargs):
    raw = sp.body(payload)
    return host_client(host).post(
        URL,
        raw,
        content_type="application/json",
        **sp.headers(raw, topic=topic, event_id=event_id, **kwargs),
    )


def process_all(schema: str) -> list[str]:
    with schema_context(schema):
        return [
            shopify.webhook_event_process(pk)
            for pk in WebhookEvent.objects.order_by("pk").values_list("pk", flat=True)
        ]


def test_a_signed_order_becomes_an_order_with_its_details(alpha, store):
    response = deliver(alpha.host, sp.order())
    assert response.status_code == 200
    assert response.json() == {"status": "accepted", "event_id": "ev-1"}
    assert process_all("alpha") == ["processed"]
    with schema_context("alpha"):
        order = Order.objects.get()
    assert (order.source, order.external_id) == ("shopify", "820982911946154508")
    assert order.customer_name == "Jon Snow"
    assert order.customer_phone == "+442079460770"  # the shipping phone, read in GB
    assert order.customer_email == "jon@example.com"
    assert (order.address_line1, order.address_line2, order.postcode) == (
        "221B Baker Street", "Flat 2", "NW1 6XE",
    )  # fmt: skip
    assert (order.lat, order.lng, order.geocode_status) == (51.5237715, -0.1585557, "provided")
    assert order.delivery_date == dt.date(2026, 12, 2)
    assert order.time_windows == [{"start": "09:00", "end": "12:00"}]
    assert (order.items, str(order.weight_kg)) == (3, "2.45")  # digital items are not delivered
    assert order.notes == "Please ring the bell twice"
    assert order.events.get().actor == f"shopify:{sp.SHOP}"


@pytest.mark.parametrize(
    ("tamper", "kwargs"),
    [
        ("body", {}),
        (None, {"secret": "shpss_wrong_secret_0000000000000"}),
        (None, {"shop": "other-store.myshopify.com"}),
    ],
)
def test_wrong_signatures_and_stores_are_401_and_store_nothing(alpha, store, tamper, kwargs):
    raw = sp.body(sp.order())
    headers = sp.headers(raw, topic="orders/create", event_id="ev-x", **kwargs)
    if tamper == "body":
        raw = raw.replace(b"Baker Street", b"Evil Street")
    response = host_client(alpha.host).post(URL, raw, content_type="application/json", **headers)
    assert response.status_code == 401
    with schema_context("alpha"):
        assert not WebhookEvent.objects.exists() and not Order.objects.exists()


@pytest.mark.parametrize("missing", ["HTTP_X_SHOPIFY_HMAC_SHA256", "HTTP_X_SHOPIFY_SHOP_DOMAIN"])
def test_missing_headers_are_401(alpha, store, missing):
    raw = sp.body(sp.order())
    headers = sp.headers(raw, topic="orders/create", event_id="ev-m")
    headers.pop(missing)
    response = host_client(alpha.host).post(URL, raw, content_type="application/json", **headers)
    assert response.status_code == 401


def test_signed_but_not_json_is_400_and_stores_nothing(alpha, store):
    raw = b"not json at all"
    headers = sp.headers(raw, topic="orders/create", event_id="ev-j")
    response = host_client(alpha.host).post(URL, raw, content_type="application/json", **headers)
    assert response.status_code == 400
    with schema_context("alpha"):
        assert not WebhookEvent.objects.exists()


def test_a_store_of_another_tenant_is_refused_here(alpha, beta):
    with schema_context("beta"):
        shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
    assert deliver(alpha.host, sp.order()).status_code == 401  # alpha has no such store
    assert deliver(beta.host, sp.order()).status_code == 200
    with schema_context("alpha"):
        assert not WebhookEvent.objects.exists()


def test_repeated_deliveries_of_one_event_create_one_order(alpha, store):
    answers = [deliver(alpha.host, sp.order(), event_id="same").json()["status"] for _ in range(5)]
    assert answers == ["accepted"] + ["duplicate"] * 4
    process_all("alpha")
    process_all("alpha")  # a job run twice changes nothing
    with schema_context("alpha"):
        assert Order.objects.count() == 1 and WebhookEvent.objects.count() == 1


def test_a_stale_update_changes_nothing_and_a_newer_one_applies(alpha, store):
    deliver(alpha.host, sp.order(updated_at="2026-11-24T12:00:00+00:00"))
    deliver(
        alpha.host,
        sp.order(updated_at="2026-11-24T11:00:00+00:00", note="old note"),
        topic="orders/updated", event_id="ev-old",
    )  # fmt: skip
    deliver(
        alpha.host,
        sp.order(updated_at="2026-11-24T13:00:00+00:00", note="new note"),
        topic="orders/updated", event_id="ev-new",
    )  # fmt: skip
    assert process_all("alpha") == ["processed", "ignored", "processed"]
    with schema_context("alpha"):
        order = Order.objects.get()
        assert order.notes == "new note"
        assert WebhookEvent.objects.get(event_id="ev-old").detail.startswith("Older than")


def test_an_update_for_an_unknown_order_creates_it(alpha, store):
    deliver(alpha.host, sp.order(), topic="orders/updated", event_id="ev-u")
    assert process_all("alpha") == ["processed"]


def test_cancellation_is_recorded_and_repeats_are_harmless(alpha, store):
    deliver(alpha.host, sp.order())
    cancel = sp.order(cancelled_at="2026-11-24T14:00:00Z", cancel_reason="customer")
    deliver(alpha.host, cancel, topic="orders/cancelled", event_id="ev-c1")
    deliver(alpha.host, cancel, topic="orders/cancelled", event_id="ev-c2")
    assert process_all("alpha") == ["processed", "processed", "ignored"]
    with schema_context("alpha"):
        order = Order.objects.get()
        assert order.status == "cancelled"
        event = order.events.get(to_status="cancelled")
        assert "customer" in event.reason and event.actor.startswith("shopify:")


def test_orders_without_shipping_and_unknown_topics_are_ignored(alpha, store):
    deliver(alpha.host, sp.order(shipping_address=None), event_id="ev-pickup")
    deliver(alpha.host, {"id": 1}, topic="products/update", event_id="ev-p")
    assert process_all("alpha") == ["ignored", "ignored"]


def test_customers_redact_forgets_that_customer_only_in_this_tenant(alpha, beta, store):
    with schema_context("beta"):
        shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
    for host in (alpha.host, beta.host):
        deliver(host, sp.order())
        deliver(host, sp.order(id=2, email="other@example.com"), event_id="ev-2")
    process_all("alpha")
    process_all("beta")
    redact = {
        "shop_domain": sp.SHOP,
        "customer": {"id": 115310627314723954, "email": "jon@example.com"},
        "orders_to_redact": [820982911946154508],
    }
    deliver(alpha.host, redact, topic="customers/redact", event_id="ev-r")
    process_all("alpha")
    with schema_context("alpha"):
        jon = Order.objects.get(external_id="820982911946154508")
        assert (jon.customer_name, jon.customer_email, jon.address_line1, jon.lat) == (
            "Redacted", "", "", None,
        )  # fmt: skip
        assert Order.objects.get(external_id="2").customer_email == "other@example.com"
        assert WebhookEvent.objects.get(event_id="ev-1").payload == {}  # its body forgotten too
        assert WebhookEvent.objects.get(event_id="ev-2").payload["id"] == 2
    with schema_context("beta"):
        assert Order.objects.get(external_id="820982911946154508").customer_name == "Jon Snow"


def test_shop_redact_disconnects_and_forgets_the_stores_customers(alpha, store):
    deliver(alpha.host, sp.order())
    process_all("alpha")
    deliver(
        alpha.host, {"shop_domain": sp.SHOP, "shop_id": 1}, topic="shop/redact", event_id="ev-s"
    )
    process_all("alpha")
    with schema_context("alpha"):
        assert Order.objects.get().customer_name == "Redacted"
        integration = type(store).objects.get()
        assert not integration.is_active and integration.client_secret == ""
    assert deliver(alpha.host, sp.order(), event_id="ev-after").status_code == 401


def test_mapping_reads_tags_and_falls_back_to_the_next_day(alpha):
    data = shopify.shopify_order_to_order_data(
        sp.order(note_attributes=[], tags="delivery:03/12/2026, window:14:00-16:00"),
        tenant_tz="Europe/London",
    )
    assert (data["delivery_date"], data["time_windows"]) == (
        "2026-12-03", [{"start": "14:00", "end": "16:00"}],
    )  # fmt: skip
    plain = shopify.shopify_order_to_order_data(
        sp.order(note_attributes=[], tags=""), tenant_tz="Europe/London"
    )
    assert plain["time_windows"] == [] and plain["delivery_date"] > dt.date.today().isoformat()


@pytest.mark.parametrize(
    ("domain", "secret", "field"),
    [
        ("bloom.com", sp.SECRET, "shop_domain"),
        ("evil.myshopify.com.attacker.io", sp.SECRET, "shop_domain"),
        ("bloom.myshopify.com", "", "client_secret"),
        ("bloom.myshopify.com", "short", "client_secret"),
    ],
)
def test_integration_input_is_checked(alpha, domain, secret, field):
    with schema_context("alpha"), pytest.raises(ValidationError) as exc:
        shopify.integration_save(shop_domain=domain, client_secret=secret)
    assert field in exc.value.message_dict


def test_owner_connects_a_store_on_the_page(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/integrations/shopify/").content.decode()
    assert f"http://{alpha.host}/api/v1/integrations/shopify/webhooks" in page
    bad = owner.post("/integrations/shopify/", {"shop_domain": "nope", "client_secret": "x"})
    assert b"your-store.myshopify.com" in bad.content
    saved = owner.post(
        "/integrations/shopify/", {"shop_domain": sp.SHOP, "client_secret": sp.SECRET}, follow=True
    )
    assert f"{sp.SHOP} is connected.".encode() in saved.content
    assert sp.SECRET.encode() not in saved.content  # never shown back
    assert (
        login_client(alpha.host, alpha.dispatcher_email).get("/integrations/shopify/").status_code
        == 403
    )
