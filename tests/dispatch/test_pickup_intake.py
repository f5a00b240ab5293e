"""Pickup-and-delivery orders in: the API (create, bulk, PATCH, idempotency, 400s), and
the pair kept together when one end is cancelled or rebooked."""

import json

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderStatus, PickupDelivery
from dispatch.services.orders import order_create, order_reschedule, order_transition
from tests.conftest import api_client, tenant_today

PICKUP = {
    "name": "Corner Bakery",
    "phone": "020 7946 0000",
    "lat": 51.5010,
    "lng": -0.1200,
    "time_windows": [{"start": "08:00", "end": "10:00"}],
    "service_s": 120,
    "notes": "Ring the back door",
}


def order_body(**extra):
    return {
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "lat": 51.5200,
        "lng": -0.1000,
        "delivery_date": str(tenant_today(1)),
        "time_windows": [{"start": "11:00", "end": "13:00"}],
        "weight_kg": 4,
        "items": 2,
        "required_skills": ["fridge"],
        **extra,
    }


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_an_order_with_a_pickup_creates_both_ends_and_the_pair(alpha):
    client = api_client(alpha.host, alpha.api_key)
    response = post(client, "/api/v1/orders", order_body(pickup=PICKUP))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "delivery" and body["delivers"] is None
    pickup = body["pickup"]
    assert pickup["name"] == "Corner Bakery" and pickup["status"] == "unassigned"
    assert pickup["phone"] == "+442079460000"
    assert pickup["time_windows"] == [{"start": "08:00", "end": "10:00"}]
    with schema_context("alpha"):
        pair = PickupDelivery.objects.get(delivery_id=body["id"])
        assert pair.pickup_id == pickup["id"]
        stored = pair.pickup
        assert stored.kind == "pickup" and stored.delivery_date == tenant_today(1)
        assert (stored.items, stored.required_skills) == (2, ["fridge"])  # the same parcel
        assert stored.service_s == 120 and stored.notes == "Ring the back door"
    answer = client.get(f"/api/v1/orders/{pickup['id']}").json()
    assert answer["kind"] == "pickup" and answer["pickup"] is None
    assert answer["delivers"] == {
        "id": body["id"],
        "status": "unassigned",
        "customer_name": "Ada Lovelace",
    }


def test_an_order_without_a_pickup_is_as_before(alpha):
    response = post(api_client(alpha.host, alpha.api_key), "/api/v1/orders", order_body())
    assert response.status_code == 201
    assert response.json()["pickup"] is None
    with schema_context("alpha"):
        assert not PickupDelivery.objects.exists()


@pytest.mark.parametrize(
    ("pickup", "fields"),
    [
        ({**PICKUP, "name": ""}, {"pickup.name"}),
        ({**PICKUP, "lat": 95}, {"pickup.lat"}),
        ({**PICKUP, "lng": None}, {"pickup.lng"}),
        ({"name": "No place"}, {"pickup.address_line1"}),
        ({**PICKUP, "time_windows": [{"start": "10:00", "end": "09:00"}]}, {"pickup.time_windows"}),
        ({**PICKUP, "service_s": "120"}, {"pickup.service_s"}),  # JSON types, as for the order
        ({**PICKUP, "colour": "red"}, {"pickup.colour"}),
        ("Corner Bakery", {"pickup"}),  # not an object: the field's own error
    ],
)
def test_bad_pickup_fields_are_400_under_pickup(alpha, pickup, fields):
    response = post(
        api_client(alpha.host, alpha.api_key), "/api/v1/orders", order_body(pickup=pickup)
    )
    assert response.status_code == 400, response.json()
    assert set(response.json()["errors"]) == fields
    with schema_context("alpha"):
        assert not Order.objects.exists()  # neither end


