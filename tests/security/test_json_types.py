"""Wrong JSON types are refused, not coerced (issue 22): text must be a JSON string, a
number a JSON number (never true/false, never text), a whole number an integer, a yes/no
true or false, a date a "YYYY-MM-DD" string. `{"a": 1}` was stored as "{'a': 1}",
`["a"]` as "['a']", `true` as 1.0, "high" as 3 and 20261201 as a date.

Every writable API input is covered: orders (create, bulk, PATCH, reschedule), depots,
vehicles, drivers, plans, webhook subscriptions, API keys, users and the sign-up. Form
bodies carry only text and are read as before."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.http import QueryDict
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from core.json_types import JSONObject, JSONTypedSerializer, json_type_error
from dispatch.models import Depot, Driver, Order, Vehicle
from dispatch.services.order_input import OrderInputSerializer
from tenants.models import ApiKey
from tests.conftest import FIXED_NOW, api_client, login_client, tenant_today
from webhooks.models import Subscription

pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

ORDER = {
    "external_id": "T-1",
    "customer_name": "Ada Lovelace",
    "customer_phone": "020 7946 0958",
    "customer_email": "ada@example.com",
    "address_line1": "10 Downing Street",
    "address_line2": "",
    "city": "London",
    "postcode": "SW1A 2AA",
    "region": "",
    "country": "GB",
    "lat": 51.5034,
    "lng": -0.1276,
    "delivery_date": str(tenant_today(1)),
    "time_windows": [{"start": "09:00", "end": "11:00"}],
    "service_s": 300,
    "weight_kg": "2.5",
    "volume_l": 10,
    "items": 2,
    "required_skills": ["fridge"],
    "barcodes": ["0123456789012"],
    "priority": 3,
    "notes": "Ring twice",
}

#: (field, a value of the wrong JSON type): the issue's examples and one per type class.
WRONG = [
    ("customer_name", {"a": 1}),
    ("customer_name", 42),
    ("external_id", ["a"]),
    ("notes", True),
    ("customer_email", ["a@b.c"]),
    ("customer_phone", 447700900123),
    ("country", ["GB"]),
    ("lat", True),
    ("lat", "51.5"),
    ("lng", {"deg": 1}),
    ("priority", "high"),
    ("priority", "3"),
    ("priority", 2.5),
    ("priority", False),
    ("items", "3"),
    ("service_s", True),
    ("weight_kg", True),
    ("volume_l", [1]),
    ("delivery_date", 20261201),
    ("delivery_date", "20261201"),
    ("delivery_date", ["2026-12-01"]),
    ("time_windows", {"start": "09:00", "end": "11:00"}),
    ("time_windows", [{"start": 900, "end": "11:00"}]),
    ("required_skills", "fridge"),
    ("required_skills", [1]),
    ("barcodes", "0123456789012"),
]


def _post(client, path: str, body: object, method: str = "post"):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def _order_count() -> int:
    with schema_context("alpha"):
        return Order.objects.count()


def _field_error(response, field: str) -> list:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"], body
    return body["errors"][field]


# --- orders -------------------------------------------------------------------------------


def test_an_order_of_the_right_types_is_created(alpha):
    response = _post(api_client(alpha.host, alpha.api_key), "/api/v1/orders", ORDER)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["priority"], body["weight_kg"], body["volume_l"]) == (3, "2.50", "10.00")


@pytest.mark.parametrize(("field", "value"), WRONG)
def test_a_wrong_type_on_create_is_a_field_error_and_nothing_is_stored(alpha, field, value):
    before = _order_count()
    response = _post(
        api_client(alpha.host, alpha.api_key), "/api/v1/orders", {**ORDER, field: value}
    )
    assert _field_error(response, field)
    assert _order_count() == before


@pytest.mark.parametrize(("field", "value"), WRONG)
def test_a_wrong_type_in_bulk_refuses_that_item_only(alpha, field, value):
    items = [{**ORDER, "external_id": "T-bad", field: value}, {**ORDER, "external_id": "T-ok"}]
    response = _post(
        api_client(alpha.host, alpha.api_key), "/api/v1/orders/bulk", {"orders": items}
    )
    assert response.status_code == 200, response.json()
    bad, good = response.json()["results"]
    assert bad["status"] == "invalid" and field in bad["errors"], bad
    assert good["status"] == "created"
    with schema_context("alpha"):
        assert not Order.objects.filter(external_id="T-bad").exists()


@pytest.mark.parametrize(("field", "value"), [w for w in WRONG if w[0] != "external_id"])
def test_a_wrong_type_on_patch_is_a_field_error_and_the_order_is_unchanged(alpha, field, value):
    client = api_client(alpha.host, alpha.api_key)
    created = _post(client, "/api/v1/orders", ORDER).json()
    response = _post(client, f"/api/v1/orders/{created['id']}", {field: value}, "patch")
    assert _field_error(response, field)
    assert client.get(f"/api/v1/orders/{created['id']}").json() == created


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delivery_date": 20261201}, "delivery_date"),
        ({"delivery_date": "20261201"}, "delivery_date"),
        ({"delivery_date": str(tenant_today(2)), "time_windows": "09:00-11:00"}, "time_windows"),
        ({"delivery_date": str(tenant_today(2)), "reason": 5}, "reason"),
    ],
)
def test_a_wrong_type_on_reschedule_is_a_field_error(alpha, body, field):
    client = api_client(alpha.host, alpha.api_key)
    created = _post(client, "/api/v1/orders", ORDER).json()
    assert _field_error(_post(client, f"/api/v1/orders/{created['id']}/reschedule", body), field)
    assert client.get(f"/api/v1/orders/{created['id']}").json() == created


def test_a_wrong_type_on_cancel_is_a_field_error(alpha):
    client = api_client(alpha.host, alpha.api_key)
    created = _post(client, "/api/v1/orders", ORDER).json()
    assert _field_error(
        _post(client, f"/api/v1/orders/{created['id']}/cancel", {"reason": 1}), "reason"
    )
    assert client.get(f"/api/v1/orders/{created['id']}").json()["status"] == "unassigned"


# Random JSON values of every type but the field's own, into every field of the schema.
# No NUL: text with one is refused whole before any field is read (a parse error, 400).
NOT_NUL = st.characters(exclude_characters="\x00")
JSON_VALUES = {
    "string": st.text(NOT_NUL, max_size=8),
    "integer": st.integers(-(10**6), 10**6),
    "number": st.floats(-1e6, 1e6, allow_nan=False).filter(lambda f: not f.is_integer()),
    "boolean": st.booleans(),
    "array": st.lists(st.integers(0, 3) | st.text(NOT_NUL, max_size=3), max_size=2),
    "object": st.dictionaries(st.text(NOT_NUL, max_size=3), st.integers(0, 3), max_size=2),
}
#: What each field of the order input accepts (null, "not given", aside).
ACCEPTS = {
    "lat": {"integer", "number"},
    "lng": {"integer", "number"},
    "service_s": {"integer"},
    "items": {"integer"},
    "priority": {"integer"},
    "weight_kg": {"integer", "number", "string"},  # decimals are answered as text
    "volume_l": {"integer", "number", "string"},
    "time_windows": {"array"},
    "required_skills": {"array"},
    "barcodes": {"array"},
    "pickup": {"object"},  # its own fields' types: tests/dispatch/test_pickup_intake.py
}


@st.composite
def a_wrong_type(draw) -> tuple[str, object]:
    field = draw(st.sampled_from(sorted(OrderInputSerializer().fields)))
    accepted = ACCEPTS.get(field, {"string"})
    kind = draw(st.sampled_from(sorted(set(JSON_VALUES) - accepted)))
    value = draw(JSON_VALUES[kind])
    if field in ("time_windows", "required_skills", "barcodes") and kind == "array":
        value = [draw(st.integers() | st.booleans())]  # an array of the wrong items
    return field, value


def test_any_wrong_json_type_in_any_order_field_is_a_400_and_nothing_is_stored(alpha):
    client = api_client(alpha.host, alpha.api_key)
    before = _order_count()

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(case=a_wrong_type())
    def check(case: tuple[str, object]) -> None:
        field, value = case
        response = _post(client, "/api/v1/orders", {**ORDER, field: value})
        assert _field_error(response, field)

    check()
    assert _order_count() == before


# --- fleet --------------------------------------------------------------------------------


def _depot() -> Depot:
    with schema_context("alpha"):
        return Depot.objects.create(name="Types depot", lat=51.5, lng=-0.12)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("depots", {"name": {"a": 1}}, "name"),
        ("depots", {"name": "D", "lat": "51.5", "lng": -0.1}, "lat"),
        ("depots", {"name": "D", "lat": True, "lng": -0.1}, "lat"),
        ("depots", {"name": "D", "is_active": "true"}, "is_active"),
        ("depots", {"name": "D", "is_active": 1}, "is_active"),
        ("depots", {"name": "D", "opens_at": 800}, "opens_at"),
        ("vehicles", {"name": "V", "start_depot": "DEPOT"}, "start_depot"),
        ("vehicles", {"name": "V", "start_depot": "DEPOT", "max_stops": "5"}, "max_stops"),
        ("vehicles", {"name": "V", "start_depot": "DEPOT", "cost_per_km": True}, "cost_per_km"),
        ("vehicles", {"name": "V", "start_depot": "DEPOT", "skills": "fridge"}, "skills"),
        ("drivers", {"name": "Dr", "break_duration_s": "60"}, "break_duration_s"),
        ("drivers", {"name": "Dr", "phone": 447700900123}, "phone"),
        ("drivers", {"name": ["Dr"]}, "name"),
        ("drivers", {"name": "Dr", "skills": [True]}, "skills"),
    ],
)
def test_a_wrong_type_for_the_fleet_is_a_field_error_and_nothing_is_stored(
    alpha, path, body, field
):
    depot = _depot()
    model = {"depots": Depot, "vehicles": Vehicle, "drivers": Driver}[path]
    if "start_depot" in body:  # the id as text is the wrong type, refused
        body["start_depot"] = str(depot.pk) if field == "start_depot" else depot.pk
    with schema_context("alpha"):
        before = model.objects.count()
    response = _post(api_client(alpha.host, alpha.api_key), f"/api/v1/{path}", body)
    assert _field_error(response, field)
    with schema_context("alpha"):
        assert model.objects.count() == before


def test_a_wrong_type_on_a_fleet_patch_leaves_it_unchanged(alpha):
    depot = _depot()
    client = api_client(alpha.host, alpha.api_key)
    response = _post(client, f"/api/v1/depots/{depot.pk}", {"is_active": "false"}, "patch")
    assert _field_error(response, "is_active")
    with schema_context("alpha"):
        assert Depot.objects.get(pk=depot.pk).is_active is True


# --- plans, webhooks, keys, users, sign-up ------------------------------------------------

#: Digits that are not ASCII ("٢٠٢٦-١٢-٠٢"): a regex's \d and Django's parse_date take them.
ARABIC_INDIC = str.maketrans(
    "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"date": 20261201}, "date"),
        ({"date": "20261201"}, "date"),
        ({"date": str(tenant_today(1)).translate(ARABIC_INDIC)}, "date"),
        ({"date": str(tenant_today(1)), "seconds": "5"}, "seconds"),
        ({"date": str(tenant_today(1)), "seconds": True}, "seconds"),
        ({"date": str(tenant_today(1)), "depot": "1"}, "depot"),
    ],
)
def test_a_wrong_type_for_a_plan_is_a_field_error(alpha, body, field):
    from routing.models import Plan

    with schema_context("alpha"):
        before = Plan.objects.count()
    assert _field_error(_post(api_client(alpha.host, alpha.api_key), "/api/v1/plans", body), field)
    with schema_context("alpha"):
        assert Plan.objects.count() == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("moves", {"order": "1", "route": None}, "order"),
        ("moves", {"order": 1, "route": True}, "route"),
        ("locks", {"order": 1, "locked": "true"}, "locked"),
        ("routes", {"driver": "1", "vehicle": 1}, "driver"),
        ("urgent", {"order": [1]}, "order"),
        ("resolve", {"allow_reassign": "no"}, "allow_reassign"),
    ],
)
def test_a_wrong_type_for_a_plan_edit_is_a_field_error(alpha, path, body, field):
    from routing.models import Plan

    with schema_context("alpha"):
        plan = Plan.objects.create(date=tenant_today(1))
    response = _post(api_client(alpha.host, alpha.api_key), f"/api/v1/plans/{plan.pk}/{path}", body)
    assert _field_error(response, field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.com/h", "events": ["order.created"], "active": "yes"}, "active"),
        ({"url": 5, "events": ["order.created"]}, "url"),
        ({"url": "https://example.com/h", "events": "order.created"}, "events"),
        (
            {"url": "https://example.com/h", "events": ["order.created"], "description": 1},
            "description",
        ),
    ],
)
def test_a_wrong_type_for_a_webhook_is_a_field_error(alpha, body, field):
    assert _field_error(
        _post(api_client(alpha.host, alpha.api_key), "/api/v1/webhooks", body), field
    )
    with schema_context("alpha"):
        assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("path", "body", "field", "method"),
    [
        ("api-keys", {"name": 1}, "name", "post"),
        ("api-keys", {"name": "k", "scope": ["read"]}, "scope", "post"),
        (
            "users",
            {"email": "u@alpha.test", "role": 1, "password": "a-long-password-1"},
            "role",
            "post",
        ),
        (
            "users",
            {"email": ["u@alpha.test"], "role": "driver", "password": "x" * 12},
            "email",
            "post",
        ),
        ("users/USER", {"is_active": "false"}, "is_active", "patch"),
    ],
)
def test_a_wrong_type_for_an_owner_operation_is_a_field_error(alpha, path, body, field, method):
    owner = login_client(alpha.host, alpha.owner_email)
    path = path.replace("USER", str(alpha.user_ids[alpha.dispatcher_email]))
    with schema_context("alpha"):
        keys = ApiKey.objects.count()
    response = _post(owner, f"/api/v1/{path}", body, method)
    assert _field_error(response, field)
    with schema_context("alpha"):
        assert ApiKey.objects.count() == keys
    assert login_client(alpha.host, alpha.dispatcher_email)  # still active


@pytest.mark.parametrize("field", ["name", "slug", "owner_email", "owner_password", "country"])
def test_a_wrong_type_on_sign_up_is_a_field_error(tenants, field):
    from django.test import Client

    from tenants.models import Tenant

    body = {
        "name": "Typed Ltd",
        "slug": "typed-ltd",
        "owner_email": "owner@typed.test",
        "owner_password": "a-long-enough-password-7",
        "country": "GB",
        field: 12345,
    }
    response = _post(Client(HTTP_HOST="localhost"), "/api/v1/signup", body)
    assert _field_error(response, field)
    assert not Tenant.objects.filter(schema_name="typed_ltd").exists()


# --- the rule itself ------------------------------------------------------------------------


class Sample(JSONTypedSerializer):
    text = serializers.CharField(required=False)
    count = serializers.IntegerField(required=False)
    amount = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    flag = serializers.BooleanField(required=False)
    day = serializers.DateField(required=False)


@pytest.mark.parametrize(
    "data",
    [
        QueryDict("text=a&count=3&amount=1.50&flag=true&day=2026-12-01"),
        {"text": "a", "count": "3", "amount": "1.50", "flag": "true", "day": "2026-12-01"},
    ],
)
def test_forms_and_other_non_json_input_are_read_as_before(data):
    sample = Sample(data=data)
    assert sample.is_valid(), sample.errors
    assert sample.validated_data == {
        "text": "a",
        "count": 3,
        "amount": Decimal("1.50"),
        "flag": True,
        "day": dt.date(2026, 12, 1),
    }


def test_json_values_of_their_own_type_are_read():
    sample = Sample(data=JSONObject(text="a", count=3.0, amount=1.5, flag=False, day="2026-12-01"))
    assert sample.is_valid(), sample.errors
    assert sample.validated_data["count"] == 3 and sample.validated_data["amount"] == Decimal(
        "1.50"
    )


def test_type_errors_come_with_the_other_field_errors():
    sample = Sample(data=JSONObject(text=1, count=-1.5, day="yesterday"))
    assert not sample.is_valid()
    assert set(sample.errors) == {"text", "count", "day"}


def test_null_is_left_to_the_field():
    field = serializers.CharField(allow_null=True)
    assert json_type_error(field, None) is None
    sample = Sample(data=JSONObject(text=None))
    assert not sample.is_valid()
    assert sample.errors["text"] == ["This field may not be null."]  # not a type error
