"""Writing an order's progress back to its WooCommerce store, against a fake store served
over HTTP on loopback: an order from creation to delivered with every call checked on the
fake, throttled and failing answers, permanent errors shown on the store, keys kept
encrypted and never logged."""

from __future__ import annotations

import base64
import datetime as dt
import logging

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, WebhookEvent
from routing.models import PlanStop
from routing.services import plans, publish
from stores.models import WooCommerceStore, WriteBack
from stores.services import woocommerce, writeback
from stores.services.sources import registry
from tests.conftest import host_client
from tests.routing.factories import DAY, make_fleet_day
from tests.stores import fake_woocommerce as fw
from tracking.services.day import stop_event, tracking_link_for

URL = "/api/v1/integrations/woocommerce/webhooks"


@pytest.fixture
def woo(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True  # the fake store listens on 127.0.0.1
    settings.STORE_REQUIRE_HTTPS = False
    settings.STORE_RETRY_BASE_S = 30
    with fw.running_woocommerce() as fake:
        yield fake


@pytest.fixture
def shop(alpha, woo):
    with schema_context("alpha"):
        return woocommerce.store_save(
            url=woo.url,
            consumer_key=fw.CONSUMER_KEY,
            consumer_secret=fw.CONSUMER_SECRET,
            webhook_secret=fw.WEBHOOK_SECRET,
        )


def receive(alpha, woo, payload: dict, topic: str = "order.created") -> Order:
    """The store has the order and sends its webhook; the job applies it."""
    woo.add_order(payload)
    raw = fw.body(payload)
    headers = fw.headers(raw, source=woo.url, topic=topic)
    assert (
        host_client(alpha.host)
        .post(URL, raw, content_type="application/json", **headers)
        .status_code
        == 200
    )
    with schema_context("alpha"):
        for pk in WebhookEvent.objects.filter(status="received").values_list("pk", flat=True):
            woocommerce.webhook_event_process(pk)
        return Order.objects.get(external_id=f"{payload['id']}@{woo.url.split('://')[1]}")


def located(order: Order, lat: float = 51.51, lng: float = -0.11) -> Order:
    """What geocoding does (no geocoder in tests)."""
    Order.objects.filter(pk=order.pk).update(lat=lat, lng=lng, geocode_status="provided")
    order.refresh_from_db()
    return order


def run_pending() -> list[str]:
    """What the write-back jobs do, for every pending one that is due."""
    pks = WriteBack.objects.filter(status="pending").order_by("pk").values_list("pk", flat=True)
    return [writeback.run(pk) for pk in list(pks)]


def notes_of(woo, woo_id: int) -> list[str]:
    return [n["note"] for n in sorted(woo.notes[woo_id], key=lambda n: n["id"])]


def test_an_order_from_creation_to_delivered_is_written_back(alpha, woo, shop):
    first = receive(alpha, woo, fw.order(1001, meta=[("_delivery_date", DAY.isoformat())]))
    second = receive(alpha, woo, fw.order(1002, meta=[("jckwds_date_ymd", f"{DAY:%Y%m%d}")]))
    assert woo.calls() == []  # nothing is written back for a new order
    with schema_context("alpha"):
        first, second = located(first), located(second, 51.49, -0.13)
        day = make_fleet_day("woowb", vans=1, orders=1)
        plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == "done"
        publish.plan_publish(plan=plan, actor="user:owner@alpha.test")
        route = PlanStop.objects.get(order=first).route
        assert PlanStop.objects.get(order=second).route == route
        driver = route.driver

        # the van sets off to the first stop: both store orders in it are out for delivery
        stop_event(driver=driver, order_id=first.pk, event="en_route")
        assert sorted(WriteBack.objects.values_list("order_id", "action")) == sorted(
            [(first.pk, "set_off"), (second.pk, "set_off")]
        )
        assert run_pending() == ["done", "done"]
        for order, woo_id in ((first, 1001), (second, 1002)):
            link = f"/t/{tracking_link_for(order)}"
            (note,) = woo.notes[woo_id]
            assert note["customer_note"] is True
            assert note["note"].startswith("Out for delivery — track it: http")
            assert link in note["note"] and f"(ref D{order.pk}-out-1)" in note["note"]
            kept = WriteBack.objects.get(order=order, action="set_off")
            assert kept.result == {"set_off_note_ids": [note["id"]]} and kept.attempts == 1
        assert woo.orders[1001]["status"] == "processing"  # setting off changes no status

        stop_event(driver=driver, order_id=first.pk, event="arrived")
        stop_event(driver=driver, order_id=first.pk, event="delivered")
        assert run_pending() == ["done"]
        assert woo.orders[1001]["status"] == "completed"
        assert notes_of(woo, 1001)[1] == f"Delivered. (ref D{first.pk}-delivered)"
        # private: completed already makes WooCommerce email the customer, once is enough
        assert woo.notes[1001][1]["customer_note"] is False
        delivered = WriteBack.objects.get(order=first, action="delivered")
        assert delivered.result["store_status"] == "completed"

        stop_event(driver=driver, order_id=second.pk, event="en_route")
        stop_event(driver=driver, order_id=second.pk, event="arrived")
        stop_event(driver=driver, order_id=second.pk, event="failed", reason="Nobody home")
        assert run_pending() == ["done"]
        assert notes_of(woo, 1002)[1] == (
            f"Delivery attempt failed: Nobody home. (ref D{second.pk}-failed-1)"
        )
        assert woo.orders[1002]["status"] == "processing"  # the shop decides what next

    basic = base64.b64encode(f"{fw.CONSUMER_KEY}:{fw.CONSUMER_SECRET}".encode()).decode()
    assert all(r["headers"]["Authorization"] == f"Basic {basic}" for r in woo.requests)
    assert woo.calls() == [
        ("GET", "/wp-json/wc/v3/orders/1001/notes"),
        ("POST", "/wp-json/wc/v3/orders/1001/notes"),
        ("GET", "/wp-json/wc/v3/orders/1002/notes"),
        ("POST", "/wp-json/wc/v3/orders/1002/notes"),
        ("GET", "/wp-json/wc/v3/orders/1001"),
        ("PUT", "/wp-json/wc/v3/orders/1001"),
        ("GET", "/wp-json/wc/v3/orders/1001/notes"),
        ("POST", "/wp-json/wc/v3/orders/1001/notes"),
        ("GET", "/wp-json/wc/v3/orders/1002/notes"),
        ("POST", "/wp-json/wc/v3/orders/1002/notes"),
    ]
    assert woo.requests[5]["body"] == {"status": "completed"}


def test_a_write_back_tried_again_adds_no_second_note(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    source = registry.store("woocommerce")
    with schema_context("alpha"):
        for _ in range(2):  # e.g. the answer was lost and the job ran again
            source.write_back("set_off", order, store=shop.url, state={})
            source.write_back("delivered", order, store=shop.url, state={})
    assert len(woo.notes[1001]) == 2 and len(woo.calls("POST")) == 2
    assert len(woo.calls("PUT")) == 1  # completed already: not set again


def test_out_for_delivery_tried_again_after_delivered_is_not_written(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    with schema_context("alpha"):
        set_off = writeback.record(order, WriteBack.Action.SET_OFF)
        woo.fail(403)  # the keys lacked write access then
        assert writeback.run(set_off.pk) == "failed"
        delivered = writeback.record(order, WriteBack.Action.DELIVERED)
        assert writeback.run(delivered.pk) == "done"
        calls = len(woo.requests)
        writeback.retry(writeback=set_off)  # the owner fixed the keys and tries it again
        assert writeback.run(set_off.pk) == "done"
        set_off.refresh_from_db()
    assert set_off.result == {"note": "Delivered already: out for delivery not written after it."}
    assert len(woo.requests) == calls  # the store is not called
    assert notes_of(woo, 1001) == [f"Delivered. (ref D{order.pk}-delivered)"]


def test_a_throttled_call_waits_as_asked_and_uses_no_try(alpha, woo, shop, time_machine):
    order = receive(alpha, woo, fw.order(1001))
    woo.fail(429, **{"Retry-After": "7"})
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        started = timezone.now()
        assert writeback.run(kept.pk) == "pending"
        kept.refresh_from_db()
        assert kept.attempts == 0 and "429" in kept.last_error
        assert dt.timedelta(seconds=6) < kept.next_attempt_at - started < dt.timedelta(seconds=9)
        calls = len(woo.requests)
        assert writeback.run(kept.pk) == "pending"  # not due yet: the store is not called
        assert len(woo.requests) == calls
        time_machine.move_to(timezone.now() + dt.timedelta(seconds=10), tick=True)
        assert writeback.run(kept.pk) == "done"
    assert len(woo.notes[1001]) == 1


def test_a_server_error_is_tried_again_with_backoff(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    woo.fail(500)
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        assert writeback.run(kept.pk) == "pending"
        kept.refresh_from_db()
        assert kept.attempts == 1 and kept.last_error == "The store answered 500."
        assert kept.next_attempt_at > timezone.now() + dt.timedelta(seconds=25)


def test_a_store_that_cannot_be_reached_is_tried_again(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.DELIVERED)
        WooCommerceStore.objects.filter(pk=shop.pk).update(url="http://127.0.0.1:9")
        WriteBack.objects.filter(pk=kept.pk).update(store="http://127.0.0.1:9")
        assert writeback.run(kept.pk) == "pending"
        kept.refresh_from_db()
        assert kept.attempts == 1 and "could not be reached" in kept.last_error


def test_revoked_keys_are_a_permanent_error_on_the_write_back_and_the_store(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    woo.secret = "cs_" + "9" * 40  # the owner revoked the keys in WordPress
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.DELIVERED)
        assert writeback.run(kept.pk) == "failed"
        kept.refresh_from_db()
        store = WooCommerceStore.objects.get(pk=shop.pk)
    assert kept.attempts == 1
    assert "the keys were revoked or lack write access" in kept.last_error
    assert "woocommerce_rest_cannot_view" in kept.last_error
    assert f"Order {order.pk}:" in store.last_error and "revoked" in store.last_error
    assert store.last_error_at is not None
    assert len(woo.requests) == 1  # not tried again


def test_an_order_deleted_in_the_store_is_a_permanent_error(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    del woo.orders[1001]
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        assert writeback.run(kept.pk) == "failed"
        kept.refresh_from_db()
    assert "deleted there" in kept.last_error


def test_a_store_without_keys_is_not_written_back(alpha, woo):
    with schema_context("alpha"):
        woocommerce.store_save(url=woo.url, webhook_secret=fw.WEBHOOK_SECRET)
    order = receive(alpha, woo, fw.order(1001))
    with schema_context("alpha"):
        assert writeback.record(order, WriteBack.Action.SET_OFF) is None


def test_disconnecting_cancels_what_was_still_to_be_written_back(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        woocommerce.store_disconnect(store=shop)
        kept.refresh_from_db()
        assert kept.status == "cancelled"
        assert writeback.run(kept.pk) == "cancelled"
    assert woo.requests == []


def test_keys_are_never_logged_and_are_encrypted_at_rest(alpha, woo, shop, caplog):
    order = receive(alpha, woo, fw.order(1001))
    caplog.set_level(logging.DEBUG)  # urllib3 and requests say the most at DEBUG
    with schema_context("alpha"):
        woo.fail(500)
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        writeback.run(kept.pk)
        WriteBack.objects.filter(pk=kept.pk).update(next_attempt_at=timezone.now())
        assert writeback.run(kept.pk) == "done"
        woo.secret = "cs_" + "8" * 40
        writeback.run(writeback.record(order, WriteBack.Action.DELIVERED).pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT consumer_key, consumer_secret, webhook_secret "
                "FROM stores_woocommercestore WHERE id = %s",
                [shop.pk],
            )
            raw = cursor.fetchone()
    secrets = (fw.CONSUMER_KEY, fw.CONSUMER_SECRET, fw.WEBHOOK_SECRET)
    basic = base64.b64encode(f"{fw.CONSUMER_KEY}:{fw.CONSUMER_SECRET}".encode()).decode()
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in (*secrets, basic):
        assert secret not in logged
        assert all(secret not in (column or "") for column in raw)
    assert all(column and column.startswith("gAAAA") for column in raw)  # Fernet tokens
    shop.refresh_from_db()
    assert (shop.consumer_key, shop.consumer_secret) == (fw.CONSUMER_KEY, fw.CONSUMER_SECRET)


def test_a_store_on_a_private_address_is_not_called(alpha, woo, shop, settings):
    order = receive(alpha, woo, fw.order(1001))
    settings.WEBHOOK_ALLOW_LOOPBACK = False  # as in production: the fake is on 127.0.0.1
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        assert writeback.run(kept.pk) == "failed"
        kept.refresh_from_db()
    assert "private or loopback address" in kept.last_error
    assert woo.requests == []


def test_a_redirect_is_not_followed_and_says_where_to(alpha, woo, shop):
    order = receive(alpha, woo, fw.order(1001))
    woo.fail(301, Location="https://www.shop.example.com/wp-json/wc/v3/orders/1001/notes")
    with schema_context("alpha"):
        kept = writeback.record(order, WriteBack.Action.SET_OFF)
        assert writeback.run(kept.pk) == "failed"
        kept.refresh_from_db()
    assert "redirects (301) to https://www.shop.example.com" in kept.last_error
    assert len(woo.requests) == 1


def test_the_owner_tests_the_keys_from_the_page(alpha, woo, shop):
    from tests.conftest import login_client

    woo.add_order(fw.order(1001))
    owner = login_client(alpha.host, alpha.owner_email)
    check = f"/settings/stores/woocommerce/{shop.pk}/check/"
    response = owner.post(check, follow=True)
    assert "its keys can read orders" in response.content.decode()
    assert woo.calls() == [("GET", "/wp-json/wc/v3/orders?per_page=1")]
    woo.secret = "cs_" + "7" * 40
    response = owner.post(check, follow=True)
    assert "the keys were revoked or lack write access" in response.content.decode()
    with schema_context("alpha"):
        worked, answer = woocommerce.store_check(store=shop)
    assert not worked and "401" in answer
