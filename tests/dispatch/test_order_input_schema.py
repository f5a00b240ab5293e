"""One order input schema: what the OpenAPI description states is what the validator
enforces, and the same bad order is refused with the same field errors by the API, a CSV
file and the dashboard form."""

from __future__ import annotations

import json
import re

import pytest
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator

from dispatch.models import Order
from dispatch.services import csv_io
from dispatch.services.order_input import order_clean
from tests.conftest import api_client, login_client, tenant_today

VALID = {"customer_name": "Ada", "address_line1": "1 High Street", "delivery_date": "2026-12-01"}


def refuses(field: str, value) -> bool:
    """Whether the validator refuses `value` for `field` (in an order otherwise fine)."""
    _, errors = order_clean({**VALID, field: value}, default_country="GB")
    return field in errors


@pytest.fixture(scope="module")
def described() -> dict:
    """The API's description of the order input, as published at /api/schema/."""
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)
    return schema["components"]["schemas"]


def test_the_published_time_pattern_is_the_one_enforced(described):
    pattern = described["TimeWindowRequest"]["properties"]["end"]["pattern"]
    for time in (
        "00:01",
        "09:30",
        "19:05",
        "23:59",
        "24:00",
        "25:00",
        "9:30",
        "09:60",
        "19:5",
        "12:30:00",
        "ab:cd",
        "",
        "1230",
    ):
        window = [{"start": "00:00", "end": time}]
        assert (re.search(pattern, time) is None) == refuses("time_windows", window), time


def test_the_published_lengths_are_the_ones_enforced(described):
    properties = described["OrderInputRequest"]["properties"]
    texts = {
        name: spec["maxLength"]
        for name, spec in properties.items()
        if spec.get("type") == "string" and "maxLength" in spec and name != "country"
    }
    assert {"external_id", "customer_name", "address_line1", "postcode", "notes"} <= set(texts)
    for name, length in texts.items():
        assert not refuses(name, "x" * length), name
        assert refuses(name, "x" * (length + 1)), name
    assert properties["country"]["maxLength"] == 2
    assert not refuses("country", "gb") and refuses("country", "GBR")
    skill = properties["required_skills"]["items"]["maxLength"]
    assert not refuses("required_skills", ["x" * skill])
    assert refuses("required_skills", ["x" * (skill + 1)])


def test_the_published_ranges_are_the_ones_enforced(described):
    properties = described["OrderInputRequest"]["properties"]
    ranged = {name: spec for name, spec in properties.items() if "maximum" in spec}
    assert {"service_s", "items", "priority", "lat", "lng"} <= set(ranged)
    for name, spec in ranged.items():
        other = {"lat": "lng", "lng": "lat"}.get(name)
        pair = {other: 0} if other else {}  # lat and lng go together
        for value, refused in (
            (spec["maximum"], False),
            (spec["maximum"] + 1, True),
            (spec["minimum"], False),
            (spec["minimum"] - 1, True),
        ):
            _, errors = order_clean({**VALID, **pair, name: value}, default_country="GB")
            assert (name in errors) == refused, (name, value, errors)
    most = described["OrderInputRequest"]["properties"]["time_windows"]["maxItems"]
    windows = [{"start": f"{h:02d}:00", "end": f"{h:02d}:30"} for h in range(8, 8 + most + 1)]
    assert not refuses("time_windows", windows[:most])
    assert refuses("time_windows", windows)


def test_the_published_required_fields_are_the_ones_enforced(described):
    required = set(described["OrderInputRequest"]["required"])
    assert required == {"customer_name", "delivery_date"}
    for name in ("customer_name", "delivery_date", "city", "customer_phone", "priority"):
        _, errors = order_clean({k: v for k, v in VALID.items() if k != name}, default_country="GB")
        assert (errors.get(name) == ["This field is required."]) == (name in required), name


# --- the same bad order through every channel -------------------------------------------

BAD = {
    "external_id": "SAME-1",
    "customer_name": "N" * 151,
    "customer_email": "not-an-email",
    "address_line1": "1 High Street",
    "country": "XX",
    "items": "1.5",
    "priority": "9",
}
BAD_WINDOW = ("11:00", "09:00")  # ends before it starts
EXPECTED = {
    "customer_name",
    "customer_email",
    "country",
    "items",
    "priority",
    "time_windows",
}


def _through_the_api(alpha, day: str) -> dict:
    start, end = BAD_WINDOW
    # JSON sends numbers as numbers (text would be refused for its type)
    numbers = {"items": float(BAD["items"]), "priority": int(BAD["priority"])}
    body = {**BAD, **numbers, "delivery_date": day, "time_windows": [{"start": start, "end": end}]}
    response = api_client(alpha.host, alpha.api_key).post(
        "/api/v1/orders", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    return response.json()["errors"]


def _through_a_csv_file(day: str) -> dict:
    columns = {
        **BAD,
        "delivery_date": day,
        "window_start": BAD_WINDOW[0],
        "window_end": BAD_WINDOW[1],
    }
    text = ",".join(columns) + "\n" + ",".join(columns.values()) + "\n"
    with schema_context("alpha"):
        csv_import = csv_io.csv_import_start(filename="bad.csv", content=text)
        csv_io.csv_import_set_mapping(csv_import=csv_import, mapping={c: c for c in columns})
        preview = csv_io.csv_import_preview(csv_import=csv_import)
    (line,) = preview.errors
    assert line["line"] == 2
    return line["errors"]


def _through_the_form(alpha, day: str) -> dict:
    client = login_client(alpha.host, alpha.dispatcher_email)
    data = {
        **BAD,
        "delivery_date": day,
        "window1_start": BAD_WINDOW[0],
        "window1_end": BAD_WINDOW[1],
    }
    response = client.post("/orders/new/", data)
    assert response.status_code == 200  # shown again, with its errors
    form_names = {"window1_start": "time_windows", "service_minutes": "service_s"}
    return {
        form_names.get(name, name): list(messages)
        for name, messages in response.context["form"].errors.items()
    }


def test_the_same_bad_order_is_refused_alike_by_the_api_a_csv_file_and_the_form(alpha):
    day = str(tenant_today(1))
    api = _through_the_api(alpha, day)
    csv = _through_a_csv_file(day)
    form = _through_the_form(alpha, day)
    assert set(api) == EXPECTED
    assert csv == api
    assert form == api
    assert api["time_windows"] == ["Window 11:00-09:00 must end after it starts."]
    assert api["customer_name"] == ["At most 150 characters."]
    with schema_context("alpha"):
        assert not Order.objects.filter(external_id="SAME-1").exists()


def test_the_form_tells_the_browser_the_schemas_limits(alpha):
    page = login_client(alpha.host, alpha.dispatcher_email).get("/orders/new/").content.decode()
    name = re.search(r'<input[^>]*name="customer_name"[^>]*>', page).group(0)
    assert 'maxlength="150"' in name and "required" in name
    notes = re.search(r'<textarea[^>]*name="notes"[^>]*>', page).group(0)
    assert 'maxlength="2000"' in notes
