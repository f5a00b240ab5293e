"""Balanced plans through the product: the service stores the balanced routes with the
shortest plan's totals, a re-solve stays balanced, the API and the pages take the options,
bad options get field errors, and tenants never see each other's plans."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from routing import selectors
from routing.models import Plan, PlanRoute
from routing.optimiser import balance
from routing.optimiser.balance import stop_cap
from routing.services import plans
from tests.conftest import api_client, login_client
from tests.routing.factories import DAY, make_fleet_day

pytestmark = pytest.mark.django_db


def crowded(prefix: str, *, orders: int = 27, vans: int = 2):
    """The issue's day: 27 orders close to the depot that one driver can do alone."""
    return make_fleet_day(prefix, vans=vans, orders=orders, spread=0.01)


def stops_per_route(plan: Plan) -> list[int]:
    return sorted(
        route.stops.exclude(order=None).count() for route in PlanRoute.objects.filter(plan=plan)
    )


def solved(day, **options) -> Plan:
    plan = plans.plan_create(date=DAY, depot=day.depot, seconds=2, **options)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DONE, plan.error
    return plan


def test_a_stop_balanced_plan_shares_the_day_and_shows_what_it_costs(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = crowded("bal")
        shortest = solved(day)
        assert stops_per_route(shortest) == [0, 27]  # the issue: one driver idle
        assert shortest.shortest_distance_m is None  # nothing to compare with
        assert selectors.plan_balance(shortest) is None

        plan = solved(day, objective="stops", balance_tolerance_pct=15)
        low, high = stops_per_route(plan)
        assert high <= stop_cap(27, 2, 15) == 16 and low >= 11
        assert plan.shortest_distance_m is not None and plan.shortest_duration_s is not None
        assert plan.shortest_distance_m < plan.distance_m  # sharing costs a second trip out
        summary = selectors.plan_balance(plan)
        assert summary.label == "Balanced by stops (±15%)"
        assert summary.stops == (low, high)
        assert summary.extra_m == plan.distance_m - plan.shortest_distance_m > 0
        assert summary.sign_m == "+" and summary.note == ""


def test_a_re_solve_of_a_balanced_plan_stays_balanced(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = crowded("again", orders=20)
        plan = solved(day, objective="stops", balance_tolerance_pct=0)
        assert stops_per_route(plan) == [10, 10]
        plans.plan_resolve(plan=plan)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        plan.refresh_from_db()
        assert plan.status == Plan.Status.DONE, plan.error
        assert stops_per_route(plan) == [10, 10]
        assert plan.objective == "stops" and plan.shortest_distance_m is not None


def test_a_re_solve_around_a_locked_route_compares_whole_plans(alpha, monkeypatch):
    """The re-solve searches only the unlocked routes; the shortest total stored is the
    plan's as it now stands less what balance cost in that search."""
    answers = []
    real = balance.solve
    monkeypatch.setattr(
        balance, "solve", lambda *a, **kw: answers.append(real(*a, **kw)) or answers[-1]
    )
    with schema_context(alpha.tenant.schema_name):
        day = crowded("locked", orders=30, vans=3)
        plan = solved(day, objective="stops", balance_tolerance_pct=0)
        assert stops_per_route(plan) == [10, 10, 10]
        locked = PlanRoute.objects.filter(plan=plan).order_by("pk").first()
        locked.locked = True
        locked.save(update_fields=["locked"])
        plans.plan_resolve(plan=plan)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        plan.refresh_from_db()
        assert plan.status == Plan.Status.DONE, plan.error
        assert stops_per_route(plan) == [10, 10, 10]
        searched = answers[-1]
        assert len(searched.solution.routes) == 2  # the locked route was not searched
        total = sum(PlanRoute.objects.filter(plan=plan).values_list("distance_m", flat=True))
        # never "-x km": a balanced search that beat the first shortest plan cost nothing
        extra = max(searched.solution.distance_m - searched.shortest.distance_m, 0)
        assert plan.shortest_distance_m == total - extra
        assert selectors.plan_balance(plan).extra_m == extra


def test_use_every_driver_on_the_shortest_objective(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = crowded("all", orders=12, vans=3)
        plan = solved(day, use_all_drivers=True)
        assert min(stops_per_route(plan)) >= 1
        summary = selectors.plan_balance(plan)
        assert summary.label == "Shortest total, every driver used" and summary.stops[0] >= 1


def test_a_time_balanced_plan_keeps_working_time_within_the_tolerance(alpha):
    with schema_context(alpha.tenant.schema_name):
        day = crowded("time")
        plan = solved(day, objective="time", balance_tolerance_pct=20)
        durations = list(PlanRoute.objects.filter(plan=plan).values_list("duration_s", flat=True))
        assert min(durations) > 0 and plan.balance_note == ""
        assert max(durations) <= sum(durations) / len(durations) * 1.2


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"objective": "fair"}, "objective"),
        ({"balance_tolerance_pct": -1}, "balance_tolerance_pct"),
        ({"balance_tolerance_pct": 101}, "balance_tolerance_pct"),
        ({"balance_tolerance_pct": "15"}, "balance_tolerance_pct"),
    ],
)
def test_the_service_refuses_bad_balance_options(alpha, options, field):
    with schema_context(alpha.tenant.schema_name):
        before = Plan.objects.count()
        with pytest.raises(ValidationError) as exc:
            plans.plan_create(date=DAY, seconds=1, **options)
        assert field in exc.value.message_dict
        assert Plan.objects.count() == before


