"""Auto-dispatch during a running day, with one real django-q2 worker: an order arriving by
each intake path (the API, a CSV import, a Shopify webhook, the dashboard's form) lands
on a published route with a new route version for its driver, and its customer gets the
confirmation. The requests go through Django's test client on the tenant's host (their
transactions commit: this test runs outside the test transaction); the jobs they queue
(the Shopify event, the auto-dispatch batches, the messages) run in the worker process.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from tests.conftest import PASSWORD
from tests.dispatch import shopify_payloads as sp
from tests.e2e.conftest import wait_until
from tests.e2e.test_worker import running_worker

POINTS = {  # near the depot (51.5, -0.12), each on its own side
    "api": (51.515, -0.12),
    "csv": (51.485, -0.12),
    "shopify": (51.5, -0.1),
    "dashboard": (51.5, -0.14),
}


def _running_day(schema: str) -> tuple[int, dt.date]:
    """Today's published plan in `schema`: two vans with two stops each, drivers on shift
    all day (the test runs at any hour). Returns the plan's id and today."""
    from django_tenants.utils import schema_context

    from dispatch.models import Depot, Driver, Order, Vehicle
    from routing.models import Plan, PlanRoute, PlanUnassigned
    from routing.services import edits, publish
    from routing.services.auto_dispatch import tenant_today
    from tenants.models import Tenant

    with schema_context(schema):
        # the tenant's clock near midday, whatever the hour the test runs at: a whole
        # running day to dispatch into (Etc/GMT-N is N hours ahead of UTC)
        ahead = 11 - dt.datetime.now(dt.UTC).hour
        ahead = ahead + 24 if ahead < -12 else ahead - 24 if ahead > 14 else ahead
        zone = f"Etc/GMT{-ahead:+d}" if ahead else "Etc/GMT"
        Tenant.objects.filter(schema_name=schema).update(auto_dispatch=True, time_zone=zone)
        today = tenant_today()
        depot = Depot.objects.create(
            name="ad depot", lat=51.5, lng=-0.12, opens_at=dt.time(0), closes_at=dt.time(23, 59)
        )
        plan = Plan.objects.create(
            date=today, depot=depot, status=Plan.Status.DONE, solved_at=dt.datetime.now(dt.UTC)
        )
        for k, lat in ((1, 51.51), (2, 51.49)):
            van = Vehicle.objects.create(
                name=f"ad van {k}", start_depot=depot, capacity_items=50, max_stops=10
            )
            driver = Driver.objects.create(
                name=f"ad driver {k}",
                default_vehicle=van,
                shift_start=dt.time(0),
                shift_end=dt.time(23, 59),
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
            for n in range(2):
                order = Order.objects.create(
                    customer_name=f"ad planned {k}-{n}",
                    address_line1=f"{n} Road",
                    city="London",
                    delivery_date=today,
                    lat=lat,
                    lng=-0.12 + n * 0.004,
                    weight_kg=Decimal("1"),
                    service_s=120,
                )
                PlanUnassigned.objects.create(plan=plan, order=order, reason="manual")
                edits.stop_move(plan=plan, order_id=order.pk, route_id=route.pk, actor="test")
        publish.plan_publish(plan=plan, actor="test")
        return plan.pk, today


def _landed(schema: str, names: dict[str, str]) -> dict[str, tuple]:
    """Per intake path: (status, route id, the route's versions naming it as added) of the
    order whose customer is `names[path]`, once it exists."""
    from django_tenants.utils import schema_context

    from dispatch.models import Order
    from routing.models import PlanStop, RouteVersion

    out = {}
    with schema_context(schema):
        for path, name in names.items():
            order = Order.objects.filter(customer_name=name).first()
            if order is None:
                continue
            stop = PlanStop.objects.filter(order=order).select_related("route").first()
            added = (
                [
                    v.number
                    for v in RouteVersion.objects.filter(route=stop.route)
                    if order.pk in v.changes.get("added", [])
                ]
                if stop
                else []
            )
            out[path] = (order.status, stop.route_id if stop else None, added, order.pk)
    return out


def test_orders_from_every_intake_path_are_auto_dispatched_by_a_worker(
    django_db_setup, django_db_blocker
):
    from django.test import Client
    from django_tenants.utils import schema_context

    from dispatch.services import shopify
    from notifications.models import Notification
    from routing.models import DispatchAlert, Plan
    from tenants.services.provisioning import tenant_provision

    with django_db_blocker.unblock():
        slug = f"autod-{secrets.token_hex(3)}"
        made = tenant_provision(
            name="Autod Co",
            slug=slug,
            owner_email=f"owner@{slug}.test",
            owner_password=PASSWORD,
            country="GB",
        )
        schema, host = made.tenant.schema_name, made.domain.domain
        plan_id, today = _running_day(schema)
        shop = f"{slug}.myshopify.com"
        with schema_context(schema):
            shopify.integration_save(shop_domain=shop, client_secret=sp.SECRET)

        names = {path: f"Auto {path} {slug}" for path in POINTS}
        email = f"customer@{slug}.test"
        api = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {made.api_key_secret}")
        lat, lng = POINTS["api"]
        response = api.post(
            "/api/v1/orders",
            {
                "customer_name": names["api"],
                "customer_email": email,
                "address_line1": "1 Api Street",
                "city": "London",
                "delivery_date": today.isoformat(),
                "lat": lat,
                "lng": lng,
            },
            content_type="application/json",
        )
        assert response.status_code == 201, response.content

        lat, lng = POINTS["csv"]
        csv = (
            "Order ID,Customer,Email,Address,City,Delivery Date,Latitude,Longitude\n"
            f"CSV-1,{names['csv']},{email},2 Csv Street,London,{today.isoformat()},{lat},{lng}\n"
        )
        upload = api.post("/api/v1/imports", csv.encode(), content_type="text/csv")
        assert upload.status_code == 201, upload.content
        imported = upload.json()["id"]
        assert api.get(f"/api/v1/imports/{imported}/preview").json()["valid"] == 1
        commit = api.post(f"/api/v1/imports/{imported}/commit")
        assert commit.status_code == 200 and commit.json()["created_count"] == 1, commit.content

        lat, lng = POINTS["shopify"]
        payload = sp.order(
            id=int(secrets.randbits(48)),
            email=email,
            note_attributes=[{"name": "Delivery Date", "value": today.isoformat()}],
            shipping_address={
                **sp.ORDER["shipping_address"],
                "latitude": lat,
                "longitude": lng,
                "first_name": "Auto",
                "last_name": f"shopify {slug}",
                "name": names["shopify"],
            },
            customer={**sp.ORDER["customer"], "first_name": "Auto", "last_name": f"shopify {slug}"},
        )
        raw = sp.body(payload)
        response = Client(HTTP_HOST=host).post(
            "/api/v1/integrations/shopify/webhooks",
            raw,
            content_type="application/json",
            **sp.headers(raw, topic="orders/create", event_id=f"ev-{slug}", shop=shop),
        )
        assert response.status_code in (200, 202), response.content

        dashboard = Client(HTTP_HOST=host)
        assert (
            dashboard.post(
                "/login/", {"username": f"owner@{slug}.test", "password": PASSWORD}
            ).status_code
            == 302
        )
        lat, lng = POINTS["dashboard"]
        response = dashboard.post(
            "/orders/new/",
            {
                "customer_name": names["dashboard"],
                "customer_email": email,
                "address_line1": "4 Form Street",
                "city": "London",
                "delivery_date": today.isoformat(),
                "lat": str(lat),
                "lng": str(lng),
                "service_minutes": "2",
                "items": "1",
                "weight_kg": "1",
                "priority": "2",
            },
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        # nothing placed yet: the jobs wait for the worker
        assert not any(v[1] for v in _landed(schema, names).values())

    def all_landed() -> bool:
        with django_db_blocker.unblock():
            landed = _landed(schema, names)
        return len(landed) == 4 and all(status == "dispatched" for status, *_ in landed.values())

    with running_worker(), django_db_blocker.unblock():
        wait_until(all_landed, timeout=120, interval=0.5)
        # the confirmation is another job of the same worker
        with schema_context(schema):
            wait_until(
                lambda: (
                    Notification.objects.filter(
                        order__customer_name__in=names.values(), event="confirmed"
                    ).count()
                    >= 4
                ),
                timeout=60,
                interval=0.5,
            )

    with django_db_blocker.unblock():
        landed = _landed(schema, names)
        with schema_context(schema):
            plan = Plan.objects.get(pk=plan_id)
            routes = set(plan.routes.values_list("pk", flat=True))
            for path, (status, route_id, added, _pk) in landed.items():
                assert status == "dispatched", path
                assert route_id in routes, path  # on today's published plan
                assert len(added) == 1 and added[0] >= 2, (path, added)  # a new version
            assert not DispatchAlert.objects.exists()
            assert Plan.objects.filter(date=today).count() == 1
