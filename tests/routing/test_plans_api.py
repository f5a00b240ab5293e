"""The plans API: queue, follow, read; bad input gets field errors; tenants never mix."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from routing.models import Plan
from routing.services import plans
from tests.conftest import api_client
from tests.routing.test_conversion import DAY, make_day

pytestmark = pytest.mark.django_db


def test_a_plan_is_queued_then_read_with_its_routes(alpha):
    client = api_client(alpha.host, alpha.api_key)
    with schema_context(alpha.tenant.schema_name):
        _, _, _, orders, lost = make_day("api")
    response = client.post("/api/v1/plans", {"date": str(DAY), "seconds": 1}, format="json")
    assert response.status_code == 202, response.content
    plan_id = response.json()["id"]
    assert response.json()["status"] == "queued"
    with schema_context(alpha.tenant.schema_name):
        plans.plan_solve(plan_id)  # what the worker does after the commit
    body = client.get(f"/api/v1/plans/{plan_id}").json()
    assert body["status"] == "done" and body["distance_m"] > 0
    served = [s["order"] for r in body["routes"] for s in r["stops"] if not s["is_break"]]
    assert sorted(served) == sorted(o.pk for o in orders)
    assert body["unassigned"] == [{"order": lost.pk, "reason": "not_geocoded"}]
    assert [p["id"] for p in client.get("/api/v1/plans").json()["results"]][:1] == [plan_id]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"date": str(DAY), "seconds": 0}, "seconds"),
        ({"date": str(DAY), "depot": 999999}, "depot"),
    ],
)
def test_bad_input_gets_field_errors_and_creates_nothing(alpha, payload, field):
    client = api_client(alpha.host, alpha.api_key)
    with schema_context(alpha.tenant.schema_name):
        before = Plan.objects.count()
    response = client.post("/api/v1/plans", payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    with schema_context(alpha.tenant.schema_name):
        assert Plan.objects.count() == before


def test_a_read_only_key_cannot_queue_a_plan(alpha):
    response = api_client(alpha.host, alpha.read_key).post(
        "/api/v1/plans", {"date": str(DAY)}, format="json"
    )
    assert response.status_code == 403


def test_another_tenants_plan_is_not_found(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        plan = Plan.objects.create(date=DAY)
    assert api_client(beta.host, beta.api_key).get(f"/api/v1/plans/{plan.pk}").status_code == 404
    assert api_client(beta.host, beta.api_key).get("/api/v1/plans").json()["results"] == []


def _solved(prefix: str, **fleet) -> tuple[int, object]:
    from tests.routing.factories import make_fleet_day

    day = make_fleet_day(prefix, **fleet)
    plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
    plans.plan_solve(plan.pk)
    return plan.pk, day


def test_edit_publish_and_eta_through_the_api(alpha):
    client = api_client(alpha.host, alpha.api_key)
    with schema_context(alpha.tenant.schema_name):
        plan_id, _ = _solved("apied", vans=2, orders=6)
    body = client.get(f"/api/v1/plans/{plan_id}").json()
    busy = max(body["routes"], key=lambda r: len(r["stops"]))
    idle = next(r for r in body["routes"] if r["id"] != busy["id"])
    order = busy["stops"][0]["order"]
    moved = client.post(
        f"/api/v1/plans/{plan_id}/moves",
        {"order": order, "route": idle["id"], "position": 1},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    routes = {r["id"]: r for r in moved.json()["routes"]}
    assert routes[idle["id"]]["stops"][0]["order"] == order
    assert routes[idle["id"]]["violations"] == []
    locked = client.post(
        f"/api/v1/plans/{plan_id}/locks", {"order": order, "locked": True}, format="json"
    )
    assert locked.status_code == 200
    assert {r["id"]: r for r in locked.json()["routes"]}[idle["id"]]["stops"][0]["locked"]
    published = client.post(f"/api/v1/plans/{plan_id}/publish")
    assert published.status_code == 200 and published.json()["published_at"]
    assert client.post(f"/api/v1/plans/{plan_id}/publish").status_code == 200  # harmless
    eta = client.get(f"/api/v1/orders/{order}/eta").json()
    assert eta["route"] == idle["id"] and eta["route_version"] == 1 and eta["stops_before"] == 0
    assert eta["status"] == "dispatched" and eta["planned_arrival"] and eta["eta"]
    resolve = client.post(
        f"/api/v1/plans/{plan_id}/resolve", {"allow_reassign": False}, format="json"
    )
    assert resolve.status_code == 202 and resolve.json()["status"] == "queued"
    again = client.post(f"/api/v1/plans/{plan_id}/resolve", {}, format="json")
    assert again.status_code == 400 and "plan" in again.json()["errors"]  # already queued


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("moves", {"order": 1}, "route"),
        ("moves", {"order": "x", "route": None}, "order"),
        ("moves", {"order": 10**6, "route": None}, "order"),
        ("locks", {"locked": True}, "order"),
        ("routes", {"driver": 10**6, "vehicle": 10**6}, "driver"),
        ("urgent", {"order": 10**6}, "order"),
        ("resolve", {"seconds": 0}, "seconds"),
    ],
)
def test_bad_edits_get_field_errors(alpha, path, payload, field):
    client = api_client(alpha.host, alpha.api_key)
    with schema_context(alpha.tenant.schema_name):
        plan_id, _ = _solved(f"bad{path}", vans=1, orders=2)
    response = client.post(f"/api/v1/plans/{plan_id}/{path}", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


def test_edits_of_another_tenants_plan_are_not_found_and_change_nothing(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        plan_id, _ = _solved("xten", vans=1, orders=3)
        plan = Plan.objects.get(pk=plan_id)
        route = plan.routes.get()
        order = route.stops.exclude(order=None).first().order_id
    with schema_context(beta.tenant.schema_name):
        beta_has_it = Plan.objects.filter(pk=plan_id).exists()
    client = api_client(beta.host, beta.api_key)
    # ids repeat across schemas; beta has no plan in this test, so the id is free there
    assert not beta_has_it
    edits = [
        ("moves", {"order": order, "route": None}),
        ("publish", {}),
        ("locks", {"route": route.pk, "locked": True}),
        ("resolve", {}),
    ]
    for path, payload in edits:
        response = client.post(f"/api/v1/plans/{plan_id}/{path}", payload, format="json")
        assert response.status_code == 404, (path, response.content)
    urgent = client.post(f"/api/v1/plans/{plan_id}/urgent", {"order": order}, format="json")
    assert urgent.status_code in (400, 404)  # beta may have no such order either
    assert client.delete(f"/api/v1/plans/{plan_id}/routes/{route.pk}").status_code == 404
    with schema_context(alpha.tenant.schema_name):
        route.refresh_from_db()
        assert not route.locked and route.stops.filter(order_id=order).exists()
        assert Plan.objects.get(pk=plan_id).published_at is None


def test_a_read_only_key_cannot_edit_or_publish(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan_id, _ = _solved("ro", vans=1, orders=1)
    client = api_client(alpha.host, alpha.read_key)
    assert client.post(f"/api/v1/plans/{plan_id}/publish").status_code == 403
    assert client.get(f"/api/v1/plans/{plan_id}").status_code == 200
