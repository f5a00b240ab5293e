import datetime as dt
import json

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order, OrderEvent
from dispatch.services.orders import order_transition
from tests.conftest import FIXED_NOW, api_client, login_client, tenant_today

# Literal December 2026 dates below: the clock is pinned before them.
# their dates are fixed: the clock is too (time-machine, ticking from FIXED_NOW)
pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

ORDER = {
    "external_id": "A-1001",
    "customer_name": "Ada Lovelace",
    "customer_phone": "020 7946 0958",
    "customer_email": "Ada@Example.com",
    "address_line1": "10 Downing Street",
    "city": "London",
    "postcode": "SW1A 2AA",
    "delivery_date": str(tenant_today(1)),  # the API documents "today or later"
    "time_windows": [{"start": "13:00", "end": "15:00"}, {"start": "09:00", "end": "11:00"}],
    "weight_kg": "2.5",
    "items": 3,
    "required_skills": ["Fridge", "fridge"],
    "priority": 3,
}


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_create_normalises_and_records_who_created_it(alpha):
    client = api_client(alpha.host, alpha.api_key)
    response = post(client, "/api/v1/orders", ORDER)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "unassigned" and body["source"] == "api"
    assert body["customer_phone"] == "+442079460958"  # national number read in GB
    assert body["customer_email"] == "ada@example.com"
    assert body["country"] == "GB"
    assert body["time_windows"] == [
        {"start": "09:00", "end": "11:00"},
        {"start": "13:00", "end": "15:00"},
    ]
    assert body["required_skills"] == ["fridge"]
    assert body["geocode_status"] == "pending"
    with schema_context("alpha"):
        event = OrderEvent.objects.get(order_id=body["id"])
        assert (event.to_status, event.actor) == ("unassigned", f"api_key:{alpha.api_key[4:16]}")


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"customer_name": ""}, {"customer_name"}),
        ({"delivery_date": "01/12/2026"}, {"delivery_date"}),
        ({"customer_phone": "12"}, {"customer_phone"}),
        ({"customer_email": "nope"}, {"customer_email"}),
        ({"time_windows": [{"start": "11:00", "end": "09:00"}]}, {"time_windows"}),
        ({"time_windows": [{"start": "9", "end": "10:00"}]}, {"time_windows"}),
        (
            {
                "time_windows": [
                    {"start": "09:00", "end": "11:00"},
                    {"start": "10:00", "end": "12:00"},
                ]
            },
            {"time_windows"},
        ),
        ({"time_windows": "morning"}, {"time_windows"}),
        ({"lat": 51.5}, {"lng"}),
        ({"lat": 91, "lng": 0}, {"lat"}),
        ({"lat": "north", "lng": 0}, {"lat"}),
        ({"weight_kg": -1}, {"weight_kg"}),
        ({"items": 1.5}, {"items"}),
        ({"items": "1e400"}, {"items"}),
        ({"service_s": 10**12}, {"service_s"}),
        ({"priority": 9}, {"priority"}),
        ({"required_skills": "x" * 41}, {"required_skills"}),
        ({"country": "XX"}, {"country"}),
        ({"status": "delivered"}, {"status"}),
        ({"id": 5, "created_at": "2020-01-01"}, {"id", "created_at"}),
        ({"colour": "blue"}, {"colour"}),
    ],
)
def test_bad_input_is_400_with_field_errors(alpha, change, fields):
    response = post(api_client(alpha.host, alpha.api_key), "/api/v1/orders", {**ORDER, **change})
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == fields


def test_an_order_needs_an_address_or_coordinates(alpha):
    body = {k: v for k, v in ORDER.items() if k not in ("address_line1",)}
    response = post(api_client(alpha.host, alpha.api_key), "/api/v1/orders", body)
    assert response.status_code == 400
    assert "address_line1" in response.json()["errors"]
    located = post(
        api_client(alpha.host, alpha.api_key),
        "/api/v1/orders",
        {**body, "lat": 51.5034, "lng": -0.1276},
    )
    assert located.status_code == 201
    assert located.json()["geocode_status"] == "provided"


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", '"text"', "null"])
def test_malformed_bodies_are_400(alpha, payload):
    client = api_client(alpha.host, alpha.api_key)
    response = client.post("/api/v1/orders", payload, content_type="application/json")
    assert response.status_code == 400


