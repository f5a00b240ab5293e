"""Shopify write-back against the fake Shopify, a real HTTP server: an order from its
orders/create webhook to delivered, every write-back checked on the fake (the fulfilment
of the shippable lines with our tracking link and carrier, out for delivery, delivered,
a failed attempt); throttled and 429 answers waited out without using a try; idempotent
repeats; a cancellation in Shopify; the custom-app way writing nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderStatus, ShopifyIntegration, WebhookEvent
from dispatch.services import shopify as shopify_intake
from notifications.services.sending import tracking_url
from routing.models import Plan, PlanRoute, PlanStop
from routing.services import plans, publish
from stores.models import WriteBack
from stores.services import shopify_admin, writeback
from stores.services.sources import registry
from stores.services.sources.base import PermanentError
from stores.services.sources.shopify import ShopifySource
from tests.dispatch import shopify_payloads as sp
from tests.routing.factories import DAY, make_fleet_day
from tests.stores.fake_shopify import running_fake_shopify
from tests.tracking.helpers import ACTOR, orders_on
from tracking.services.day import stop_event

pytestmark = pytest.mark.django_db

SHOP = "bloom-writeback.myshopify.com"
TOKEN = "shpat_" + "0a1b2c3d" * 4
ROSES, CARD, GIFT = 11, 12, 13
LINES = [
    {"id": ROSES, "quantity": 2, "requires_shipping": True},
    {"id": CARD, "quantity": 1, "requires_shipping": True},
    {"id": GIFT, "quantity": 1, "requires_shipping": False},  # a gift card: nothing to carry
]


@pytest.fixture
def fake(settings):
    with running_fake_shopify() as fake:
        settings.SHOPIFY_SHOP_URL = fake.shop_url
        fake.shop(SHOP).token = TOKEN
        yield fake


@pytest.fixture
def shop(alpha, fake) -> ShopifyIntegration:
    """alpha's shop, installed through the app (its offline token is the fake's)."""
    with schema_context("alpha"):
        return ShopifyIntegration.objects.create(
            shop_domain=SHOP, mode="app", access_token=TOKEN, installed_at=timezone.now()
        )


def webhook(topic: str, payload: dict, *, shop: str = SHOP) -> str:
    """A verified webhook kept and processed, as the app's endpoint and its job do."""
    raw = json.dumps(payload).encode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Event-Id": f"{topic}-{payload['id']}-{payload.get('updated_at')}",
    }
    shopify_intake.webhook_keep(headers=headers, body=raw, shop=shop)
    pending = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).order_by("pk")
    return [
        shopify_intake.webhook_event_process(pk) for pk in pending.values_list("pk", flat=True)
    ][-1]


def shopify_payload(shopify_id: int, *, lat: float, lng: float, **changes) -> dict:
    return sp.order(
        id=shopify_id,
        admin_graphql_api_id=f"gid://shopify/Order/{shopify_id}",
        name=f"#{shopify_id % 10000}",
        note_attributes=[{"name": "Delivery Date", "value": DAY.isoformat()}],
        line_items=[
            {**line, "title": f"Line {line['id']}", "price": "10.00", "grams": 100}
            for line in LINES
        ],
        shipping_address={**sp.ORDER["shipping_address"], "latitude": lat, "longitude": lng},
        **changes,
    )


def shopify_order(fake, shopify_id: int, *, lat: float = 51.51, lng: float = -0.13) -> Order:
    """An order made in the shop (on the fake) and sent to us by its orders/create webhook."""
    fake.add_order(SHOP, shopify_id, LINES)
    assert webhook("orders/create", shopify_payload(shopify_id, lat=lat, lng=lng)) == "processed"
    return Order.objects.get(source="shopify", external_id=str(shopify_id))


def published_route(prefix: str = "wb") -> PlanRoute:
    """The day planned with one van (so every order is on its one route) and published."""
    fleet = make_fleet_day(prefix, vans=1, orders=1)
    plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    publish.plan_publish(plan=plan, actor=ACTOR)
    route = next(r for r in PlanRoute.objects.filter(plan=plan) if orders_on(r))
    return route


