"""The planning pages: create, follow, edit, print; roles and tenants kept apart."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import schema_context

from routing.models import Plan, PlanStop
from routing.services import plans
from tests.conftest import login_client
from tests.routing.factories import DAY, make_fleet_day

pytestmark = pytest.mark.django_db


def _solved(prefix: str, **fleet):
    day = make_fleet_day(prefix, **fleet)
    plan = plans.plan_create(date=DAY, depot=day.depot, seconds=1)
    plans.plan_solve(plan.pk)
    plan.refresh_from_db()
    return plan, day


def test_a_dispatcher_queues_a_plan_from_the_list_page(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        day = make_fleet_day("page", vans=1, orders=2)
    assert b"Plan a day" in client.get("/plans/").content
    response = client.post("/plans/", {"date": str(DAY), "depot": day.depot.pk, "seconds": 1})
    assert response.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        plan = Plan.objects.get(depot=day.depot)
    assert response["Location"] == f"/plans/{plan.pk}/board"
    page = client.get(response["Location"]).content.decode()
    assert "Queued" in page and 'hx-trigger="every 1s"' in page  # polls while busy
    bad = client.post("/plans/", {"date": "soon", "seconds": 0})
    assert bad.status_code == 200 and b"errorlist" in bad.content


def test_the_status_poll_reloads_the_page_when_the_solve_ends(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("poll", vans=1, orders=2)
    response = client.get(f"/plans/{plan.pk}/status?was=busy")
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    assert b"Done" in response.content and b"hx-trigger" not in response.content


def test_the_plan_page_shows_routes_timeline_and_reasons(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("show", vans=2, orders=6)
        stops = PlanStop.objects.filter(route__plan=plan).exclude(order=None).count()
    page = client.get(f"/plans/{plan.pk}/").content.decode()
    assert 'id="plan-map"' in page and page.count('class="timeline"') >= 1
    assert page.count('move-form"') == stops  # every stop can be moved
    assert "show driver 1" in page and "Publish to drivers" in page


def test_moves_from_the_page_flash_their_result_or_the_refusal(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("flash", vans=1, orders=3)
        route = plan.routes.get()
        order = route.stops.exclude(order=None).first().order_id
    moved = client.post(f"/plans/{plan.pk}/move", {"order": order, "route": "pool"}, follow=True)
    assert b"Stop moved." in moved.content
    with schema_context(alpha.tenant.schema_name):
        assert plan.unassigned.get(order_id=order).reason == "manual"
    refused = client.post(
        f"/plans/{plan.pk}/move", {"order": order, "route": route.pk, "position": 99}, follow=True
    )
    assert b"Between 1 and" in refused.content
    junk = client.post(f"/plans/{plan.pk}/move", {"order": "x", "route": "y"}, follow=True)
    assert junk.status_code == 200 and b"Not a whole number." in junk.content
    assert client.post(f"/plans/{plan.pk}/nonsense").status_code == 404


def test_route_sheet_and_csv_list_the_stops_in_driving_order(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("sheet", vans=1, orders=4, windows=True)
        route = plan.routes.get()
        ordered = list(route.stops.exclude(order=None).order_by("sequence"))
    sheet = client.get(f"/plans/{plan.pk}/routes/{route.pk}/sheet").content.decode()
    positions = [sheet.index(s.order.customer_name) for s in ordered]
    assert positions == sorted(positions) and "data-print" in sheet
    rows = list(
        csv.DictReader(io.StringIO(client.get(f"/plans/{plan.pk}/routes.csv").content.decode()))
    )
    assert [int(r["order"]) for r in rows if r["order"]] == [s.order_id for s in ordered]
    first = next(r for r in rows if r["order"])
    assert first["customer"] == ordered[0].order.customer_name and first["windows"]
    assert first["starts"] == f"{ordered[0].starts_at.astimezone(_zone(alpha)):%H:%M}"


def test_the_plan_csv_defuses_text_a_spreadsheet_would_run(alpha):
    """A customer's name or note starting with =, +, - or @ is written with a leading
    apostrophe, as the order export does (a phone number like +44… is left alone)."""
    from dispatch.models import Order

    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("formula", vans=1, orders=3)
        first, second, third = (
            s.order for s in plan.routes.get().stops.exclude(order=None).order_by("sequence")
        )
        Order.objects.filter(pk=first.pk).update(customer_name='=HYPERLINK("http://x","y")')
        Order.objects.filter(pk=second.pk).update(customer_name="@SUM(A1)", external_id="-A1+B1")
        Order.objects.filter(pk=third.pk).update(customer_phone="+447700900123")
    text = client.get(f"/plans/{plan.pk}/routes.csv").content.decode()
    rows = {r["order"]: r for r in csv.DictReader(io.StringIO(text)) if r["order"]}
    assert rows[str(first.pk)]["customer"] == '\'=HYPERLINK("http://x","y")'
    assert rows[str(second.pk)]["customer"] == "'@SUM(A1)"
    assert rows[str(second.pk)]["external_id"] == "'-A1+B1"
    assert rows[str(third.pk)]["phone"] == "+447700900123"


def _zone(fixture):
    from zoneinfo import ZoneInfo

    return ZoneInfo(fixture.tenant.time_zone)


def test_drivers_cannot_open_the_planning_pages(alpha):
    client = login_client(alpha.host, alpha.driver_email)
    assert client.get("/plans/").status_code == 403
    assert client.post("/plans/", {"date": str(DAY)}).status_code == 403


def test_another_tenants_plan_is_not_found_on_the_pages(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("xpage", vans=1, orders=2)
        route = plan.routes.get()
    with schema_context(beta.tenant.schema_name):
        taken = Plan.objects.filter(pk=plan.pk).exists()
    assert not taken  # beta has no plan in this test: the id is free there
    client = login_client(beta.host, beta.dispatcher_email)
    for url in (
        f"/plans/{plan.pk}/",
        f"/plans/{plan.pk}/status",
        f"/plans/{plan.pk}/routes.csv",
        f"/plans/{plan.pk}/routes/{route.pk}/sheet",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/plans/{plan.pk}/publish").status_code == 404
    with schema_context(alpha.tenant.schema_name):
        assert Plan.objects.get(pk=plan.pk).published_at is None


def test_the_driver_sees_the_published_route_and_what_changed(alpha):
    from routing.services import edits, publish

    client = login_client(alpha.host, alpha.driver_email)
    assert b"not linked to a driver" in client.get("/driver/").content
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("drv", vans=2, orders=6)
        busy = max(plan.routes.all(), key=lambda r: r.stops.count())
        other = plan.routes.exclude(pk=busy.pk).get()
        busy.driver.user_id = alpha.user_ids[alpha.driver_email]
        busy.driver.save()
        assert b"No published route" in client.get("/driver/").content
        publish.plan_publish(plan=plan, actor="test")
        busy.refresh_from_db()
        page = client.get("/driver/").content.decode()
        assert "Version 1" in page and "Your route changed" not in page
        names = [s.order.customer_name for s in busy.stops.exclude(order=None).order_by("sequence")]
        assert [page.index(n) for n in names] == sorted(page.index(n) for n in names)
        assert client.get(f"/driver/version?seen={busy.pk}:1").status_code == 204
        assert "HX-Refresh" not in client.get(f"/driver/version?seen={busy.pk}:1")
        moved = other.stops.exclude(order=None).first()
        if moved is None:  # the other van is idle: give the driver one of its own back
            order = busy.stops.exclude(order=None).last().order_id
            edits.stop_move(plan=plan, order_id=order, route_id=other.pk)
            edits.stop_move(plan=plan, order_id=order, route_id=busy.pk, position=1)
        else:
            order = moved.order_id
            edits.stop_move(plan=plan, order_id=order, route_id=busy.pk, position=1)
        busy.refresh_from_db()
    assert client.get(f"/driver/version?seen={busy.pk}:1")["HX-Refresh"] == "true"
    page = client.get("/driver/").content.decode()
    assert f"Version {busy.version}" in page and "Your route changed" in page
    assert f"Added: #{order}" in page
    assert login_client(alpha.host, alpha.dispatcher_email).get("/driver/").status_code == 403


@pytest.mark.parametrize(("ticked", "allowed"), [(["0"], False), (["0", "1"], True)])
def test_the_re_optimise_box_decides_whether_stops_may_change_driver(
    alpha, monkeypatch, ticked, allowed
):
    seen = {}
    monkeypatch.setattr(plans, "plan_resolve", lambda **kwargs: seen.update(kwargs))
    client = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        plan, _ = _solved("box", vans=1, orders=1)
    client.post(f"/plans/{plan.pk}/resolve", {"allow_reassign": ticked})
    assert seen["allow_reassign"] is allowed
