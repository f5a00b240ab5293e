"""An order's last acceptable day (`latest_date`, "deliver by") through every way in: the
API (one, bulk, PATCH), CSV import and export, the dashboard's form and pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.services import csv_io
from dispatch.services.orders import order_reschedule
from tests.conftest import api_client, login_client, tenant_today

pytestmark = pytest.mark.django_db

DAY = tenant_today(3)
BY = tenant_today(6)


def _order(**values) -> dict:
    return {
        "customer_name": "Flex Ible",
        "address_line1": "1 High Street",
        "lat": 51.5,
        "lng": -0.12,
        "delivery_date": str(DAY),
        **values,
    }


def test_the_api_takes_reads_and_checks_the_last_day(alpha):
    client = api_client(alpha.host, alpha.api_key)
    created = client.post("/api/v1/orders", _order(latest_date=str(BY)), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["latest_date"] == str(BY)
    plain = client.post("/api/v1/orders", _order(), format="json").json()
    assert plain["latest_date"] is None
    before = client.post(
        "/api/v1/orders", _order(latest_date=str(DAY - dt.timedelta(days=1))), format="json"
    )
    assert before.status_code == 400
    assert "before the delivery date" in before.json()["errors"]["latest_date"][0]
    for bad in ("next friday", 20261212, True):
        response = client.post("/api/v1/orders", _order(latest_date=bad), format="json")
        assert response.status_code == 400 and "latest_date" in response.json()["errors"]

    bulk = client.post(
        "/api/v1/orders/bulk",
        {"orders": [_order(latest_date=str(BY)), _order(latest_date=str(tenant_today()))]},
        format="json",
    )
    assert bulk.status_code in (200, 207), bulk.content
    results = bulk.json()["results"]
    assert [r["status"] for r in results] == ["created", "invalid"]
    assert "latest_date" in results[1]["errors"]

    url = f"/api/v1/orders/{body['id']}"
    assert client.patch(url, {"latest_date": str(DAY)}, format="json").status_code == 200
    later = str(BY + dt.timedelta(days=1))
    assert client.patch(url, {"latest_date": later}, format="json").json()["latest_date"] == later
    too_early = client.patch(url, {"latest_date": str(tenant_today(1))}, format="json")
    assert too_early.status_code == 400 and "latest_date" in too_early.json()["errors"]
    too_late = client.patch(url, {"delivery_date": str(tenant_today(20))}, format="json")
    assert too_late.status_code == 400 and "delivery_date" in too_late.json()["errors"]
    assert client.patch(url, {"latest_date": None}, format="json").json()["latest_date"] is None

    flexible = client.get("/api/v1/orders?flexible=true").json()["results"]
    assert [o["id"] for o in flexible] == [results[0]["id"]]
    fixed = {o["id"] for o in client.get("/api/v1/orders?flexible=false").json()["results"]}
    assert body["id"] in fixed and plain["id"] in fixed


def test_rescheduling_past_the_last_day_keeps_that_day_alone(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="R", address_line1="1 Road", delivery_date=DAY, latest_date=BY
        )
        inside = order_reschedule(order=order, delivery_date=str(DAY + dt.timedelta(days=1)))
        assert inside.latest_date == BY
        moved = order_reschedule(order=order, delivery_date=str(BY + dt.timedelta(days=2)))
        assert moved.delivery_date == BY + dt.timedelta(days=2) and moved.latest_date is None


def test_a_csv_deliver_by_column_is_read_and_exported(alpha):
    assert csv_io.suggest_mapping(["Name", "Address", "Date", "Deliver by"])["latest_date"] == (
        "Deliver by"
    )
    assert csv_io.suggest_mapping(["Latest"]) == {"window_end": "Latest"}  # still a window
    text = (
        "Ref,Name,Address,Postcode,City,Date,Deliver by\n"
        f"F-1,Ada,1 High Street,N1 0PN,London,{DAY},{BY:%d/%m/%Y}\n"
        f"F-2,Ben,2 High Street,N1 0PN,London,{DAY},\n"
        f"F-3,Cy,3 High Street,N1 0PN,London,{DAY},{tenant_today():%Y-%m-%d}\n"
        f"F-4,Di,4 High Street,N1 0PN,London,{DAY},someday\n"
    )
    with schema_context(alpha.tenant.schema_name):
        csv_import = csv_io.csv_import_start(filename="orders.csv", content=text)
        preview = csv_io.csv_import_preview(csv_import=csv_import)
        errors = {e["line"]: set(e["errors"]) for e in preview.errors}
        assert errors == {4: {"latest_date"}, 5: {"latest_date"}}
        csv_io.csv_import_commit(csv_import=csv_import, actor="user:d@x")
        ada, ben = Order.objects.get(external_id="F-1"), Order.objects.get(external_id="F-2")
        assert (ada.latest_date, ben.latest_date) == (BY, None)  # day-first in GB
        exported = "".join(csv_io.orders_csv(Order.objects.filter(pk=ada.pk))).splitlines()
        header = exported[0].split(",")
        assert "latest_date" in header
        assert exported[1].split(",")[header.index("latest_date")] == str(BY)


def test_the_dashboard_form_and_pages_show_the_last_day(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    form = {
        "customer_name": "Dash Board",
        "address_line1": "1 High Street",
        "lat": "51.5",
        "lng": "-0.12",
        "delivery_date": str(DAY),
        "service_minutes": "5",
        "items": "1",
        "priority": "2",
    }
    page = client.get("/orders/new/").content.decode()
    assert 'name="latest_date"' in page and "Deliver by" in page
    bad = client.post("/orders/new/", {**form, "latest_date": str(tenant_today())})
    assert bad.status_code in (200, 400) and "before the delivery date" in bad.content.decode()
    response = client.post("/orders/new/", {**form, "latest_date": str(BY)})
    assert response.status_code == 302, response.content[:2000]
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.get(customer_name="Dash Board")
    assert order.latest_date == BY
    detail = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="order-deliver-by"' in detail
    edit = client.get(f"/orders/{order.pk}/edit/").content.decode()
    assert f'value="{BY}"' in edit
    listing = client.get("/orders/?flexible=true").content.decode()
    assert "Dash Board" in listing and "by " in listing
    assert "Dash Board" not in client.get("/orders/?flexible=false").content.decode()
    # the filter form sends every field; "Any" (empty) filters nothing, and is no error
    sent = client.get("/orders/?delivery_date=&status=&needs_date=&flexible=true&search=")
    assert "Dash Board" in sent.content.decode() and "not one of" not in sent.content.decode()