def pending_pks() -> list[int]:
    return list(
        WriteBack.objects.filter(status=WriteBack.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def run_all() -> list[str]:
    """What the jobs do (they do not run in tests): one try of each pending write-back."""
    return [writeback.run(pk) for pk in pending_pks()]


def wait_passes(pk: int) -> None:
    """The wait before the next try is over (instead of sleeping through it)."""
    WriteBack.objects.filter(pk=pk).update(next_attempt_at=timezone.now())


def fulfilments(fake, shopify_id: int) -> list[dict]:
    return fake.shop(SHOP).orders[shopify_id].fulfillments


# --- from creation to delivered -----------------------------------------------------------


def test_an_order_from_creation_to_delivered_is_written_back_to_the_shop(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9001, lat=51.51, lng=-0.13)
        ann = shopify_order(fake, 9002, lat=51.49, lng=-0.11)
        route = published_route()
        assert {jon.pk, ann.pk} <= set(orders_on(route))
        assert not WriteBack.objects.exists()  # published, not yet on the road
        assert not fake.graphql_calls()

        # the driver sets off towards one stop: the van has left with both parcels
        first = orders_on(route)[0]
        stop_event(driver=route.driver, order_id=first, event="en_route")
        set_off = WriteBack.objects.filter(action=WriteBack.Action.SET_OFF)
        assert sorted(set_off.values_list("order_id", flat=True)) == sorted([jon.pk, ann.pk])
        assert set(set_off.values_list("key", flat=True)) == {
            f"set_off:{jon.pk}:{route.pk}",
            f"set_off:{ann.pk}:{route.pk}",
        }
        assert run_all() == ["done", "done"]

        for order, shopify_id in ((jon, 9001), (ann, 9002)):
            (made,) = fulfilments(fake, shopify_id)
            # the shippable lines only, all of each; never the gift card
            assert sorted((i["line_id"], i["quantity"]) for i in made["line_items"]) == [
                (ROSES, 2),
                (CARD, 1),
            ]
            assert made["tracking"] == {
                "company": "Alpha Deliveries",
                "number": f"ALPHA-{order.pk}",
                "url": tracking_url(order),
            }
            assert made["tracking"]["url"].startswith("http") and "/t/" in made["tracking"]["url"]
            assert made["notify"] is True  # the shop's shipping email carries our link
            assert fake.events_of(SHOP, shopify_id) == ["OUT_FOR_DELIVERY"]
            kept = WriteBack.objects.get(order=order, action=WriteBack.Action.SET_OFF)
            assert kept.result == {"fulfillment_id": made["id"]}
            assert kept.attempts == 1 and kept.done_at is not None and kept.last_error == ""

        # the next stops' taps record nothing new
        second = orders_on(route)[1]
        stop_event(driver=route.driver, order_id=second, event="en_route")
        assert WriteBack.objects.count() == 2

        # jon delivered; ann's delivery failed, with the driver's reason
        stop_event(driver=route.driver, order_id=jon.pk, event="delivered")
        stop_event(driver=route.driver, order_id=ann.pk, event="failed", reason="Nobody home")
        assert run_all() == ["done", "done"]
        assert fake.events_of(SHOP, 9001) == ["OUT_FOR_DELIVERY", "DELIVERED"]
        assert fake.events_of(SHOP, 9002) == ["OUT_FOR_DELIVERY", "ATTEMPTED_DELIVERY"]
        (failed_event,) = [
            e for e in fulfilments(fake, 9002)[0]["events"] if e["status"] == "ATTEMPTED_DELIVERY"
        ]
        assert failed_event["message"] == "Nobody home"
        delivered_at = jon.events.get(to_status=OrderStatus.DELIVERED).created_at
        (delivered_event,) = [
            e for e in fulfilments(fake, 9001)[0]["events"] if e["status"] == "DELIVERED"
        ]
        assert dt.datetime.fromisoformat(delivered_event["happenedAt"]) == delivered_at.replace(
            microsecond=0
        )
        # still one fulfilment each, every call with alpha's token to alpha's shop
        assert len(fulfilments(fake, 9001)) == len(fulfilments(fake, 9002)) == 1
        calls = fake.graphql_calls()
        assert calls and all(c["token"] == TOKEN and SHOP in c["path"] for c in calls)
        assert all("/2025-10/graphql.json" in c["path"] for c in calls)
        assert set(WriteBack.objects.values_list("action", "status").distinct()) == {
            ("set_off", "done"),
            ("delivered", "done"),
            ("failed", "done"),
        }


def test_delivered_waits_for_the_set_off_still_to_be_written(alpha, shop, fake):
    """Out for delivery is written before delivered, whatever order the jobs run in."""
    with schema_context("alpha"):
        jon = shopify_order(fake, 9011)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="delivered")
        set_off, delivered = WriteBack.objects.order_by("pk")
        assert (set_off.action, delivered.action) == ("set_off", "delivered")
        assert writeback.run(delivered.pk) == "pending"  # its turn comes after the set-off's
        assert not fake.graphql_calls()
        assert writeback.run(set_off.pk) == "done"
        wait_passes(delivered.pk)
        assert writeback.run(delivered.pk) == "done"
        assert fake.events_of(SHOP, 9011) == ["OUT_FOR_DELIVERY", "DELIVERED"]
        delivered.refresh_from_db()
        assert delivered.attempts == 1  # waiting for its turn used no try


# --- rate limits and retries --------------------------------------------------------------


def test_a_throttled_write_is_retried_and_done_without_using_a_try(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9021)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        fake.throttle_next = 1
        before = timezone.now()
        assert writeback.run(pk) == "pending"
        wb = WriteBack.objects.get(pk=pk)
        assert wb.attempts == 0  # throttling is Shopify's pace, not a failure
        assert "throttled" in wb.last_error.lower()
        # as long as the cost extension says the bucket needs: (50 - 0) / 100 s, at least 1 s
        assert before + dt.timedelta(seconds=1) <= wb.next_attempt_at
        assert wb.next_attempt_at <= timezone.now() + dt.timedelta(seconds=2)
        assert writeback.run(pk) == "pending"  # not before its time
        assert not fulfilments(fake, 9021)
        wait_passes(pk)
        assert writeback.run(pk) == "done"
        wb.refresh_from_db()
        assert wb.attempts == 1 and wb.last_error == ""
        assert len(fulfilments(fake, 9021)) == 1
        assert fake.events_of(SHOP, 9021) == ["OUT_FOR_DELIVERY"]


def test_a_429_is_retried_after_retry_after_without_using_a_try(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9031)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        fake.fail_next.append((429, {"errors": "Exceeded 2 calls per second for api client."}))
        before = timezone.now()
        assert writeback.run(pk) == "pending"
        wb = WriteBack.objects.get(pk=pk)
        assert wb.attempts == 0 and "429" in wb.last_error
        # the fake says Retry-After: 1
        assert before + dt.timedelta(seconds=1) <= wb.next_attempt_at
        assert wb.next_attempt_at <= timezone.now() + dt.timedelta(seconds=1.5)
        wait_passes(pk)
        assert writeback.run(pk) == "done"
        assert len(fulfilments(fake, 9031)) == 1


def test_a_shop_that_is_down_is_tried_again_with_a_doubling_wait(alpha, shop, fake, settings):
    settings.STORE_RETRY_BASE_S = 30
    settings.STORE_MAX_ATTEMPTS = 3
    with schema_context("alpha"):
        jon = shopify_order(fake, 9041)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        waits = []
        for _ in range(2):
            fake.fail_next.append((503, {"errors": "Service unavailable"}))
            before = timezone.now()
            assert writeback.run(pk) == "pending"
            wb = WriteBack.objects.get(pk=pk)
            waits.append(round((wb.next_attempt_at - before).total_seconds()))
            wait_passes(pk)
        assert waits == [30, 60]
        fake.fail_next.append((503, {"errors": "Service unavailable"}))
        assert writeback.run(pk) == "failed"  # the last try
        wb = WriteBack.objects.get(pk=pk)
        assert wb.attempts == 3 and "503" in wb.last_error
        shop.refresh_from_db()
        assert f"Order {jon.pk}" in shop.last_error and shop.last_error_at is not None


def test_a_revoked_token_fails_for_good_at_once_and_is_shown_on_the_store(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9051)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        fake.shop(SHOP).revoked = True
        assert writeback.run(pk) == "failed"
        wb = WriteBack.objects.get(pk=pk)
        assert wb.attempts == 1
        assert "refused the store's token" in wb.last_error
        assert "install it again" in wb.last_error
        shop.refresh_from_db()
        assert "refused the store's token" in shop.last_error
        assert TOKEN not in shop.last_error and TOKEN not in wb.last_error
        assert not fulfilments(fake, 9051)


def test_a_slow_shop_stops_the_try_at_its_deadline(alpha, shop, fake, monkeypatch, time_machine):
    """A try starts no call after its deadline (its lease is longer: no second worker
    takes the write-back up meanwhile); the next try finishes it."""
    with schema_context("alpha"):
        jon = shopify_order(fake, 9045)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        real, slow = shopify_admin.graphql, [True]

        def graphql(integration, query, variables=None):
            answer = real(integration, query, variables)
            if slow:  # the order's read took longer than a try may
                slow.clear()
                later = timezone.now() + dt.timedelta(seconds=writeback.try_deadline_s() + 1)
                time_machine.move_to(later, tick=True)
            return answer

        monkeypatch.setattr(shopify_admin, "graphql", graphql)
        assert writeback.run(pk) == "pending"
        wb = WriteBack.objects.get(pk=pk)
        assert wb.attempts == 1 and "ran out of time" in wb.last_error
        assert not fake.graphql_calls("fulfillmentCreate")
        wait_passes(pk)
        assert writeback.run(pk) == "done"
        assert len(fulfilments(fake, 9045)) == 1
        assert fake.events_of(SHOP, 9045) == ["OUT_FOR_DELIVERY"]


# --- idempotency --------------------------------------------------------------------------


def test_every_write_back_run_twice_leaves_one_fulfilment_and_one_event_of_each(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9061)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="delivered")
        assert run_all() == ["done", "done"]
        for wb in WriteBack.objects.order_by("pk"):
            # its answer lost: the job runs again, as if nothing had been kept
            WriteBack.objects.filter(pk=wb.pk).update(
                status=WriteBack.Status.PENDING, result={}, next_attempt_at=timezone.now()
            )
            assert writeback.run(wb.pk) == "done"
        assert len(fulfilments(fake, 9061)) == 1
        assert fake.events_of(SHOP, 9061) == ["OUT_FOR_DELIVERY", "DELIVERED"]
        # the source alone, with nothing remembered: the fulfilment with our link is adopted
        source = registry.store("shopify")
        for action in ("set_off", "delivered", "set_off"):
            kept = source.write_back(action, jon, store=SHOP, state={})
            assert kept == {"fulfillment_id": fulfilments(fake, 9061)[0]["id"]}
        assert len(fulfilments(fake, 9061)) == 1
        assert fake.events_of(SHOP, 9061) == ["OUT_FOR_DELIVERY", "DELIVERED"]
        # the same change recorded twice (a double queue) is one write-back
        assert writeback.record(jon, "delivered") == WriteBack.objects.get(action="delivered")
        assert WriteBack.objects.count() == 2


