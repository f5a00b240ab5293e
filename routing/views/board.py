"""The dispatch board: one full-screen view of a day's plan (routes and pool on one side,
the map on the other, a timeline per route below) with drag and drop. The page is
rendered here; its parts are fetched again as fragments when the plan changes (by this
dispatcher's drop, another's edit or a driver's progress). Rules live in
routing.services; these views translate."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from audit.services import current_actor
from dispatch.selectors.orders import orders_needing_date_count
from routing import selectors
from routing.models import Plan
from routing.services import board as board_service
from routing.services.edits import STALE
from routing.services.routes import is_stale
from routing.views.plans import _int
from tenants.selectors import current_tenant
from tenants.services.formats import Formats


def _day(value: str | None) -> dt.date:
    """The day asked for; today when none is, or it is not a day the page can show (a
    day before or after it must exist too)."""
    try:
        day = dt.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        return timezone.localdate()
    return day if dt.date.min < day < dt.date.max else timezone.localdate()


@dispatcher_required
def day_board_view(request: HttpRequest) -> HttpResponse:
    """`/board/?date=YYYY-MM-DD` (today by default): the board of the day's plan, or,
    without one, the day with a way to plan it."""
    day = _day(request.GET.get("date"))
    plan = selectors.day_plan(day)
    if plan is not None:
        url = reverse("dashboard:board", args=[plan.pk])
        query = request.GET.copy()
        query.pop("date", None)
        return redirect(f"{url}?{query.urlencode()}" if query else url)
    upcoming = Plan.objects.filter(date__gte=timezone.localdate()).order_by("date", "-pk").first()
    context = {
        "day": day,
        "previous": day - dt.timedelta(days=1),
        "next": day + dt.timedelta(days=1),
        "upcoming": upcoming,
        "needs_date": orders_needing_date_count(),
    }
    return render(request, "routing/board_empty.html", context)


def _parts(
    plan: Plan, *, only: set[int] | None = None, pool: bool = True, fresh=frozenset()
) -> dict:
    """The board's data: its routes (only those in `only`: then no summary), their
    timeline rows, the pool (unless `pool` is False)."""
    now = timezone.now()
    routes = board_service.board_routes(plan, now=now, only=only, fresh=fresh)
    axis = board_service.board_axis(plan)
    for route in routes:
        route.bars = board_service.board_bars(route, axis) if axis else []
    return {
        "plan": plan,
        "routes": routes,
        "all_routes": routes if only is None else None,
        "pool": selectors.board_pool(plan) if pool else None,
        "axis": axis,
        "ticks": board_service.board_ticks(axis) if axis else [],
        "now_left": _now_left(axis, now),
        "summary": _summary(routes) if only is None else None,
        "balance": selectors.plan_balance(plan) if only is None else None,
        "now": now,
        "day_before": plan.date - dt.timedelta(days=1),
        "day_after": plan.date + dt.timedelta(days=1),
        "needs_date": orders_needing_date_count() if only is None else 0,
        "alerts": selectors.dispatch_alerts([plan.date]) if only is None else [],
        "legend": [
            (state, board_service.STATE_LABELS[state])
            for state in (
                "planned",
                "en_route",
                "arrived",
                "delivered",
                "failed",
                "at_risk",
                "late",
            )
        ],
    }


def _now_left(axis, now: dt.datetime) -> float | None:
    """Where now falls on the timeline (% of its span), when it does."""
    if not axis or not axis[0] <= now <= axis[1]:
        return None
    return round(100 * (now - axis[0]).total_seconds() / (axis[1] - axis[0]).total_seconds(), 2)


def _summary(routes: list[board_service.BoardRoute]) -> dict:
    return {
        "orders": sum(r.orders for r in routes),
        "done": sum(r.done for r in routes),
        "late": sum(r.late for r in routes),
        "at_risk": sum(r.at_risk for r in routes),
        "routes": sum(1 for r in routes if r.orders),
        "warnings": sum(len(r.route.violations) for r in routes),
    }


def _axis_key(axis) -> str:
    return f"{axis[0].isoformat()}/{axis[1].isoformat()}" if axis else ""


@dispatcher_required
def board_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(Plan.objects.select_related("depot"), pk=plan_id)
    parts = _parts(plan)
    drivers, vehicles = selectors.crews_not_in(plan)
    context = {
        **parts,
        "map": board_service.board_map(plan, parts["all_routes"], parts["pool"]),
        "axis_key": _axis_key(parts["axis"]),
        "free_drivers": drivers,
        "free_vehicles": vehicles,
        "language_tag": Formats.of(current_tenant()).language_tag,
        "follow": request.GET.get("follow", ""),
        "focus": request.GET.get("focus", ""),
        "map_settings": {"RESET_VIEW": False},
        "running": plan.is_published and plan.date == timezone.localdate(),
    }
    return render(request, "routing/board.html", context)


def _state(
    request: HttpRequest, plan: Plan, *, only: set[int] | None = None, pool: bool = True
) -> dict:
    """The board's parts as HTML fragments and map data: everything, or (a drop's answer)
    only the routes in `only` and, with `pool`, the pool; the board then asks for its
    head (the day's counts) on its own."""
    # the routes a drop just re-timed (from now, on a running day) are stored as they are
    parts = _parts(plan, only=only, pool=pool or only is None, fresh=only or frozenset())
    full = only is None
    fragments = {
        "head": render_to_string("routing/board/_head.html", parts, request) if full else None,
        "routes": {
            str(r.route.pk): render_to_string(
                "routing/board/_route.html", {**parts, "board": r}, request
            )
            for r in parts["routes"]
        },
        "rows": {
            str(r.route.pk): render_to_string(
                "routing/board/_row.html", {**parts, "board": r}, request
            )
            for r in parts["routes"]
        },
        "pool": (
            render_to_string("routing/board/_pool.html", parts, request)
            if parts["pool"] is not None
            else None
        ),
        "axis": render_to_string("routing/board/_axis.html", parts, request) if full else None,
    }
    return {
        "revision": plan.revision,
        "axis": _axis_key(parts["axis"]),
        "full": full,
        "html": fragments,
        "map": board_service.board_map(plan, parts["routes"], parts["pool"]),
    }


@dispatcher_required
def board_state_view(request: HttpRequest, plan_id: int) -> JsonResponse:
    """The whole board as fragments, for a board that heard the plan changed;
    `?part=head`: only its head (the day's counts and actions)."""
    plan = get_object_or_404(Plan, pk=plan_id)
    if request.GET.get("part") == "head":
        parts = _parts(plan, pool=True)
        head = render_to_string("routing/board/_head.html", parts, request)
        return JsonResponse({"revision": plan.revision, "head": head})
    return JsonResponse(_state(request, plan))


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            name: [m for e in errors for m in e.messages] for name, errors in exc.error_dict.items()
        }
    return {"detail": exc.messages}


