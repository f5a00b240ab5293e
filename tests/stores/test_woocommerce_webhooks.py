"""WooCommerce webhooks through the tenant's host: the ping, signatures, deduplication,
what each topic and status does to orders (each delivery-date plugin's meta, stale
updates, deletion), tenant by tenant."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order, WebhookEvent
from dispatch.services.orders import order_transition
from stores.services import woocommerce
from tests.conftest import FIXED_NOW, host_client
from tests.stores import fake_woocommerce as fw

# Literal December 2026 dates below: the clock is pinned before them.
pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

URL = "/api/v1/integrations/woocommerce/webhooks"
SHOP = "https://shop.example.com"


@pytest.fixture
def store(alpha):
    with schema_context("alpha"):
        return woocommerce.store_save(
            url=SHOP,
            consumer_key=fw.CONSUMER_KEY,
            consumer_secret=fw.CONSUMER_SECRET,
            webhook_secret=fw.WEBHOOK_SECRET,
        )


def post_raw(host: str, raw: bytes, headers: dict, content_type="application/json"):
    return host_client(host).post(URL, raw, content_type=content_type, **headers)


def deliver(host: str, payload: dict, *, topic="order.created", source=SHOP, **kwargs):
    raw = fw.body(payload)
    return post_raw(host, raw, fw.headers(raw, source=source, topic=topic, **kwargs))


def process_all(schema: str = "alpha") -> list[str]:
    """What the job does, for every stored event still waiting (jobs do not run here)."""
    with schema_context(schema):
        pks = WebhookEvent.objects.filter(status="received").order_by("pk")
        return [woocommerce.webhook_event_process(pk) for pk in pks.values_list("pk", flat=True)]


def nothing_stored(schema: str = "alpha") -> bool:
    with schema_context(schema):
        return not WebhookEvent.objects.exists() and not Order.objects.exists()


def the_order(schema: str = "alpha", woo_id: int = 1001) -> Order:
    with schema_context(schema):
        return Order.objects.get(external_id=f"{woo_id}@shop.example.com")


def last_detail(schema: str = "alpha") -> str:
    with schema_context(schema):
        return WebhookEvent.objects.order_by("-pk").values_list("detail", flat=True).first()


# --- receiving ----------------------------------------------------------------------------


def test_a_signed_order_becomes_an_order(alpha, store):
    payload = fw.order(meta=[("jckwds_date_ymd", "20261208"), ("jckwds_timeslot", "09:00 - 12:00")])
    response = deliver(alpha.host, payload, delivery_id="d-1")
    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert response.json()["event_id"].startswith("d-1:")
    assert process_all() == ["processed"]
    order = the_order()
    assert (order.source, order.customer_name, order.city) == ("woocommerce", "Ada King", "London")
    assert order.delivery_date == dt.date(2026, 12, 8)
    assert order.time_windows == [{"start": "09:00", "end": "12:00"}]
    assert (order.items, order.weight_kg) == (3, 0)
    assert order.notes == "Leave it with the neighbour"
    assert order.source_updated_at == dt.datetime(2026, 11, 24, 15, 15, tzinfo=dt.UTC)
    with schema_context("alpha"):
        assert order.events.get().actor == f"woocommerce:{SHOP}"
        event = WebhookEvent.objects.get()
    assert (event.source, event.topic, event.shop_domain) == ("woocommerce", "order.created", SHOP)


@pytest.mark.parametrize(
    ("meta", "day", "windows"),
    [
        (
            [("_orddd_timestamp", "1796774400"), ("Delivery Date", "9 December, 2026")],
            dt.date(2026, 12, 9),  # 1796774400 is 2026-12-09 00:00 UTC (London midnight too)
            [],
        ),
        (
            [("Delivery Date", "December 10, 2026"), ("_orddd_time_slot", "10:00 AM - 12:00 PM")],
            dt.date(2026, 12, 10),
            [{"start": "10:00", "end": "12:00"}],
        ),
        (
            [("jckwds_date", "11/12/2026"), ("jckwds_timeslot", "2:00pm - 4:00pm")],
            dt.date(2026, 12, 11),
            [{"start": "14:00", "end": "16:00"}],
        ),
        (
            [("delivery_type", "delivery"), ("delivery_date", "12 December 2026")],
            dt.date(2026, 12, 12),
            [],
        ),
        ([("_delivery_date", "2026-12-13")], dt.date(2026, 12, 13), []),
    ],
    ids=["orddd-timestamp", "orddd-text", "iconic", "coderockz", "generic"],
)
def test_each_plugins_delivery_date_reaches_the_order(alpha, store, meta, day, windows):
    assert deliver(alpha.host, fw.order(meta=meta)).status_code == 200
    assert process_all() == ["processed"]
    order = the_order()
    assert (order.delivery_date, order.time_windows, order.needs_date) == (day, windows, False)


def test_an_unreadable_date_leaves_the_order_needing_one(alpha, store):
    deliver(alpha.host, fw.order(meta=[("Delivery Date", "the day after the party")]))
    assert process_all() == ["processed"]
    order = the_order()
    assert order.needs_date and order.delivery_date is None
    assert order.delivery_date_as_written == "the day after the party"


def test_the_ping_is_answered_and_nothing_is_kept(alpha):
    response = post_raw(
        alpha.host,
        b"webhook_id=17",
        {"HTTP_USER_AGENT": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)"},
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200 and response.json()["status"] == "ping"
    assert nothing_stored()


@pytest.mark.parametrize(
    "how", ["tampered-body", "wrong-secret", "unknown-store", "no-signature", "no-source"]
)
def test_wrong_signatures_and_stores_are_401_and_store_nothing(alpha, store, how):
    raw = fw.body(fw.order())
    secret = "another-secret" if how == "wrong-secret" else fw.WEBHOOK_SECRET
    source = "https://other.example.com" if how == "unknown-store" else SHOP
    headers = fw.headers(raw, source=source, secret=secret)
    if how == "tampered-body":
        raw = raw.replace(b"St James", b"Evil Inc")
    if how == "no-signature":
        headers.pop("HTTP_X_WC_WEBHOOK_SIGNATURE")
    if how == "no-source":
        headers.pop("HTTP_X_WC_WEBHOOK_SOURCE")
    response = post_raw(alpha.host, raw, headers)
    assert response.status_code == 401 and response.json()["code"] == "invalid_signature"
    assert nothing_stored()


def test_signed_but_not_a_json_object_is_400(alpha, store):
    for raw in (b"[1, 2]", b"{not json", b'"text"'):
        headers = fw.headers(raw, source=SHOP)
        assert post_raw(alpha.host, raw, headers).status_code == 400
    assert nothing_stored()


def test_the_same_delivery_twice_is_harmless(alpha, store):
    raw = fw.body(fw.order())
    headers = fw.headers(raw, source=SHOP, delivery_id="same")
    assert post_raw(alpha.host, raw, headers).json()["status"] == "accepted"
    assert post_raw(alpha.host, raw, headers).json()["status"] == "duplicate"
    assert process_all() == ["processed"]
    assert process_all() == []
    with schema_context("alpha"):
        assert Order.objects.count() == 1 and WebhookEvent.objects.count() == 1


def test_one_delivery_id_for_two_different_bodies_keeps_both(alpha, store):
    """WooCommerce makes delivery ids from the webhook and the second: two changes in one
    second share one; they are not taken for a repeat."""
    first = fw.order(meta=[("_delivery_date", "2026-12-08")])
    second = fw.order(
        meta=[("_delivery_date", "2026-12-09")],
        status="processing",
        date_modified_gmt="2026-11-24T15:16:00",
    )
    deliver(alpha.host, first, delivery_id="same-second")
    response = deliver(alpha.host, second, topic="order.updated", delivery_id="same-second")
    assert response.json()["status"] == "accepted"
    assert process_all() == ["processed", "processed"]
    assert the_order().delivery_date == dt.date(2026, 12, 9)


def test_a_disconnected_store_is_refused(alpha, store):
    with schema_context("alpha"):
        woocommerce.store_disconnect(store=store)
    assert deliver(alpha.host, fw.order()).status_code == 401
    assert nothing_stored()


def test_the_store_url_is_matched_with_the_other_scheme(alpha, store):
    assert deliver(alpha.host, fw.order(), source="http://shop.example.com").status_code == 200


# --- statuses and topics ------------------------------------------------------------------


def test_pending_and_on_hold_wait_until_processing(alpha, store):
    deliver(alpha.host, fw.order(status="pending"))
    deliver(alpha.host, fw.order(status="on-hold", date_modified_gmt="2026-11-24T15:16:00"))
    assert process_all() == ["ignored", "ignored"]
    assert "taken once it is processing" in last_detail()
    with schema_context("alpha"):
        assert not Order.objects.exists()
    deliver(
        alpha.host,
        fw.order(status="processing", date_modified_gmt="2026-11-24T15:20:00"),
        topic="order.updated",
    )
    assert process_all() == ["processed"]
    assert the_order().status == "unassigned"


def test_a_pickup_order_is_not_delivered(alpha, store):
    pickup = fw.order(shipping_lines=[{"id": 3, "method_id": "local_pickup"}])
    deliver(alpha.host, pickup)
    deliver(alpha.host, fw.order(1002, meta=[("delivery_type", "pickup")]))
    assert process_all() == ["ignored", "ignored"]
    assert "pickup" in last_detail()


def test_an_update_older_than_the_one_applied_is_ignored(alpha, store):
    deliver(alpha.host, fw.order(meta=[("_delivery_date", "2026-12-08")]))
    newer = fw.order(
        meta=[("_delivery_date", "2026-12-10")], date_modified_gmt="2026-11-24T16:00:00"
    )
    older = fw.order(
        meta=[("_delivery_date", "2026-12-09")], date_modified_gmt="2026-11-24T15:30:00"
    )
    deliver(alpha.host, newer, topic="order.updated")
    deliver(alpha.host, older, topic="order.updated")
    assert process_all() == ["processed", "processed", "ignored"]
    assert "Older than" in last_detail()
    assert the_order().delivery_date == dt.date(2026, 12, 10)


@pytest.mark.parametrize("status", ["cancelled", "refunded", "failed", "trash"])
def test_a_cancelling_status_cancels_the_order(alpha, store, status):
    deliver(alpha.host, fw.order())
    update = fw.order(status=status, date_modified_gmt="2026-11-24T16:00:00")
    deliver(alpha.host, update, topic="order.updated")
    assert process_all() == ["processed", "processed"]
    assert the_order().status == "cancelled"


def test_a_deleted_order_is_cancelled_and_leaves_its_route(alpha, store):
    from routing.models import PlanStop
    from routing.services import plans, publish
    from tests.routing.factories import DAY, make_fleet_day

    deliver(alpha.host, fw.order(meta=[("_delivery_date", DAY.isoformat())]))
    assert process_all() == ["processed"]
    with schema_context("alpha"):
        order = the_order()
        Order.objects.filter(pk=order.pk).update(lat=51.51, lng=-0.11, geocode_status="provided")
        day = make_fleet_day("wcdel", vans=1, orders=2)
        plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == "done"
        publish.plan_publish(plan=plan, actor="user:owner@alpha.test")
        assert PlanStop.objects.filter(order=order).exists()
    deliver(alpha.host, {"id": 1001}, topic="order.deleted")
    assert process_all() == ["processed"]
    assert "deleted in the store" in last_detail()
    with schema_context("alpha"):
        order.refresh_from_db()
        assert order.status == "cancelled"
        assert not PlanStop.objects.filter(order=order).exists()
    deliver(alpha.host, {"id": 1001}, topic="order.deleted")
    deliver(alpha.host, {"id": 4242}, topic="order.deleted")
    assert process_all() == ["ignored", "ignored"]


def test_a_delivered_order_is_not_changed_by_the_store(alpha, store):
    deliver(alpha.host, fw.order())
    process_all()
    with schema_context("alpha"):
        order = the_order()
        for status in ("planned", "dispatched", "en_route", "arrived", "delivered"):
            order = order_transition(order=order, to=status, actor="system")
    # our own write-back made it completed in the store: the echo changes nothing
    deliver(
        alpha.host,
        fw.order(status="completed", date_modified_gmt="2026-11-25T10:00:00"),
        topic="order.updated",
    )
    assert process_all() == ["ignored"]
    assert the_order().status == "delivered"


def test_a_restored_order_is_taken_again(alpha, store):
    deliver(alpha.host, fw.order(), topic="order.restored")
    assert process_all() == ["processed"]
    assert the_order().status == "unassigned"


def test_other_topics_are_kept_and_ignored(alpha, store):
    deliver(alpha.host, {"id": 5, "name": "Roses"}, topic="product.updated")
    assert process_all() == ["ignored"]


# --- tenants ------------------------------------------------------------------------------


def test_a_webhook_for_alphas_store_sent_to_beta_is_refused(alpha, beta, store):
    assert deliver(beta.host, fw.order()).status_code == 401
    assert nothing_stored("beta")
    with schema_context("beta"):
        woocommerce.store_save(url=SHOP, webhook_secret="betas-own-secret-123")
    assert deliver(beta.host, fw.order()).status_code == 401  # signed with alpha's secret
    assert deliver(beta.host, fw.order(), secret="betas-own-secret-123").status_code == 200
    assert process_all("beta") == ["processed"]
    assert process_all("alpha") == []
    assert the_order("beta").customer_name == "Ada King"