def test_our_fulfilment_is_found_by_its_number_if_shopify_wrote_the_link_otherwise(
    alpha, shop, fake
):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9065)
        source = registry.store("shopify")
        first = source.write_back("set_off", jon, store=SHOP, state={})
        (made,) = fulfilments(fake, 9065)
        made["tracking"] = {**made["tracking"], "url": made["tracking"]["url"] + "?utm=shop"}
        again = source.write_back("delivered", jon, store=SHOP, state={})
        assert again == first
        assert len(fulfilments(fake, 9065)) == 1
        assert fake.events_of(SHOP, 9065) == ["OUT_FOR_DELIVERY", "DELIVERED"]


def test_a_second_set_off_after_a_failed_attempt_is_told_again(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9071)
        source = registry.store("shopify")
        state: dict = {}
        for action in ("set_off", "failed", "set_off", "delivered"):
            state.update(source.write_back(action, jon, store=SHOP, state=state))
        assert fake.events_of(SHOP, 9071) == [
            "OUT_FOR_DELIVERY",
            "ATTEMPTED_DELIVERY",
            "OUT_FOR_DELIVERY",
            "DELIVERED",
        ]
        assert len(fulfilments(fake, 9071)) == 1


# --- what is not fulfilled ----------------------------------------------------------------