def test_a_repeated_create_makes_one_pair(alpha):
    client = api_client(alpha.host, alpha.api_key)
    body = order_body(pickup=PICKUP, external_id="PD-1")
    first = post(client, "/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="pd-1")
    again = post(client, "/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="pd-1")
    conflict = post(client, "/api/v1/orders", body)  # same external id, no key: 409

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert conflict.status_code == 409 and conflict.json()["order_id"] == first.json()["id"]
    with schema_context("alpha"):
        assert Order.objects.count() == 2 and PickupDelivery.objects.count() == 1


def test_bulk_create_pairs_the_good_items_and_answers_the_bad(alpha):
    client = api_client(alpha.host, alpha.api_key)
    items = [
        order_body(pickup=PICKUP, external_id="B-1"),
        order_body(pickup={**PICKUP, "lat": "north"}, external_id="B-2"),
        order_body(external_id="B-3"),
    ]
    response = post(client, "/api/v1/orders/bulk", {"orders": items})

    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid", "created"]
    assert set(results[1]["errors"]) == {"pickup.lat"}
    with schema_context("alpha"):
        (pair,) = PickupDelivery.objects.all()
        assert pair.delivery_id == results[0]["id"]
        assert Order.objects.filter(kind="pickup").count() == 1
    again = post(client, "/api/v1/orders/bulk", {"orders": items})
    assert [r["status"] for r in again.json()["results"]] == ["exists", "invalid", "exists"]
    with schema_context("alpha"):
        assert PickupDelivery.objects.count() == 1


def test_patch_changes_the_pickup_and_adds_one_to_an_order_in_the_pool(alpha):
    client = api_client(alpha.host, alpha.api_key)
    plain = post(client, "/api/v1/orders", order_body()).json()

    added = client.patch(
        f"/api/v1/orders/{plain['id']}",
        json.dumps({"pickup": PICKUP}),
        content_type="application/json",
    )
    assert added.status_code == 200, added.json()
    pickup_id = added.json()["pickup"]["id"]

    changed = client.patch(
        f"/api/v1/orders/{plain['id']}",
        json.dumps({"pickup": {**PICKUP, "name": "Other Bakery"}}),
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert changed.json()["pickup"] == {**changed.json()["pickup"], "id": pickup_id}
    assert changed.json()["pickup"]["name"] == "Other Bakery"
    bad = client.patch(
        f"/api/v1/orders/{plain['id']}",
        json.dumps({"pickup": {**PICKUP, "lat": 200}}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"pickup.lat"}
    of_pickup = client.patch(
        f"/api/v1/orders/{pickup_id}",
        json.dumps({"pickup": PICKUP}),
        content_type="application/json",
    )
    assert of_pickup.status_code == 400 and "pickup" in of_pickup.json()["errors"]
    with schema_context("alpha"):
        assert PickupDelivery.objects.count() == 1


def test_another_tenants_pair_is_not_found(alpha, beta):
    theirs = post(api_client(beta.host, beta.api_key), "/api/v1/orders", order_body(pickup=PICKUP))
    pickup_id = theirs.json()["pickup"]["id"]
    client = api_client(alpha.host, alpha.api_key)

    with schema_context("alpha"):
        mine = order_create(order_body(customer_name="Mine"), source="api")
    for pk in (pickup_id, theirs.json()["id"]):
        answer = client.get(f"/api/v1/orders/{pk}")
        if pk == mine.pk:  # ids repeat across schemas: alpha sees its own, unpaired order
            assert answer.json()["pickup"] is None and answer.json()["customer_name"] == "Mine"
        else:
            assert answer.status_code == 404
    listed = client.get("/api/v1/orders").json()["results"]
    assert [o["customer_name"] for o in listed] == ["Mine"]


@pytest.fixture
def pair(alpha):
    with schema_context("alpha"):
        delivery = order_create(order_body(pickup=PICKUP), source="api")
        yield delivery, delivery.pair_as_delivery.pickup


@pytest.mark.parametrize("end", ["pickup", "delivery"])
def test_cancelling_either_end_cancels_both(pair, end):
    delivery, pickup = pair
    order_transition(order=pickup if end == "pickup" else delivery, to=OrderStatus.CANCELLED)
    delivery.refresh_from_db()
    pickup.refresh_from_db()
    assert delivery.status == pickup.status == OrderStatus.CANCELLED
    reasons = list(
        (pickup if end == "delivery" else delivery).events.values_list("reason", flat=True)
    )
    assert any("was cancelled" in r for r in reasons)


def test_rescheduling_the_delivery_moves_the_pickup(pair):
    delivery, pickup = pair
    later = tenant_today(3)
    order_reschedule(order=delivery, delivery_date=later)
    pickup.refresh_from_db()
    assert pickup.delivery_date == later
    assert pickup.time_windows == [{"start": "08:00", "end": "10:00"}]  # its own windows stay


def test_a_failed_pickup_is_rebooked_with_its_delivery(pair):
    delivery, pickup = pair
    Order.objects.filter(pk=pickup.pk).update(status=OrderStatus.FAILED)
    order_reschedule(order=delivery, delivery_date=tenant_today(2))
    pickup.refresh_from_db()
    assert (pickup.status, pickup.delivery_date) == (OrderStatus.UNASSIGNED, tenant_today(2))


def test_a_pickup_that_fails_takes_its_delivery_off_the_route(pair):
    delivery, pickup = pair
    for end in (pickup, delivery):
        for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
            order_transition(order=end, to=status)
    for status in (OrderStatus.EN_ROUTE, OrderStatus.FAILED):
        pickup = order_transition(order=pickup, to=status, reason="Shop closed")
    delivery.refresh_from_db()
    assert delivery.status == OrderStatus.UNASSIGNED
    assert "could not be collected" in delivery.events.latest("created_at").reason


def test_the_list_filters_by_kind(alpha):
    client = api_client(alpha.host, alpha.api_key)
    made = post(client, "/api/v1/orders", order_body(pickup=PICKUP)).json()
    pickups = client.get("/api/v1/orders?kind=pickup").json()["results"]
    deliveries = client.get("/api/v1/orders?kind=delivery").json()["results"]
    assert [o["id"] for o in pickups] == [made["pickup"]["id"]]
    assert [o["id"] for o in deliveries] == [made["id"]]
    assert client.get("/api/v1/orders?kind=parcel").status_code == 400
    everything = client.get("/api/v1/orders?kind=").json()["results"]  # a form's "Any"
    assert len(everything) == 2