@dispatcher_required
@require_POST
def board_drop_view(request: HttpRequest, plan_id: int) -> JsonResponse:
    """A stop dropped somewhere on the board: `order`, `route` (an id, or "pool"),
    `position` (1-based, the break counted), `revision` (the plan as the board shows it)
    and `confirm` ("1": keep it even if it breaks a rule).

    200 `{"saved": true, ...}` with the changed routes' fragments; 200 `{"saved": false,
    "preview": ...}` when it would break a new rule (nothing saved); 409 `{"error":
    "stale", ...}` with the plan as it stands now; 400 with field errors."""
    plan = get_object_or_404(Plan, pk=plan_id)
    data = request.POST
    try:
        route = data.get("route")
        drop = board_service.stop_drop(
            plan=plan,
            order_id=_int(data.get("order"), "order", required=True),
            route_id=None if route == "pool" else _int(route, "route", required=True),
            position=_int(data.get("position"), "position"),
            revision=_int(data.get("revision"), "revision", required=True),
            confirm=data.get("confirm") == "1",
            actor=current_actor(),
        )
    except ValidationError as exc:
        if is_stale(exc):
            plan.refresh_from_db()
            body = {"error": STALE, "errors": _errors(exc), **_state(request, plan)}
            return JsonResponse(body, status=409)
        return JsonResponse({"error": "invalid", "errors": _errors(exc)}, status=400)
    formats = Formats.of(current_tenant())
    preview = {
        "breaks": drop.breaks,
        "routes": [
            {
                "id": change.id,
                "driver": change.driver,
                "ends_before": formats.time(change.ends_before),
                "ends_after": formats.time(change.ends_after),
                "minutes": round((change.ends_after - change.ends_before).total_seconds() / 60),
                "km_before": round(change.distance_before_m / 1000, 1),
                "km_after": round(change.distance_after_m / 1000, 1),
                "starts": {str(k): formats.time(v) for k, v in change.starts.items()},
            }
            for change in drop.routes
        ],
    }
    body = {"saved": drop.saved, "revision": drop.revision, "preview": preview}
    if drop.saved:
        plan.refresh_from_db()
        if plan.revision == drop.revision:  # nothing else changed since: the two routes
            body.update(_state(request, plan, only={c.id for c in drop.routes}, pool=drop.pooled))
        else:  # someone changed the plan right after: the board gets all of it
            body.update(_state(request, plan))
    return JsonResponse(body)