def test_an_order_cancelled_in_shopify_leaves_its_route_and_nothing_is_fulfilled(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9081, lat=51.51, lng=-0.13)
        ann = shopify_order(fake, 9082, lat=51.49, lng=-0.11)
        route = published_route()
        version = route.version
        assert jon.pk in orders_on(route)
        fake.shop(SHOP).orders[9081].cancelled = True
        cancel = shopify_payload(
            9081,
            lat=51.51,
            lng=-0.13,
            cancelled_at="2026-11-24T16:00:00Z",
            updated_at="2026-11-24T16:00:00Z",
            cancel_reason="customer",
        )
        assert webhook("orders/cancelled", cancel) == "processed"
        jon.refresh_from_db()
        route.refresh_from_db()
        assert jon.status == OrderStatus.CANCELLED
        assert not PlanStop.objects.filter(order=jon).exists()  # its stop is gone
        assert route.version == version + 1  # the driver is given the route without it
        stop_event(driver=route.driver, order_id=ann.pk, event="en_route")
        assert list(WriteBack.objects.values_list("order_id", flat=True)) == [ann.pk]
        assert run_all() == ["done"]
        assert not fulfilments(fake, 9081)
        assert len(fulfilments(fake, 9082)) == 1


def test_an_order_cancelled_in_shopify_before_we_heard_is_a_clear_permanent_error(
    alpha, shop, fake
):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9091)
        route = published_route()
        fake.shop(SHOP).orders[9091].cancelled = True  # its webhook not arrived yet
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        assert writeback.run(pk) == "failed"
        wb = WriteBack.objects.get(pk=pk)
        assert "cancelled in Shopify" in wb.last_error
        assert not fulfilments(fake, 9091)
        assert not fake.graphql_calls("fulfillmentCreate")


