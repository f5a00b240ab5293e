"""The recurring orders API: contracts (next days in every answer, field errors, idempotent
create), scopes, and that one tenant's key or host never reaches another's schedules."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order, RecurringOrder
from tests.conftest import api_client, tenant_today

pytestmark = pytest.mark.django_db

SAME_ID = 8_000_001
TEMPLATE = {
    "customer_name": "Café Rosa",
    "address_line1": "1 High St",
    "lat": 51.5,
    "lng": -0.1,
    "time_windows": [{"start": "09:00", "end": "12:00"}],
}


def _body(**overrides) -> dict:
    return {
        "name": "Daily café",
        "template": TEMPLATE,
        "rule": "FREQ=DAILY",
        "starts_on": tenant_today(1).isoformat(),
        "lead_days": 3,
    } | overrides


def _send(client, method: str, url: str, body=None, **headers):
    data = None if body is None else json.dumps(body)
    return getattr(client, method)(url, data, content_type="application/json", **headers)


def test_a_schedule_is_made_with_its_next_days_and_its_orders(alpha):
    client = api_client(alpha.host, alpha.api_key)
    answer = _send(client, "post", "/api/v1/recurring-orders", _body())
    assert answer.status_code == 201, answer.content
    body = answer.json()
    days = [tenant_today(n).isoformat() for n in range(1, 4)]
    assert [o["date"] for o in body["next_occurrences"]][:3] == days
    assert all(o["order_id"] for o in body["next_occurrences"][:3])
    assert body["description"] == "Every day"
    assert body["notes"] == []
    with schema_context("alpha"):
        made = Order.objects.filter(source="recurring").values_list("delivery_date", flat=True)
        assert sorted(d.isoformat() for d in made) == days
    listed = client.get("/api/v1/recurring-orders?active=true").json()["results"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert client.get("/api/v1/recurring-orders?active=false").json()["results"] == []
    assert client.get(f"/api/v1/recurring-orders/{body['id']}").json()["rule"] == "FREQ=DAILY"


def test_creating_with_an_idempotency_key_twice_makes_one_schedule(alpha):
    client = api_client(alpha.host, alpha.api_key)
    first = _send(client, "post", "/api/v1/recurring-orders", _body(), HTTP_IDEMPOTENCY_KEY="k-1")
    again = _send(client, "post", "/api/v1/recurring-orders", _body(), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    with schema_context("alpha"):
        assert RecurringOrder.objects.count() == 1
        assert Order.objects.filter(source="recurring").count() == 3
    other = _send(
        client, "post", "/api/v1/recurring-orders", _body(name="x"), HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert other.status_code == 409


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"rule": "FREQ=HOURLY"}, {"rule"}),
        ({"rule": "DTSTART:20300101T000000\nRRULE:FREQ=DAILY"}, {"rule"}),
        ({"rule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31"}, {"rule"}),
        ({"rule": "FREQ=WEEKLY;BYDAY=XX"}, {"rule"}),
        ({"rule": 7}, {"rule"}),
        ({"starts_on": 20301201}, {"starts_on"}),
        ({"starts_on": "tomorrow"}, {"starts_on"}),
        ({"ends_on": "2000-01-01"}, {"ends_on"}),
        ({"starts_on": "1999-12-31"}, {"starts_on"}),
        ({"starts_on": "9999-12-31"}, {"starts_on"}),
        ({"lead_days": 99}, {"lead_days"}),
        ({"lead_days": "3"}, {"lead_days"}),
        ({"template": "an order"}, {"template"}),
        ({"template": {"customer_name": ""}}, {"template.customer_name", "template.address_line1"}),
        ({"template": TEMPLATE | {"delivery_date": "2030-01-01"}}, {"template.delivery_date"}),
        ({"template": TEMPLATE | {"weight_kg": "heavy", "lat": "north"}}, None),
        ({"template": TEMPLATE | {"time_windows": [{"start": "12:00", "end": "09:00"}]}}, None),
        ({"template": TEMPLATE | {"status": "planned"}}, {"template.status"}),
        ({"name": ""}, {"name"}),
    ],
)
def test_bad_input_is_answered_400_with_field_errors(alpha, overrides, fields):
    client = api_client(alpha.host, alpha.api_key)
    answer = _send(client, "post", "/api/v1/recurring-orders", _body(**overrides))
    assert answer.status_code == 400, answer.content
    errors = answer.json()["errors"]
    if fields is None:
        assert errors and all(name.startswith("template.") for name in errors), errors
    else:
        assert set(errors) == fields, errors
    with schema_context("alpha"):
        assert not RecurringOrder.objects.exists()


def test_an_end_at_the_end_of_the_calendar_is_taken(alpha):
    client = api_client(alpha.host, alpha.api_key)
    for body in (_body(rule="FREQ=DAILY;UNTIL=99991231"), _body(ends_on="9999-12-31")):
        answer = _send(client, "post", "/api/v1/recurring-orders", body)
        assert answer.status_code == 201, answer.content
        assert len(answer.json()["next_occurrences"]) == 5


def test_a_body_that_is_not_an_object_is_a_400(alpha):
    client = api_client(alpha.host, alpha.api_key)
    assert _send(client, "post", "/api/v1/recurring-orders", [1, 2]).status_code == 400


def test_changing_replacing_and_cancelling(alpha):
    client = api_client(alpha.host, alpha.api_key)
    pk = _send(client, "post", "/api/v1/recurring-orders", _body()).json()["id"]
    url = f"/api/v1/recurring-orders/{pk}"
    changed = _send(
        client, "patch", url, {"template": TEMPLATE | {"customer_name": "Rosa's"}, "name": "Rosa"}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "Rosa"
    assert changed.json()["notes"] == ["3 orders not yet planned updated."]
    assert _send(client, "patch", url, {"rule": "FREQ=SECONDLY"}).status_code == 400
    assert _send(client, "put", url, {"name": "only a name"}).status_code == 400
    replaced = _send(client, "put", url, _body(rule="FREQ=WEEKLY", name="Weekly"))
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["notes"] == [  # the template is the first one again
        "1 order not yet planned updated.",
        "2 orders cancelled.",
    ]
    cancelled = client.delete(url)
    assert cancelled.status_code == 200
    assert cancelled.json()["is_active"] is False
    assert cancelled.json()["next_occurrences"] == []
    assert cancelled.json()["notes"] == ["1 order cancelled."]
    assert client.delete(url).json()["notes"] == []  # again: harmless
    with schema_context("alpha"):
        assert set(Order.objects.filter(source="recurring").values_list("status", flat=True)) == {
            "cancelled"
        }
    assert _send(client, "patch", url, {"name": "again"}).status_code == 400


def test_skipping_a_day_and_undoing_it(alpha):
    client = api_client(alpha.host, alpha.api_key)
    pk = _send(client, "post", "/api/v1/recurring-orders", _body()).json()["id"]
    url = f"/api/v1/recurring-orders/{pk}/exceptions"
    day = tenant_today(2).isoformat()
    skipped = _send(client, "post", url, {"date": day, "action": "skip"})
    assert skipped.status_code == 201, skipped.content
    assert skipped.json()["notes"] == ["1 order cancelled."]
    assert skipped.json()["exceptions"][0]["date"] == day
    by_day = {o["date"]: o for o in skipped.json()["next_occurrences"]}
    assert (by_day[day]["exception"], by_day[day]["order_id"]) == ("skip", None)
    assert _send(client, "post", url, {"date": day, "action": "skip"}).status_code == 201
    moved = _send(
        client,
        "post",
        url,
        {"date": tenant_today(3).isoformat(), "action": "move", "moved_to": day},
    )
    assert moved.status_code == 201, moved.content
    refused = client.delete(f"{url}/{day}")  # a second order on the day: no
    assert refused.status_code == 400
    assert "moved to this day" in refused.json()["errors"]["date"][0]
    assert client.delete(f"{url}/{tenant_today(3)}").json()["notes"] == [
        "1 order not yet planned updated."  # back on its own day
    ]
    undone = client.delete(f"{url}/{day}")
    assert undone.status_code == 200
    assert undone.json()["notes"] == ["1 order created."]
    assert client.delete(f"{url}/{day}").json()["notes"] == []  # again: harmless
    assert client.delete(f"{url}/not-a-day").status_code == 404
    bad = _send(client, "post", url, {"date": "2000-01-01", "action": "later", "moved_to": 3})
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) >= {"action", "moved_to"}


def test_a_read_only_key_reads_but_cannot_write(alpha):
    writer = api_client(alpha.host, alpha.api_key)
    pk = _send(writer, "post", "/api/v1/recurring-orders", _body()).json()["id"]
    reader = api_client(alpha.host, alpha.read_key)
    assert reader.get(f"/api/v1/recurring-orders/{pk}").status_code == 200
    assert _send(reader, "post", "/api/v1/recurring-orders", _body()).status_code == 403
    assert reader.delete(f"/api/v1/recurring-orders/{pk}").status_code == 403
    day = {"date": tenant_today(2).isoformat(), "action": "skip"}
    assert (
        _send(reader, "post", f"/api/v1/recurring-orders/{pk}/exceptions", day).status_code == 403
    )
    assert api_client(alpha.host).get("/api/v1/recurring-orders").status_code == 401


def test_another_tenants_schedule_is_never_reached(alpha, beta):
    with schema_context("beta"):
        RecurringOrder.objects.create(
            pk=SAME_ID,
            name="Beta's",
            template=TEMPLATE,
            rule="FREQ=DAILY",
            starts_on=tenant_today(1),
        )
    client = api_client(alpha.host, alpha.api_key)
    url = f"/api/v1/recurring-orders/{SAME_ID}"
    assert client.get(url).status_code == 404
    assert _send(client, "patch", url, {"name": "taken"}).status_code == 404
    assert client.delete(url).status_code == 404
    day = {"date": tenant_today(2).isoformat(), "action": "skip"}
    assert _send(client, "post", f"{url}/exceptions", day).status_code == 404
    assert client.delete(f"{url}/exceptions/{tenant_today(2)}").status_code == 404
    assert client.get("/api/v1/recurring-orders").json()["results"] == []
    assert api_client(beta.host, alpha.api_key).get(url).status_code == 401
    with schema_context("beta"):
        schedule = RecurringOrder.objects.get(pk=SAME_ID)
        assert (schedule.name, schedule.cancelled_at) == ("Beta's", None)
        assert not schedule.exceptions.exists()
