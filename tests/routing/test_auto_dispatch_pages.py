"""Dispatch alerts on the board and the overview, marking them seen, and the settings
page's auto-dispatch section."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order
from routing.models import DispatchAlert, Plan
from tenants.models import Tenant
from tests.conftest import login_client, tenant_today


def alert_in(fixture, message: str, *, plan: Plan | None = None) -> DispatchAlert:
    with schema_context(fixture.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Late customer",
            address_line1="1 High Street",
            city="London",
            delivery_date=tenant_today(),
            lat=51.5,
            lng=-0.12,
        )
        return DispatchAlert.objects.create(
            kind=DispatchAlert.Kind.NOT_PLACED,
            date=tenant_today(),
            order=order,
            plan=plan,
            message=message,
        )


@pytest.mark.django_db
def test_the_overview_and_board_show_unseen_alerts_until_marked_seen(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = Plan.objects.create(date=tenant_today(), status=Plan.Status.DONE)
    alert = alert_in(alpha, "Order fits on no route: no room left", plan=plan)
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get("/").content.decode()
    assert "fits on no route" in page and f'data-alert="{alert.pk}"' in page
    board = client.get(f"/plans/{plan.pk}/board").content.decode()
    assert "fits on no route" in board
    state = client.get(f"/plans/{plan.pk}/board/state?part=head").json()
    assert "fits on no route" in state["head"]

    response = client.post(
        "/plans/alerts/seen", {"alert": [alert.pk], "next": f"/plans/{plan.pk}/board"}
    )
    assert response.status_code == 302 and response["Location"] == f"/plans/{plan.pk}/board"
    with schema_context(alpha.tenant.schema_name):
        alert.refresh_from_db()
        assert alert.seen_at is not None and alert.seen_by == f"user:{alpha.dispatcher_email}"
        assert Plan.objects.get(pk=plan.pk).revision > plan.revision  # boards hear of it
    assert "fits on no route" not in client.get("/").content.decode()
    # again, and a next that leaves the site: harmless, back to the overview
    response = client.post("/plans/alerts/seen", {"alert": alert.pk, "next": "https://evil.test/"})
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.django_db
def test_marking_seen_refuses_bad_ids_and_never_reaches_another_tenant(alpha, beta):
    theirs = alert_in(beta, "Beta's order fits nowhere")
    client = login_client(alpha.host, alpha.dispatcher_email)
    for bad in ({}, {"alert": "x"}, {"alert": "-1"}, {"alert": "9" * 30}):
        response = client.post("/plans/alerts/seen", bad)
        assert response.status_code == 400 and "alert" in response.json()["errors"]
    response = client.post(
        "/plans/alerts/seen", {"alert": theirs.pk}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200 and response.json() == {"marked": 0}
    with schema_context(beta.tenant.schema_name):
        theirs.refresh_from_db()
        assert theirs.seen_at is None
    assert "Beta's order" not in client.get("/").content.decode()
    # drivers may not
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.post("/plans/alerts/seen", {"alert": theirs.pk}).status_code in (302, 403)


@pytest.mark.django_db
def test_the_settings_page_turns_auto_dispatch_and_the_nightly_plan_on_and_off(alpha):
    client = login_client(alpha.host, alpha.owner_email)
    page = client.get("/settings/").content.decode()
    assert (
        "Auto-dispatch today&#x27;s new orders" in page
        or "Auto-dispatch today's new orders" in page
    )
    response = client.post(
        "/settings/",
        {"section": "dispatch", "auto_dispatch": "on", "auto_plan": "on", "auto_plan_at": "18:30"},
    )
    assert response.status_code == 302
    tenant = Tenant.objects.get(pk=alpha.tenant.pk)
    assert tenant.auto_dispatch and tenant.auto_plan_at == dt.time(18, 30)

    # the nightly plan asked for without its time: a field error, nothing saved
    response = client.post("/settings/", {"section": "dispatch", "auto_plan": "on"})
    assert response.status_code == 200
    assert "Choose the time tomorrow is planned." in response.content.decode()
    response = client.post("/settings/", {"section": "dispatch", "auto_plan_at": "25:99"})
    assert response.status_code == 200
    tenant.refresh_from_db()
    assert tenant.auto_dispatch and tenant.auto_plan_at == dt.time(18, 30)

    response = client.post("/settings/", {"section": "dispatch", "auto_plan_at": "18:30"})
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert not tenant.auto_dispatch and tenant.auto_plan_at is None
    # a dispatcher cannot change it
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    response = dispatcher.post("/settings/", {"section": "dispatch", "auto_dispatch": "on"})
    assert response.status_code in (302, 403)
    tenant.refresh_from_db()
    assert not tenant.auto_dispatch
