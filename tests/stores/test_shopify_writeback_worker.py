"""The write-backs as the jobs they are: a driver's taps queue them (after the commit), one
real django-q2 worker runs them in the tenant's schema against the fake Shopify, and
"delivered" reaches the shop after "out for delivery" whatever order the queue holds them
in. Runs outside the test transaction (the worker must see the rows): a tenant of its own.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from tests.conftest import PASSWORD
from tests.dispatch import shopify_payloads as sp
from tests.e2e.conftest import wait_until
from tests.e2e.test_worker import running_worker
from tests.stores.fake_shopify import running_fake_shopify

LINES = [
    {"id": 21, "quantity": 1, "requires_shipping": True},
    {"id": 22, "quantity": 1, "requires_shipping": False},
]


def _on_a_published_route(order_id: int, today: dt.date) -> int:
    """`order_id` on the one route of today's published plan; returns its driver's id."""
    from dispatch.models import Depot, Driver, Vehicle
    from routing.models import Plan, PlanRoute, PlanUnassigned
    from routing.services import edits, publish

    depot = Depot.objects.create(
        name="wb depot", lat=51.5, lng=-0.12, opens_at=dt.time(0), closes_at=dt.time(23, 59)
    )
    van = Vehicle.objects.create(name="wb van", start_depot=depot, capacity_items=50)
    driver = Driver.objects.create(
        name="wb driver", default_vehicle=van, shift_start=dt.time(0), shift_end=dt.time(23, 59)
    )
    plan = Plan.objects.create(
        date=today, depot=depot, status=Plan.Status.DONE, solved_at=dt.datetime.now(dt.UTC)
    )
    at = dt.datetime.now(dt.UTC)
    route = PlanRoute.objects.create(
        plan=plan,
        driver=driver,
        vehicle=van,
        starts_at=at,
        ends_at=at,
        distance_m=0,
        duration_s=0,
    )
    PlanUnassigned.objects.create(plan=plan, order_id=order_id, reason="manual")
    edits.stop_move(plan=plan, order_id=order_id, route_id=route.pk, actor="test")
    publish.plan_publish(plan=plan, actor="test")
    return driver.pk


def test_a_real_worker_writes_an_orders_day_back_to_the_shop(django_db_setup, django_db_blocker):
    from django_tenants.utils import schema_context

    from dispatch.models import Driver, Order, ShopifyIntegration, WebhookEvent
    from dispatch.services import shopify as intake
    from routing.services.auto_dispatch import tenant_today
    from stores.models import WriteBack
    from tenants.services.provisioning import tenant_provision
    from tracking.services.day import stop_event

    with running_fake_shopify() as fake, django_db_blocker.unblock():
        slug = f"wbworker-{secrets.token_hex(3)}"
        made = tenant_provision(
            name="Worker Florists",
            slug=slug,
            owner_email=f"owner@{slug}.test",
            owner_password=PASSWORD,
            country="GB",
        )
        schema, shop, token = made.tenant.schema_name, f"{slug}.myshopify.com", "shpat_" + "7" * 32
        fake.shop(shop).token = token
        fake.add_order(shop, 5001, LINES)
        with schema_context(schema):
            today = tenant_today()
            ShopifyIntegration.objects.create(shop_domain=shop, mode="app", access_token=token)
            payload = sp.order(
                id=5001,
                note_attributes=[{"name": "Delivery Date", "value": today.isoformat()}],
                line_items=[{**line, "title": "x", "price": "1.00"} for line in LINES],
            )
            headers = {"X-Shopify-Topic": "orders/create", "X-Shopify-Event-Id": f"ev-{slug}"}
            intake.webhook_keep(headers=headers, body=json.dumps(payload).encode(), shop=shop)
            intake.webhook_event_process(WebhookEvent.objects.get().pk)
            order = Order.objects.get(external_id="5001")
            driver = Driver.objects.get(pk=_on_a_published_route(order.pk, today))
            # the driver taps "delivered" straight away: set off and delivered, one commit
            stop_event(driver=driver, order_id=order.pk, event="delivered")
            assert WriteBack.objects.filter(status="pending").count() == 2
        assert not fake.graphql_calls()  # nothing is written before a worker runs the jobs

        with running_worker(SHOPIFY_SHOP_URL=fake.shop_url):

            def written() -> bool:
                with schema_context(schema):
                    return set(WriteBack.objects.values_list("status", flat=True)) == {"done"}

            wait_until(written, timeout=90, interval=0.5)

        (made_fulfilment,) = fake.shop(shop).orders[5001].fulfillments
        assert [(i["line_id"], i["quantity"]) for i in made_fulfilment["line_items"]] == [(21, 1)]
        assert made_fulfilment["tracking"]["company"] == "Worker Florists"
        assert made_fulfilment["tracking"]["number"] == f"{schema.upper()}-{order.pk}"
        assert fake.events_of(shop, 5001) == ["OUT_FOR_DELIVERY", "DELIVERED"]
        assert all(c["token"] == token for c in fake.graphql_calls())
