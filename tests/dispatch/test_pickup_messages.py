"""A pickup's contact is told of a collection, not a delivery; a parcel scanned at the
pickup stop is the pair's parcel (its codes are on both ends)."""

from __future__ import annotations

import uuid

import pytest
from django_tenants.utils import schema_context

from dispatch.models import OrderStatus
from dispatch.services.orders import order_create, order_transition
from notifications.models import Notification
from notifications.services import sending
from tests.conftest import tenant_today

pytestmark = pytest.mark.django_db


def make_pair(**delivery):
    return order_create(
        {
            "customer_name": "Ada Receiver",
            "customer_email": "ada@example.com",
            "lat": 51.52,
            "lng": -0.11,
            "delivery_date": str(tenant_today(2)),
            "barcodes": ["STORE-42"],
            "pickup": {
                "name": "Bea Sender",
                "email": "bea@example.com",
                "lat": 51.51,
                "lng": -0.12,
                "time_windows": [{"start": "09:00", "end": "11:00"}],
            },
            **delivery,
        },
        source="api",
    )


def test_the_pickup_contact_hears_of_a_collection_and_the_receiver_of_a_delivery(alpha):
    with schema_context("alpha"):
        delivery = make_pair()
        pickup = delivery.pair_as_delivery.pickup
        assert sending.notify_orders([delivery.pk, pickup.pk], "confirmed") == 2
        to_pickup = Notification.objects.get(order=pickup, event="confirmed")
        to_delivery = Notification.objects.get(order=delivery, event="confirmed")

        assert to_pickup.to == "bea@example.com"
        assert "Hello Bea," in to_pickup.body
        assert "we will collect a parcel" in to_pickup.body and "09:00-11:00" in to_pickup.body
        assert "collect" not in to_delivery.body and "is booked for" in to_delivery.body

        for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED, OrderStatus.EN_ROUTE):
            order_transition(order=pickup, to=status)
        order_transition(order=pickup, to=OrderStatus.FAILED, reason="Shop closed")
        failed = Notification.objects.filter(order=pickup, event="failed").first()
        if failed is not None:  # the tenant's default events include failures by email
            assert "could not collect" in failed.body


def test_a_store_code_scanned_at_the_pickup_stop_is_the_pairs_parcel(alpha):
    import datetime as dt

    from dispatch.models import Depot, Driver, Vehicle
    from routing.models import Plan, PlanRoute, PlanStop
    from tracking.services.driver_app import scan_record

    with schema_context("alpha"):
        delivery = make_pair(delivery_date=str(tenant_today()))
        pickup = delivery.pair_as_delivery.pickup
        depot = Depot.objects.create(name="d", lat=51.5, lng=-0.12)
        van = Vehicle.objects.create(name="v", start_depot=depot)
        driver = Driver.objects.create(name="Dana", default_vehicle=van)
        now = dt.datetime.now(dt.UTC)
        plan = Plan.objects.create(
            date=tenant_today(), status="done", solved_at=now, published_at=now
        )
        route = PlanRoute.objects.create(
            plan=plan,
            driver=driver,
            vehicle=van,
            starts_at=now,
            ends_at=now,
            distance_m=0,
            duration_s=0,
            version=1,
        )
        for k, order in enumerate((pickup, delivery), start=1):
            PlanStop.objects.create(
                route=route, sequence=k, order=order, arrives_at=now, starts_at=now, departs_at=now
            )
            for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
                order_transition(order=order, to=status)

        at_pickup = scan_record(
            driver=driver, key=uuid.uuid4(), code="STORE-42", stage="door", expected=pickup.pk
        )
        at_door = scan_record(
            driver=driver, key=uuid.uuid4(), code="STORE-42", stage="door", expected=delivery.pk
        )
        wrong = scan_record(
            driver=driver, key=uuid.uuid4(), code="OTHER-1", stage="door", expected=pickup.pk
        )
    assert at_pickup.matched and at_door.matched and not wrong.matched
