"""Pickup-and-delivery orders in a CSV file: optional pickup columns (found by their
names), per-line errors about the pickup, the pair created on import, and the export
writing a pickup on its delivery's line so that it reads back in."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import Order, PickupDelivery
from dispatch.services import csv_io
from tests.conftest import tenant_today

pytestmark = pytest.mark.django_db


def csv_text() -> str:
    day = tenant_today(2).isoformat()
    return (
        "Order ID,Customer,Address,Lat,Lng,Delivery Date,From,Until,"
        "Pickup Name,Pickup Address,Pickup Lat,Pickup Lng,Pickup Window,Pickup Minutes\n"
        f"P-1,Ada Receiver,5 Delivery Road,51.52,-0.11,{day},12:00,15:00,"
        "Corner Bakery,1 Bakery Lane,51.51,-0.12,9am-11am,4\n"
        f"P-2,Ben Plain,6 Plain Road,51.53,-0.10,{day},,,,,,,,\n"
        f"P-3,Cara Bad,7 Bad Road,51.54,-0.09,{day},,,Shop,,north,-0.12,25:00-26:00,\n"
    )


def test_pickup_columns_are_found_and_make_pairs_on_import(alpha):
    with schema_context("alpha"):
        csv_import = csv_io.csv_import_start(filename="pairs.csv", content=csv_text())
        assert {
            target: csv_import.mapping.get(target)
            for target in ("pickup_name", "pickup_address", "pickup_lat", "pickup_lng")
        } == {
            "pickup_name": "Pickup Name",
            "pickup_address": "Pickup Address",
            "pickup_lat": "Pickup Lat",
            "pickup_lng": "Pickup Lng",
        }
        assert csv_import.mapping["pickup_time_windows"] == "Pickup Window"
        assert csv_import.mapping["pickup_service_minutes"] == "Pickup Minutes"
        assert csv_import.mapping["window_start"] == "From"  # the delivery's own window

        preview = csv_io.csv_import_preview(csv_import=csv_import)
        errors = {e["line"]: set(e["errors"]) for e in preview.errors}
        assert errors == {4: {"pickup.lat", "pickup.time_windows"}}

        csv_io.csv_import_commit(csv_import=csv_import, actor="test")
        delivery = Order.objects.get(external_id="P-1")
        pickup = delivery.pair_as_delivery.pickup
        assert (pickup.kind, pickup.customer_name, pickup.address_line1) == (
            "pickup",
            "Corner Bakery",
            "1 Bakery Lane",
        )
        assert pickup.time_windows == [{"start": "09:00", "end": "11:00"}]
        assert pickup.service_s == 240 and pickup.delivery_date == delivery.delivery_date
        assert delivery.time_windows == [{"start": "12:00", "end": "15:00"}]
        plain = Order.objects.get(external_id="P-2")
        assert not PickupDelivery.objects.filter(delivery=plain).exists()
        assert PickupDelivery.objects.count() == 1


def test_a_pickup_window_half_mapped_is_refused(alpha):
    with schema_context("alpha"):
        csv_import = csv_io.csv_import_start(filename="pairs.csv", content=csv_text())
        mapping = {**csv_import.mapping, "pickup_window_start": "From"}
        mapping.pop("window_start")
        with pytest.raises(ValidationError) as refused:
            csv_io.csv_import_set_mapping(csv_import=csv_import, mapping=mapping)
        assert "pickup_window_end" in str(refused.value)


def test_the_export_writes_the_pickup_on_its_delivery_line_and_reads_back(alpha):
    from dispatch.services.orders import order_create

    with schema_context("alpha"):
        order_create(
            {
                "external_id": "X-1",
                "customer_name": "Ada Receiver",
                "lat": 51.52,
                "lng": -0.11,
                "delivery_date": str(tenant_today(3)),
                "pickup": {
                    "name": "Corner Bakery",
                    "phone": "+442079460000",
                    "address_line1": "1 Bakery Lane",
                    "lat": 51.51,
                    "lng": -0.12,
                    "time_windows": [{"start": "08:00", "end": "10:00"}],
                    "service_s": 120,
                },
            },
            source="api",
        )
        text = "".join(csv_io.orders_csv(Order.objects.all()))
        lines = text.splitlines()
        assert len(lines) == 2  # the header and the delivery: no line of the pickup's own
        row = dict(zip(lines[0].split(","), lines[1].split(","), strict=True))
        assert (row["pickup_name"], row["pickup_window_start"]) == ("Corner Bakery", "08:00")

        Order.objects.filter(external_id="X-1").update(external_id="X-old")
        csv_import = csv_io.csv_import_start(filename="back.csv", content=text)
        preview = csv_io.csv_import_preview(csv_import=csv_import)
        assert preview.errors == []
        csv_io.csv_import_commit(csv_import=csv_import, actor="test")
        pickup = Order.objects.get(external_id="X-1").pair_as_delivery.pickup
        assert (pickup.customer_name, pickup.customer_phone, pickup.service_s) == (
            "Corner Bakery",
            "+442079460000",
            120,
        )
        assert pickup.time_windows == [{"start": "08:00", "end": "10:00"}]
