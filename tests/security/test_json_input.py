"""Bad JSON is a 400, never a 500 (issue 22).

Lone UTF-16 surrogates (`"\\ud800"`: valid JSON, but text PostgreSQL cannot store) and
JSON nested deeper than any request of the API needs are refused by the API's parser,
with the usual error body, before anything is saved. Bodies are sent as raw text so the
escape sequences reach the server as written.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dispatch.models import Order
from tests.conftest import FIXED_NOW, api_client, tenant_today

pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

ORDER = {
    "external_id": "J-1",
    "customer_name": "Ada Lovelace",
    "customer_phone": "020 7946 0958",
    "customer_email": "ada@example.com",
    "address_line1": "10 Downing Street",
    "city": "London",
    "postcode": "SW1A 2AA",
    "delivery_date": str(tenant_today(1)),
    "time_windows": [{"start": "09:00", "end": "11:00"}],
    "notes": "Ring twice",
    "required_skills": ["fridge"],
}
TEXT_FIELDS = [k for k, v in ORDER.items() if isinstance(v, str)]
HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _order_count() -> int:
    with schema_context("alpha"):
        return Order.objects.count()


def _make_order() -> Order:
    with schema_context("alpha"):
        return Order.objects.create(
            customer_name="Grace Hopper",
            delivery_date=dt.date(2026, 12, 1),
            address_line1="1 Navy Yard",
            external_id="J-existing",
            notes="as it was",
        )


def _send(client, method: str, path: str, raw: str):
    return client.generic(method, path, raw.encode("ascii"), content_type="application/json")


def _assert_refused(response) -> dict:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and isinstance(body["code"], str)
    return body


def _assert_surrogate_refused(response, field: str) -> None:
    """A field error naming the field (DRF's own message for its text fields)."""
    body = _assert_refused(response)
    assert body["code"] == "invalid"
    assert "Surrogate characters are not allowed" in body["errors"][field][0]


# --- lone surrogates ------------------------------------------------------------------


SURROGATE_ORDER = json.dumps(ORDER)[:-1] + ', "customer_name": "x\\ud800y"}'


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (SURROGATE_ORDER, "customer_name"),
        (json.dumps({**ORDER, "customer_name": "x\ud800y"}), "customer_name"),  # json.dumps'
        (json.dumps({**ORDER, "notes": "\udfff"}), "notes"),  # a low one alone
        (json.dumps({**ORDER, "notes": "\udc00\ud800"}), "notes"),  # a pair the wrong way round
        (json.dumps({**ORDER, "required_skills": ["fridge", "x\ud83d"]}), "required_skills"),
        (json.dumps({**ORDER, "time_windows": [{"start": "09:00\udc00"}]}), "time_windows"),
        (json.dumps({**ORDER, "time_windows": [{"end\ud800": "11:00"}]}), "time_windows"),
        (json.dumps({**ORDER, "\ud800": "key"}), "non_field_errors"),
    ],
)
def test_a_lone_surrogate_on_create_is_400_and_nothing_is_saved(alpha, raw, field):
    assert "\\ud" in raw and "\ud800" not in raw  # the escape, as sent on the wire
    before = _order_count()
    response = _send(api_client(alpha.host, alpha.api_key), "POST", "/api/v1/orders", raw)
    _assert_surrogate_refused(response, field)
    assert _order_count() == before


def test_a_surrogate_pair_is_ordinary_text(alpha):
    raw = json.dumps({**ORDER, "customer_name": "Ada \U0001f600"})
    assert "\\ud83d\\ude00" in raw
    response = _send(api_client(alpha.host, alpha.api_key), "POST", "/api/v1/orders", raw)
    assert response.status_code == 201
    assert response.json()["customer_name"] == "Ada \U0001f600"


def test_a_lone_surrogate_in_bulk_is_400_and_nothing_is_saved(alpha):
    items = [{**ORDER, "external_id": "J-2"}, {**ORDER, "external_id": "J-3"}]
    raw = json.dumps({"orders": items}).replace('"J-3"', '"J-3\\ud800"')
    assert json.loads(raw)["orders"][1]["external_id"] == "J-3\ud800"
    before = _order_count()
    response = _send(api_client(alpha.host, alpha.api_key), "POST", "/api/v1/orders/bulk", raw)
    _assert_surrogate_refused(response, "orders")
    assert "orders[1].external_id" in response.json()["errors"]["orders"][0]
    assert _order_count() == before


def test_a_lone_surrogate_on_patch_is_400_and_the_order_is_unchanged(alpha):
    order = _make_order()
    client = api_client(alpha.host, alpha.api_key)
    for raw, field in (
        ('{"customer_name": "x\\ud800y"}', "customer_name"),
        ('{"notes": "\\udbff"}', "notes"),
        ('{"time_windows": [{"start": "\\ud800", "end": "11:00"}]}', "time_windows"),
        ('{"required_skills": ["\\udfff"]}', "required_skills"),
        ('{"\\ud800": 1}', "non_field_errors"),
    ):
        response = _send(client, "PATCH", f"/api/v1/orders/{order.pk}", raw)
        _assert_surrogate_refused(response, field)
    with schema_context("alpha"):
        again = Order.objects.get(pk=order.pk)
    assert (again.customer_name, again.notes) == ("Grace Hopper", "as it was")


