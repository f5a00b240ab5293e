"""The dispatch board's rules and endpoints: a drop re-times and saves, or is shown first
when it breaks a new rule; every change raises the plan's revision and an edit made on
an older one is refused with the plan as it stands; stops get their state (late, at
risk…); roles and tenants are kept apart (ids repeat across schemas)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import Order
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
from routing.services import board, edits, plans
from routing.services.routes import midnight_of
from routing.signals import plan_changed
from tests.conftest import api_client, login_client
from tests.routing.factories import DAY, make_fleet_day

pytestmark = pytest.mark.django_db


def _plan(prefix: str, *, pk: int | None = None, orders: int = 8) -> Plan:
    """Two vans sharing `orders` orders (both used: four stops a van while solving)."""
    from dispatch.models import Vehicle

    day = make_fleet_day(prefix, vans=2, orders=orders, spread=0.01)
    vans = Vehicle.objects.filter(pk__in=[v.pk for v in day.vans])
    vans.update(max_stops=-(-orders // 2))
    plan = Plan.objects.create(pk=pk, date=DAY, depot=day.depot, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    vans.update(max_stops=None)
    plan.refresh_from_db()
    return plan


def _first(route: PlanRoute) -> PlanStop:
    return route.stops.exclude(order=None).order_by("sequence").first()


def test_a_clean_drop_is_saved_re_timed_and_counted(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("drop")
        source, target = plan.routes.order_by("pk")
        moving = _first(source).order_id
        ends = target.ends_at
        heard = []
        receiver = lambda sender, plan, **kw: heard.append(plan.revision)  # noqa: E731
        plan_changed.connect(receiver)
        try:
            drop = board.stop_drop(
                plan=plan,
                order_id=moving,
                route_id=target.pk,
                position=1,
                revision=plan.revision,
                actor="user:1",
            )
        finally:
            plan_changed.disconnect(receiver)
        assert drop.saved and drop.breaks == []
        assert PlanStop.objects.get(order_id=moving).route_id == target.pk
        assert PlanStop.objects.get(order_id=moving).sequence == 1
        target.refresh_from_db()
        assert target.ends_at > ends
        assert drop.revision == Plan.objects.get(pk=plan.pk).revision > plan.revision
        assert heard and heard[-1] == drop.revision
        changed = {c.id: c for c in drop.routes}
        assert set(changed) == {source.pk, target.pk}
        assert changed[target.pk].starts[moving] == PlanStop.objects.get(order_id=moving).starts_at


def test_a_drop_that_breaks_a_new_rule_is_shown_and_saved_only_when_kept(
    alpha, django_capture_on_commit_callbacks
):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("preview")
        source, target = plan.routes.order_by("pk")
        moving = _first(source).order_id
        Order.objects.filter(pk=moving).update(time_windows=[{"start": "06:00", "end": "06:05"}])
        revision = plan.revision
        with django_capture_on_commit_callbacks() as queued:
            drop = board.stop_drop(
                plan=plan, order_id=moving, route_id=target.pk, position=None, revision=revision
            )
        assert queued == []  # no socket message, webhook or notice for a move not saved
        assert not drop.saved
        assert drop.breaks == [f"Order #{moving}: outside its time window"]
        assert drop.revision == revision == Plan.objects.get(pk=plan.pk).revision
        assert PlanStop.objects.get(order_id=moving).route_id == source.pk  # nothing saved
        assert not any(v["order"] == moving for v in PlanRoute.objects.get(pk=target.pk).violations)
        # the re-timed route was shown: the stop at the end, after the others
        shown = next(c for c in drop.routes if c.id == target.pk)
        assert moving in shown.starts and shown.ends_after > shown.ends_before

        with django_capture_on_commit_callbacks() as queued:
            kept = board.stop_drop(
                plan=plan,
                order_id=moving,
                route_id=target.pk,
                position=None,
                revision=revision,
                confirm=True,
            )
        assert queued  # the other dispatchers hear of it once it is kept
        assert kept.saved and kept.breaks == [f"Order #{moving}: outside its time window"]
        assert PlanStop.objects.get(order_id=moving).route_id == target.pk


def test_an_edit_on_an_older_revision_is_refused_and_changes_nothing(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("stale")
        source, target = plan.routes.order_by("pk")
        seen = plan.revision
        edits.stop_lock(plan=plan, order_id=_first(target).order_id, locked=True, revision=seen)
        moving = _first(source).order_id
        with pytest.raises(ValidationError) as refused:
            board.stop_drop(
                plan=plan, order_id=moving, route_id=target.pk, position=1, revision=seen
            )
        assert refused.value.error_dict["revision"][0].code == edits.STALE
        assert PlanStop.objects.get(order_id=moving).route_id == source.pk
        for edit in (
            lambda: edits.route_lock(plan=plan, route_id=source.pk, locked=True, revision=seen),
            lambda: edits.route_remove(plan=plan, route_id=source.pk, revision=seen),
            lambda: edits.stop_move(plan=plan, order_id=moving, route_id=None, revision=seen),
        ):
            with pytest.raises(ValidationError):
                edit()
        assert not PlanRoute.objects.get(pk=source.pk).locked
        assert PlanStop.objects.filter(order_id=moving).exists()


def test_every_kind_of_change_raises_the_revision(alpha):
    from routing.services import publish

    with schema_context(alpha.tenant.schema_name):
        plan = _plan("revs")
        source, target = plan.routes.order_by("pk")

        def revision() -> int:
            return Plan.objects.get(pk=plan.pk).revision

        steps = [
            lambda: edits.stop_lock(plan=plan, order_id=_first(source).order_id, locked=True),
            lambda: edits.route_lock(plan=plan, route_id=target.pk, locked=True),
            lambda: edits.route_lock(plan=plan, route_id=target.pk, locked=False),
            lambda: edits.stop_move(plan=plan, order_id=_first(target).order_id, route_id=None),
            lambda: publish.plan_publish(plan=plan, actor="test"),
        ]
        for step in steps:
            before = revision()
            step()
            assert revision() > before, step


def test_stop_states_late_at_risk_and_progress(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("states")
        route = plan.routes.order_by("pk").first()
        stop = _first(route)
        midnight = midnight_of(plan)
        order = stop.order

        def at(hhmm: str) -> dt.datetime:
            h, m = map(int, hhmm.split(":"))
            return midnight + dt.timedelta(hours=h, minutes=m)

        order.time_windows = [{"start": "09:00", "end": "12:00"}]
        assert board.stop_state(stop, at("10:00"), midnight) == ("planned", 0)
        assert board.stop_state(stop, at("11:50"), midnight) == ("at_risk", 600)
        assert board.stop_state(stop, at("12:30"), midnight) == ("late", 1800)
        order.time_windows = [
            {"start": "09:00", "end": "10:00"},
            {"start": "14:00", "end": "16:00"},
        ]
        assert board.stop_state(stop, at("15:00"), midnight) == ("planned", 0)
        assert board.stop_state(stop, at("11:00"), midnight) == ("late", 3600)
        order.time_windows = []
        assert board.stop_state(stop, at("23:00"), midnight) == ("planned", 0)
        order.status = "delivered"
        order.time_windows = [{"start": "09:00", "end": "10:00"}]
        assert board.stop_state(stop, at("12:00"), midnight) == ("delivered", 0)
        order.status = "en_route"
        assert board.stop_state(stop, at("09:30"), midnight) == ("en_route", 0)

        routes = board.board_routes(plan)
        assert (
            sum(r.orders for r in routes)
            == PlanStop.objects.filter(route__plan=plan, order__isnull=False).count()
        )
        assert all(s.position == k for r in routes for k, s in enumerate(r.stops, start=1))


# --- the endpoints ----------------------------------------------------------------------


def test_the_board_page_and_its_state(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("page")
        routes = list(plan.routes.order_by("pk"))
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get(f"/plans/{plan.pk}/board")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-revision="{plan.revision}"' in html
    for route in routes:
        assert f'id="board-route-{route.pk}"' in html and f'id="board-row-{route.pk}"' in html
    assert "vendor/sortablejs/Sortable.min.js" in html
    state = client.get(f"/plans/{plan.pk}/board/state").json()
    assert state["revision"] == plan.revision and state["full"] is True
    assert set(state["html"]["routes"]) == {str(r.pk) for r in routes}
    assert {r["id"] for r in state["map"]["routes"]} == {r.pk for r in routes}
    # the day's board finds the plan; a day without one offers to plan it
    day_board = client.get(f"/board/?date={DAY.isoformat()}")
    assert day_board.status_code == 302
    assert day_board["Location"] == f"/plans/{plan.pk}/board"
    empty = client.get(f"/board/?date={(DAY + dt.timedelta(days=30)).isoformat()}")
    assert empty.status_code == 200 and b"No plan for this day yet" in empty.content
    assert client.get("/board/?date=not-a-day").status_code in (200, 302)


def test_drop_endpoint_answers_saved_preview_stale_and_field_errors(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("endpoint")
        source, target = plan.routes.order_by("pk")
        moving, other = _first(source).order_id, _first(target).order_id
    client = login_client(alpha.host, alpha.dispatcher_email)
    url = f"/plans/{plan.pk}/board/drop"
    saved = client.post(
        url, {"order": moving, "route": target.pk, "position": 1, "revision": plan.revision}
    )
    assert saved.status_code == 200
    body = saved.json()
    assert body["saved"] is True and body["revision"] > plan.revision
    assert set(body["html"]["routes"]) == {str(source.pk), str(target.pk)}
    assert f'id="board-stop-{moving}"' in body["html"]["routes"][str(target.pk)]

    stale = client.post(url, {"order": other, "route": "pool", "revision": plan.revision})
    assert stale.status_code == 409
    assert stale.json()["error"] == "stale" and stale.json()["revision"] == body["revision"]
    assert stale.json()["full"] is True
    with schema_context(alpha.tenant.schema_name):
        assert not PlanUnassigned.objects.filter(plan=plan, order_id=other).exists()

    pooled = client.post(url, {"order": other, "route": "pool", "revision": body["revision"]})
    assert pooled.status_code == 200 and pooled.json()["saved"] is True
    revision = pooled.json()["revision"]
    for junk, field in (
        ({"order": "x", "route": target.pk, "revision": revision}, "order"),
        ({"order": moving, "route": "y", "revision": revision}, "route"),
        (
            {"order": moving, "route": target.pk, "position": "first", "revision": revision},
            "position",
        ),
        ({"order": moving, "route": target.pk}, "revision"),
        ({"order": moving, "route": target.pk, "position": 99, "revision": revision}, "position"),
        ({"order": 987654, "route": target.pk, "revision": revision}, "order"),
        ({"order": moving, "route": 987654, "revision": revision}, "route"),
    ):
        answer = client.post(url, junk)
        assert answer.status_code == 400, junk
        assert field in answer.json()["errors"], (junk, answer.json())
    # a double click (the same drop twice) is harmless: the second is told the plan moved on
    again = client.post(url, {"order": other, "route": "pool", "revision": body["revision"]})
    assert again.status_code == 409
    assert client.get(url).status_code == 405


def test_the_page_actions_refuse_a_stale_revision_and_return_to_the_board(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("actions")
        route = plan.routes.order_by("pk").first()
    client = login_client(alpha.host, alpha.dispatcher_email)
    old = plan.revision
    locked = client.post(
        f"/plans/{plan.pk}/lock-route",
        {"route": route.pk, "locked": "1", "revision": old, "next": "board"},
    )
    assert locked.status_code == 302 and locked["Location"] == f"/plans/{plan.pk}/board"
    refused = client.post(
        f"/plans/{plan.pk}/publish", {"revision": old, "next": "board"}, follow=True
    )
    assert b"This plan changed since you loaded it" in refused.content
    with schema_context(alpha.tenant.schema_name):
        assert PlanRoute.objects.get(pk=route.pk).locked
        assert Plan.objects.get(pk=plan.pk).published_at is None


def test_drivers_cannot_use_the_board(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("roles", orders=4)
    client = login_client(alpha.host, alpha.driver_email)
    for url in (f"/plans/{plan.pk}/board", f"/plans/{plan.pk}/board/state", "/board/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/plans/{plan.pk}/board/drop", {"order": 1}).status_code == 403


def test_the_board_of_one_tenant_never_shows_or_moves_anothers_plan_with_the_same_id(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        mine = _plan("alphaboard", pk=7001)
        route = mine.routes.order_by("pk").first()
        moving = _first(route).order_id
    with schema_context(beta.tenant.schema_name):
        theirs = _plan("betaboard", pk=7001)  # the same id in the other schema
        their_routes = set(theirs.routes.values_list("pk", flat=True))
    client = login_client(beta.host, beta.dispatcher_email)
    page = client.get("/plans/7001/board").content.decode()
    assert "betaboard customer" in page and "alphaboard customer" not in page
    state = client.get("/plans/7001/board/state").json()
    assert {r["id"] for r in state["map"]["routes"]} == their_routes
    # alpha's order id and route id, sent to beta's plan 7001: nothing of alpha's moves
    answer = client.post(
        "/plans/7001/board/drop",
        {"order": moving, "route": route.pk, "revision": theirs.revision},
    )
    if answer.status_code == 200:  # the ids exist in beta too: beta's own rows moved
        with schema_context(beta.tenant.schema_name):
            assert PlanStop.objects.get(order_id=moving).route.plan_id == 7001
    else:
        assert answer.status_code == 400
    with schema_context(alpha.tenant.schema_name):
        assert PlanStop.objects.get(order_id=moving).route_id == route.pk
        assert Plan.objects.get(pk=7001).revision == mine.revision
    other = login_client(beta.host, beta.dispatcher_email)
    assert other.get("/plans/7002/board").status_code == 404


def test_the_api_takes_the_revision_and_refuses_a_stale_move_with_409(alpha):
    with schema_context(alpha.tenant.schema_name):
        plan = _plan("apirev", orders=4)
        source, target = plan.routes.order_by("pk")
        moving = _first(source).order_id
    client = api_client(alpha.host, alpha.api_key)
    url = f"/api/v1/plans/{plan.pk}"
    seen = client.get(url).json()["revision"]
    assert seen == plan.revision
    moved = client.post(
        f"{url}/moves", {"order": moving, "route": target.pk, "revision": seen}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["revision"] > seen
    stale = client.post(
        f"{url}/locks", {"route": target.pk, "locked": True, "revision": seen}, format="json"
    )
    assert stale.status_code == 409 and "revision" in stale.json()["errors"]
    with schema_context(alpha.tenant.schema_name):
        assert not PlanRoute.objects.get(pk=target.pk).locked