def test_the_api_queues_a_balanced_plan_and_reads_its_comparison(alpha, beta):
    client = api_client(alpha.host, alpha.api_key)
    with schema_context(alpha.tenant.schema_name):
        day = crowded("api", orders=10)
    payload = {
        "date": str(DAY),
        "depot": day.depot.pk,
        "seconds": 2,
        "objective": "stops",
        "balance_tolerance_pct": 20,
        "use_all_drivers": True,
    }
    response = client.post("/api/v1/plans", payload, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["objective"], body["balance_tolerance_pct"], body["use_all_drivers"]) == (
        "stops",
        20,
        True,
    )
    with schema_context(alpha.tenant.schema_name):
        plans.plan_solve(body["id"])
    body = client.get(f"/api/v1/plans/{body['id']}").json()
    assert body["status"] == "done"
    assert body["shortest_distance_m"] <= body["distance_m"]
    assert body["shortest_duration_s"] > 0 and body["balance_note"] == ""
    counts = [sum(not s["is_break"] for s in r["stops"]) for r in body["routes"]]
    assert max(counts) <= stop_cap(10, 2, 20) == 6 and min(counts) >= 4
    # the other tenant sees neither the plan nor its numbers
    other = api_client(beta.host, beta.api_key)
    assert other.get(f"/api/v1/plans/{body['id']}").status_code == 404
    assert body["id"] not in [p["id"] for p in other.get("/api/v1/plans").json()["results"]]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"objective": "fair"}, "objective"),
        ({"objective": 3}, "objective"),
        ({"balance_tolerance_pct": 101}, "balance_tolerance_pct"),
        ({"balance_tolerance_pct": -5}, "balance_tolerance_pct"),
        ({"balance_tolerance_pct": "lots"}, "balance_tolerance_pct"),
        ({"use_all_drivers": "maybe"}, "use_all_drivers"),
    ],
)
def test_the_api_answers_bad_balance_options_with_field_errors(alpha, options, field):
    client = api_client(alpha.host, alpha.api_key)
    with schema_context(alpha.tenant.schema_name):
        before = Plan.objects.count()
    response = client.post("/api/v1/plans", {"date": str(DAY), **options}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    with schema_context(alpha.tenant.schema_name):
        assert Plan.objects.count() == before


def test_the_plan_list_page_makes_a_balanced_plan_and_the_pages_show_it(alpha, beta):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        day = crowded("page", orders=8)
    form = client.get("/plans/").content.decode()
    assert "Balance working time" in form and "Use every driver on shift" in form
    response = client.post(
        "/plans/",
        {
            "date": str(DAY),
            "depot": day.depot.pk,
            "seconds": 1,
            "objective": "time",
            "balance_tolerance_pct": 25,
            "use_all_drivers": "on",
        },
    )
    assert response.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        plan = Plan.objects.get(depot=day.depot)
        assert (plan.objective, plan.balance_tolerance_pct, plan.use_all_drivers) == (
            "time",
            25,
            True,
        )
        plans.plan_solve(plan.pk)
    for url in (f"/plans/{plan.pk}/board", f"/plans/{plan.pk}/"):
        page = client.get(url).content.decode()
        assert "Balanced by working time (±25%), every driver used:" in page
        assert "against the shortest plan" in page and "stops per driver" in page
    bad = client.post("/plans/", {"date": str(DAY), "seconds": 1, "balance_tolerance_pct": 300})
    assert bad.status_code == 200 and b"errorlist" in bad.content
    # another tenant's dispatcher cannot open it
    other = login_client(beta.host, beta.dispatcher_email)
    assert other.get(f"/plans/{plan.pk}/").status_code == 404


def test_a_balanced_plan_shorter_than_the_first_shortest_plan_costs_nothing(alpha):
    """The shortest plan is found with a third of the budget; when the balanced search
    finds a shorter one, the comparison is with it (+0), never a negative cost."""
    from types import SimpleNamespace

    with schema_context(alpha.tenant.schema_name):
        day = crowded("beat", orders=12, vans=2)
        plan = solved(day, objective="stops")
        total_m, total_s = (
            sum(PlanRoute.objects.filter(plan=plan).values_list(field, flat=True))
            for field in ("distance_m", "duration_s")
        )
        answer = SimpleNamespace(
            solution=SimpleNamespace(distance_m=9_000, duration_s=7_000),
            shortest=SimpleNamespace(distance_m=10_000, duration_s=6_000),
            note="",
        )
        fields = plans._shortest_fields(plan, answer)
        assert fields["shortest_distance_m"] == total_m
        assert fields["shortest_duration_s"] == total_s
        answer.solution.distance_m = 10_500  # dearer: the cost is what it is
        fields = plans._shortest_fields(plan, answer)
        assert fields["shortest_distance_m"] == total_m - 500
        assert fields["shortest_duration_s"] == total_s - 1_000
