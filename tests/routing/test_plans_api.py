"""The plans API: queue, follow, read; bad input gets field errors; tenants never mix."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from routing import services
from routing.models import Plan
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
        services.plan_solve(plan_id)  # what the worker does after the commit
    body = client.get(f"/api/v1/plans/{plan_id}").json()
    assert body["status"] == "done" and body["distance_m"] > 0
    served = [s["order"] for r in body["routes"] for s in r["stops"] if not s["is_break"]]
    assert sorted(served) == sorted(o.pk for o in orders)
    assert body["unassigned"] == [{"order": lost.pk, "reason": "not_geocoded"}]
    assert [p["id"] for p in client.get("/api/v1/plans").json()["results"]][:1] == [plan_id]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "date"), ({"date": "tomorrow"}, "date"), ({"date": str(DAY), "seconds": 0}, "seconds"),
     ({"date": str(DAY), "depot": 999999}, "depot")],
)  # fmt: skip
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