def test_an_order_with_nothing_to_ship_is_done_with_a_note(alpha, shop, fake):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9101)
        # the shop fulfilled it already, by hand, with a carrier of its own
        fake.shop(SHOP).orders[9101].fulfillments.append(
            {
                "id": "gid://shopify/Fulfillment/1",
                "line_items": [{"line_id": ROSES, "quantity": 2}, {"line_id": CARD, "quantity": 1}],
                "tracking": {"company": "Other", "number": "X", "url": "https://other.example"},
                "notify": False,
                "events": [],
            }
        )
        kept = registry.store("shopify").write_back("set_off", jon, store=SHOP, state={})
        assert "nothing was fulfilled" in kept["note"].lower()
        assert len(fulfilments(fake, 9101)) == 1
        assert not fake.graphql_calls("fulfillmentCreate")


def test_shopify_user_errors_fail_for_good_with_shopifys_message(alpha, shop, fake, monkeypatch):
    with schema_context("alpha"):
        jon = shopify_order(fake, 9111)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="en_route")
        (pk,) = pending_pks()
        fulfil = fake._fulfil

        def merchant_first(shop_, fulfillment):
            # the merchant fulfilled the roses by hand between our read and our create
            order = shop_.orders[9111]
            order.fulfillments.append(
                {
                    "id": "gid://shopify/Fulfillment/7",
                    "line_items": [{"line_id": ROSES, "quantity": 2}],
                    "tracking": None,
                    "events": [],
                }
            )
            return fulfil(shop_, fulfillment)

        monkeypatch.setattr(fake, "_fulfil", merchant_first)
        assert writeback.run(pk) == "failed"
        wb = WriteBack.objects.get(pk=pk)
        assert wb.last_error == (
            "Shopify refused the fulfilment: Invalid fulfillment order line item quantity "
            "requested."
        )
        with pytest.raises(PermanentError, match="Fulfillment does not exist"):
            ShopifySource()._event(
                shop, "gid://shopify/Fulfillment/404", "DELIVERED", timezone.now(), ""
            )


# --- which shops write back ---------------------------------------------------------------


def test_a_custom_app_shop_writes_nothing_back(alpha, fake):
    with schema_context("alpha"):
        ShopifyIntegration.objects.create(shop_domain=SHOP, mode="custom", client_secret="s" * 32)
        jon = shopify_order(fake, 9121)
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="delivered")
        assert not WriteBack.objects.exists()
    assert not fake.graphql_calls()


def test_a_write_back_of_alpha_never_uses_betas_shop(alpha, beta, shop, fake):
    beta_shop, beta_token = "beta-shop.myshopify.com", "shpat_" + "f" * 32
    fake.shop(beta_shop).token = beta_token
    fake.add_order(beta_shop, 9131, LINES)
    with schema_context("beta"):
        ShopifyIntegration.objects.create(
            shop_domain=beta_shop, mode="app", access_token=beta_token
        )
    with schema_context("alpha"):
        jon = shopify_order(fake, 9131)  # the same Shopify order id in alpha's shop
        route = published_route()
        stop_event(driver=route.driver, order_id=jon.pk, event="delivered")
        assert run_all() == ["done", "done"]
    calls = fake.graphql_calls()
    assert calls and all(c["token"] == TOKEN and f"/{SHOP}/" in c["path"] for c in calls)
    assert not fake.shop(beta_shop).orders[9131].fulfillments
    assert len(fulfilments(fake, 9131)) == 1
    with schema_context("beta"):
        assert not WriteBack.objects.exists()
