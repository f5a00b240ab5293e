"""Rescheduling an order, over the API and on its dashboard page: a failed delivery booked
again, a customer's new day; field errors for bad input; another tenant's order with the
same id is never touched."""

from __future__ import annotations

import json

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.services.orders import order_transition
from tests.conftest import api_client, login_client, tenant_today

pytestmark = pytest.mark.django_db

SAME_ID = 7_000_001
YESTERDAY = str(tenant_today(-1))  # in the past for the tenant
LATER = str(tenant_today(30))  # a month ahead: never in the past during the run


def _order(schema: str, name: str, *, status: str = "unassigned") -> Order:
    """An order with the same id in every schema (ids repeat across tenants)."""
    with schema_context(schema):
        order = Order.objects.create(
            pk=SAME_ID,
            customer_name=name,
            address_line1="1 High St",
            lat=51.5,
            lng=-0.1,
            delivery_date=tenant_today(),
            time_windows=[{"start": "09:00", "end": "12:00"}],
        )
        out = ("planned", "dispatched", "en_route")
        path = {"failed": (*out, "failed"), "delivered": (*out, "arrived", "delivered")}
        for step in path.get(status, ()):
            order = order_transition(order=order, to=step, actor="t", reason="Nobody home")
        return order


def _post(client, order_id: int, body) -> object:
    return client.post(
        f"/api/v1/orders/{order_id}/reschedule", json.dumps(body), content_type="application/json"
    )


def test_a_failed_order_is_booked_again_over_the_api_and_only_in_its_own_tenant(alpha, beta):
    _order("alpha", "Alpha failed", status="failed")
    _order("beta", "Beta failed", status="failed")
    day = tenant_today(2).isoformat()
    client = api_client(alpha.host, alpha.api_key)
    body = {
        "delivery_date": day,
        "time_windows": [{"start": "14:00", "end": "16:00"}],
        "reason": "customer away",
    }
    first = _post(client, SAME_ID, body)
    again = _post(client, SAME_ID, body)
    assert first.status_code == again.status_code == 200, first.content
    answer = first.json()
    assert (answer["status"], answer["delivery_date"]) == ("unassigned", day)
    assert answer["time_windows"] == [{"start": "14:00", "end": "16:00"}]
    events = client.get(f"/api/v1/orders/{SAME_ID}/events").json()
    assert [(e["from_status"], e["to_status"], e["reason"]) for e in events][-1] == (
        "failed",
        "unassigned",
        "customer away",
    )
    with schema_context("beta"):  # the same id in beta: untouched
        other = Order.objects.get(pk=SAME_ID)
    assert (other.status, other.delivery_date) == ("failed", tenant_today())
    assert _post(api_client(alpha.host, beta.api_key), SAME_ID, body).status_code == 401
    assert _post(client, SAME_ID + 1, body).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "delivery_date"),
        ({"delivery_date": "next week"}, "delivery_date"),
        ({"delivery_date": YESTERDAY}, "delivery_date"),
        (
            {"delivery_date": LATER, "time_windows": [{"start": "15:00", "end": "14:00"}]},
            "time_windows",
        ),
        ({"delivery_date": LATER, "time_windows": "morning"}, "time_windows"),
    ],
)
def test_bad_reschedules_are_400_with_field_errors_and_change_nothing(alpha, body, field):
    _order("alpha", "Bad input", status="failed")
    response = _post(api_client(alpha.host, alpha.api_key), SAME_ID, body)
    assert response.status_code == 400 and field in response.json()["errors"]
    with schema_context("alpha"):
        assert Order.objects.get(pk=SAME_ID).status == "failed"


def test_a_delivered_order_cannot_be_rescheduled_and_a_read_only_key_cannot_try(alpha):
    _order("alpha", "Done", status="delivered")
    body = {"delivery_date": LATER}
    refused = _post(api_client(alpha.host, alpha.api_key), SAME_ID, body)
    assert refused.status_code == 400 and "status" in refused.json()["errors"]
    assert _post(api_client(alpha.host, alpha.read_key), SAME_ID, body).status_code == 403
    assert _post(api_client(alpha.host, alpha.api_key), SAME_ID, [1]).status_code == 400


def test_the_dispatcher_reschedules_from_the_order_page(alpha, beta):
    _order("alpha", "Page failed", status="failed")
    _order("beta", "Beta page", status="failed")
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    page = dispatcher.get(f"/orders/{SAME_ID}/")
    assert b"Deliver again" in page.content
    day = tenant_today(1)
    url = f"/orders/{SAME_ID}/reschedule/"
    bad = dispatcher.post(url, {"delivery_date": YESTERDAY}, follow=True)
    assert b"The new day is in the past." in bad.content
    done = dispatcher.post(
        url,
        {"delivery_date": day.isoformat(), "window_start": "10:00", "window_end": "11:00"},
        follow=True,
    )
    assert f"is booked for {day:%A %d %B}".encode() in done.content
    assert b"Reschedule" in done.content  # unassigned now: it can move again
    with schema_context("alpha"):
        order = Order.objects.get(pk=SAME_ID)
    assert order.time_windows == [{"start": "10:00", "end": "11:00"}]
    with schema_context("beta"):
        assert Order.objects.get(pk=SAME_ID).status == "failed"
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.post(url, {"delivery_date": day.isoformat()}).status_code == 403
    assert dispatcher.post(f"/orders/{SAME_ID + 1}/reschedule/", {}).status_code == 404