def test_same_idempotency_key_and_body_gives_the_same_order(alpha):
    client = api_client(alpha.host, alpha.api_key)
    first = post(client, "/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    again = post(client, "/api/v1/orders", ORDER, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    other = post(
        client, "/api/v1/orders", {**ORDER, "customer_name": "Bob"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    with schema_context("alpha"):
        assert Order.objects.filter(external_id="A-1001").count() == 1


def test_idempotency_keys_belong_to_their_client(alpha):
    body = {**ORDER, "external_id": ""}
    first = post(
        api_client(alpha.host, alpha.api_key), "/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="k"
    )
    owner = login_client(alpha.host, alpha.owner_email)
    second = post(owner, "/api/v1/orders", body, HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert second.json()["source"] == "dashboard"


def test_a_known_external_id_is_a_409_naming_the_order(alpha):
    client = api_client(alpha.host, alpha.api_key)
    created = post(client, "/api/v1/orders", ORDER).json()
    response = post(client, "/api/v1/orders", ORDER)
    assert response.status_code == 409
    assert response.json()["order_id"] == created["id"]


def test_bulk_create_answers_each_item_and_keeps_the_good_ones(alpha):
    client = api_client(alpha.host, alpha.api_key)
    items = [
        {**ORDER, "external_id": "B-1"},
        {**ORDER, "external_id": "B-2", "delivery_date": "tomorrow"},
        {**ORDER, "external_id": "B-3"},
        {**ORDER, "external_id": "B-1"},
    ]
    response = post(client, "/api/v1/orders/bulk", {"orders": items})
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["exists"], body["invalid"]) == (2, 0, 2)
    assert [r["status"] for r in body["results"]] == ["created", "invalid", "created", "invalid"]
    assert set(body["results"][1]["errors"]) == {"delivery_date"}
    assert "Repeats item 0" in body["results"][3]["errors"]["external_id"][0]

    repeat = post(client, "/api/v1/orders/bulk", {"orders": items}).json()
    assert (repeat["created"], repeat["exists"]) == (0, 2)
    assert repeat["results"][0]["id"] == body["results"][0]["id"]


@pytest.mark.parametrize("body", [{}, {"orders": []}, {"orders": "x"}, {"orders": [ORDER] * 1001}])
def test_bulk_refuses_empty_wrong_or_too_large_requests(alpha, body):
    response = post(api_client(alpha.host, alpha.api_key), "/api/v1/orders/bulk", body)
    assert response.status_code == 400
    assert "orders" in response.json()["errors"]


def test_bulk_items_that_are_not_objects_are_invalid_items(alpha):
    response = post(
        api_client(alpha.host, alpha.api_key), "/api/v1/orders/bulk", {"orders": [1, ORDER]}
    )
    assert [r["status"] for r in response.json()["results"]] == ["invalid", "created"]


def _make_orders(schema: str, count: int, *, first: int = 0, **fields) -> list[Order]:
    with schema_context(schema):
        return [
            Order.objects.create(
                customer_name=f"{schema} customer {i}",
                delivery_date=fields.get("delivery_date", dt.date(2026, 12, 1)),
                address_line1=f"{i} {schema} street",
                external_id=f"{schema}-{i}",
            )
            for i in range(first, first + count)
        ]


def test_list_filters_and_search(alpha):
    _make_orders("alpha", 3)
    _make_orders("alpha", 2, first=3, delivery_date=dt.date(2026, 12, 2))
    client = api_client(alpha.host, alpha.api_key)
    assert len(client.get("/api/v1/orders?delivery_date=2026-12-02").json()["results"]) == 2
    assert (
        len(client.get("/api/v1/orders?date_from=2026-12-01&date_to=2026-12-02").json()["results"])
        == 5
    )
    found = client.get("/api/v1/orders?search=alpha-1").json()["results"]
    assert [o["external_id"] for o in found] == ["alpha-1"]
    assert len(client.get("/api/v1/orders?status=unassigned&status=planned").json()["results"]) == 5
    assert client.get("/api/v1/orders?status=cancelled").json()["results"] == []
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/orders", {"updated_since": future}).json()["results"] == []


@pytest.mark.parametrize(
    "query", ["delivery_date=soon", "status=lost", "updated_since=yesterday", "source=fax"]
)
def test_bad_filters_are_400(alpha, query):
    response = api_client(alpha.host, alpha.api_key).get(f"/api/v1/orders?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_page_size_is_capped(alpha):
    _make_orders("alpha", 3)
    client = api_client(alpha.host, alpha.api_key)
    page = client.get("/api/v1/orders?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert client.get("/api/v1/orders?page_size=100000").status_code == 200


def test_orders_of_another_tenant_are_404_even_with_the_same_id(alpha, beta):
    (beta_order,) = _make_orders("beta", 1)
    (alpha_order,) = _make_orders("alpha", 1)
    client = api_client(alpha.host, alpha.api_key)
    assert client.get(f"/api/v1/orders/{beta_order.pk + 1000}").status_code == 404
    listed = client.get("/api/v1/orders").json()["results"]
    assert all("beta" not in o["customer_name"] for o in listed)
    if beta_order.pk == alpha_order.pk:  # ids repeat across schemas: alpha sees its own row
        assert (
            client.get(f"/api/v1/orders/{beta_order.pk}")
            .json()["customer_name"]
            .startswith("alpha")
        )
    assert api_client(alpha.host, beta.api_key).get("/api/v1/orders").status_code == 401
    patched = client.patch(
        f"/api/v1/orders/{alpha_order.pk}", {"notes": "ring twice"}, format="json"
    )
    assert patched.status_code == 200
    with schema_context("beta"):
        assert Order.objects.get(pk=beta_order.pk).notes == ""


def test_update_changes_details_but_not_identity_or_status(alpha):
    (order,) = _make_orders("alpha", 1)
    client = api_client(alpha.host, alpha.api_key)
    response = client.patch(
        f"/api/v1/orders/{order.pk}",
        {"notes": "Leave with neighbour", "lat": 51.5, "lng": -0.12},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["notes"] == "Leave with neighbour"
    assert response.json()["geocode_status"] == "provided"
    for body, field in (
        ({"external_id": "other"}, "external_id"),
        ({"status": "delivered"}, "status"),
        ({"customer_name": ""}, "customer_name"),
    ):
        refused = client.patch(f"/api/v1/orders/{order.pk}", body, format="json")
        assert refused.status_code == 400 and field in refused.json()["errors"]


def test_cancel_is_recorded_and_harmless_to_repeat(alpha):
    (order,) = _make_orders("alpha", 1)
    client = api_client(alpha.host, alpha.api_key)
    first = client.post(f"/api/v1/orders/{order.pk}/cancel", {"reason": "customer asked"})
    again = client.post(f"/api/v1/orders/{order.pk}/cancel", {"reason": "customer asked"})
    assert first.json()["status"] == again.json()["status"] == "cancelled"
    events = client.get(f"/api/v1/orders/{order.pk}/events").json()
    assert [(e["from_status"], e["to_status"], e["reason"]) for e in events] == [
        ("unassigned", "cancelled", "customer asked")
    ]
    edit = client.patch(f"/api/v1/orders/{order.pk}", {"notes": "x"}, format="json")
    assert edit.status_code == 400


def test_a_delivered_order_cannot_be_cancelled(alpha):
    (order,) = _make_orders("alpha", 1)
    with schema_context("alpha"):
        for status in ("planned", "dispatched", "en_route", "arrived", "delivered"):
            order = order_transition(order=order, to=status, actor="system")
    response = api_client(alpha.host, alpha.api_key).post(f"/api/v1/orders/{order.pk}/cancel")
    assert response.status_code == 400
    assert "cannot go from delivered to cancelled" in response.json()["errors"]["status"][0]


def test_read_only_key_and_drivers_cannot_create(alpha):
    response = post(api_client(alpha.host, alpha.read_key), "/api/v1/orders", ORDER)
    assert response.status_code == 403
    driver = login_client(alpha.host, alpha.driver_email)
    assert post(driver, "/api/v1/orders", ORDER).status_code == 403
    assert driver.get("/api/v1/orders").status_code == 403


def test_an_order_created_meanwhile_by_someone_else_is_reported_as_existing(alpha, monkeypatch):
    """The race the bulk path guards against: between its check and its insert, another
    request creates one of the same external ids. The others are still created."""
    from dispatch.services import orders as order_services

    with schema_context("alpha"):
        Order.objects.create(
            source="api",
            external_id="R-2",
            customer_name="Other request",
            address_line1="x",
            delivery_date=dt.date(2026, 12, 1),
        )
    # The check ran before the other request committed, so it saw nothing.
    monkeypatch.setattr(order_services, "_existing_ids", lambda **kwargs: {})
    items = [{**ORDER, "external_id": f"R-{n}"} for n in range(1, 4)]
    response = post(api_client(alpha.host, alpha.api_key), "/api/v1/orders/bulk", {"orders": items})
    assert [r["status"] for r in response.json()["results"]] == ["created", "exists", "created"]
    with schema_context("alpha"):
        assert Order.objects.filter(external_id__startswith="R-").count() == 3
        assert OrderEvent.objects.filter(order__external_id__startswith="R-").count() == 2