surrogates = st.integers(0xD800, 0xDFFF).map(chr)


@st.composite
def text_with_a_surrogate(draw) -> str:
    text = draw(st.text(max_size=20))  # hypothesis's text has no surrogates of its own
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(surrogates) + text[at:]
    # a high and a low one side by side are a pair: JSON decodes them to one character
    assume(any(0xD800 <= ord(c) <= 0xDFFF for c in json.loads(json.dumps(text))))
    return text


def test_surrogates_anywhere_are_always_400(alpha):
    order = _make_order()
    client = api_client(alpha.host, alpha.api_key)
    before = _order_count()

    @HYPOTHESIS
    @given(
        endpoint=st.sampled_from(["create", "bulk", "patch"]),
        where=st.sampled_from([*TEXT_FIELDS, "key", "skill", "window"]),
        text=text_with_a_surrogate(),
    )
    def check(endpoint: str, where: str, text: str) -> None:
        body = {**ORDER, "external_id": "J-h"}
        if where == "key":
            body[text] = "x"
        elif where == "skill":
            body["required_skills"] = ["fridge", text]
        elif where == "window":
            body["time_windows"] = [{"start": text, "end": "11:00"}]
        else:
            body[where] = text
        raw = json.dumps({"orders": [body]} if endpoint == "bulk" else body)
        path, method = {
            "create": ("/api/v1/orders", "POST"),
            "bulk": ("/api/v1/orders/bulk", "POST"),
            "patch": (f"/api/v1/orders/{order.pk}", "PATCH"),
        }[endpoint]
        body = _assert_refused(_send(client, method, path, raw))
        assert "Surrogate characters are not allowed" in str(body["errors"])

    check()
    assert _order_count() == before
    with schema_context("alpha"):
        assert Order.objects.get(pk=order.pk).customer_name == "Grace Hopper"


# --- deep nesting ---------------------------------------------------------------------


def _nested(depth: int, kind: str = "list") -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


def test_5000_levels_at_the_top_are_400(alpha):
    client = api_client(alpha.host, alpha.api_key)
    for path in ("/api/v1/orders", "/api/v1/orders/bulk"):
        for kind in ("list", "object"):
            response = _send(client, "POST", path, _nested(5000, kind))
            _assert_refused(response)
            assert response.json()["code"] == "parse_error"
            assert "deep" in response.json()["detail"]


def test_900_levels_inside_time_windows_are_400_and_nothing_is_saved(alpha):
    client = api_client(alpha.host, alpha.api_key)
    order = _make_order()
    before = _order_count()
    body = json.dumps(ORDER)[:-1] + f', "time_windows": {_nested(900)}}}'
    response = _send(client, "POST", "/api/v1/orders", body)
    _assert_refused(response)
    assert "deep" in response.json()["detail"]
    bulk = '{"orders": [' + body + "]}"
    _assert_refused(_send(client, "POST", "/api/v1/orders/bulk", bulk))
    patch = f'{{"time_windows": [{_nested(900, "object")}]}}'
    _assert_refused(_send(client, "PATCH", f"/api/v1/orders/{order.pk}", patch))
    assert _order_count() == before


def test_the_nesting_real_requests_have_is_accepted(alpha):
    """A bulk item's time window is four levels deep: far inside the limit."""
    body = {"orders": [{**ORDER, "external_id": "J-deep"}]}
    response = _send(
        api_client(alpha.host, alpha.api_key), "POST", "/api/v1/orders/bulk", json.dumps(body)
    )
    assert response.status_code == 200
    assert response.json()["created"] == 1


def test_no_nesting_depth_is_a_server_error(alpha):
    client = api_client(alpha.host, alpha.api_key)

    @HYPOTHESIS
    @given(
        depth=st.integers(1, 3000),
        kind=st.sampled_from(["list", "object"]),
        where=st.sampled_from(["top", "time_windows", "customer_name", "bulk"]),
    )
    def check(depth: int, kind: str, where: str) -> None:
        nested = _nested(depth, kind)
        if where == "top":
            raw = nested
        elif where == "bulk":
            raw = '{"orders": ' + nested + "}"
        else:
            raw = json.dumps(ORDER)[:-1] + f', "{where}": {nested}}}'
        path = "/api/v1/orders/bulk" if where == "bulk" else "/api/v1/orders"
        response = _send(client, "POST", path, raw)
        assert response.status_code < 500, (depth, kind, where, response.content[:300])
        if depth > 40:  # deeper than any request of the API: refused whole
            assert response.status_code == 400, (depth, kind, where)
            assert "deep" in response.json()["detail"]

    check()


def test_a_body_larger_than_the_upload_limit_is_413(alpha, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api_client(alpha.host, alpha.api_key)
    raw = json.dumps({**ORDER, "notes": "x" * 1000})
    before = _order_count()
    response = _send(client, "POST", "/api/v1/orders", raw)
    assert response.status_code == 413  # tests/security/test_body_limits.py: every kind of body
    body = response.json()
    assert body["code"] == "too_large" and "larger than 1000 bytes" in body["detail"]
    assert _order_count() == before
    assert _send(client, "POST", "/api/v1/orders", json.dumps(ORDER)).status_code == 201
