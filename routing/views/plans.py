"""The dispatcher's planning pages: plans, one plan's map, timeline and edits, route
sheets (printable and CSV). Rules live in routing.services; these views translate."""

from __future__ import annotations

import csv
import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from audit.services import current_actor
from core.forms import flash_service_errors
from dispatch.models import Depot, Order
from dispatch.services.csv_io import defuse
from routing import selectors
from routing.models import Objective, Plan, PlanRoute, PlanStop
from routing.services import edits, geometry, live, plans, publish, roads
from routing.services.corrections import corrections
from routing.views.multi_day import multi_day_form


class PlanForm(forms.Form):
    date = forms.DateField(
        label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    depot = forms.ModelChoiceField(
        queryset=Depot.objects.filter(is_active=True),
        required=False,
        label=gettext_lazy("Depot"),
        empty_label=gettext_lazy("Every depot"),
    )
    seconds = forms.FloatField(
        initial=10,
        min_value=plans.PLAN_SECONDS_RANGE[0],
        max_value=plans.PLAN_SECONDS_RANGE[1],
        label=gettext_lazy("Optimiser time (seconds)"),
    )
    objective = forms.ChoiceField(
        choices=Objective.choices,
        initial=Objective.SHORTEST,
        required=False,
        widget=forms.RadioSelect,
        label=gettext_lazy("Routes"),
        help_text=gettext_lazy(
            "Shortest total saves fuel; balancing shares the work between the drivers "
            "and shows what it costs in km and hours."
        ),
    )
    balance_tolerance_pct = forms.IntegerField(
        initial=15,
        required=False,
        min_value=plans.BALANCE_TOLERANCE_RANGE[0],
        max_value=plans.BALANCE_TOLERANCE_RANGE[1],
        label=gettext_lazy("Tolerance (±%)"),
        help_text=gettext_lazy("How far above the mean a balanced route may be."),
    )
    use_all_drivers = forms.BooleanField(
        required=False, label=gettext_lazy("Use every driver on shift")
    )

    def clean_objective(self) -> str:
        return self.cleaned_data.get("objective") or Objective.SHORTEST  # left out: shortest

    def clean_balance_tolerance_pct(self) -> int:
        value = self.cleaned_data.get("balance_tolerance_pct")
        return 15 if value is None else value


def _actor(request: HttpRequest) -> str:
    return current_actor()


@dispatcher_required
def plan_list_view(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST or None, initial={"date": timezone.localdate() + dt.timedelta(1)})
    if request.method == "POST" and form.is_valid():
        try:
            plan = plans.plan_create(**form.cleaned_data, created_by=request.user)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            return redirect("dashboard:board", plan_id=plan.pk)
    page = Paginator(selectors.plans_list(), 25).get_page(request.GET.get("page"))
    several = multi_day_form()  # the "Plan several days" form (routing.views.multi_day)
    return render(
        request, "routing/plan_list.html", {"form": form, "page": page, "several": several}
    )


def _plan_context(plan: Plan) -> dict:
    routes = selectors.plan_routes(plan)
    pool = selectors.plan_pool(plan)
    bars, ticks = selectors.timelines(routes)
    drivers, vehicles = selectors.crews_not_in(plan)
    for k, route in enumerate(routes):
        route.colour = selectors.PALETTE[k % len(selectors.PALETTE)]
        route.bars = bars.get(route.pk, [])
        route.stop_list = list(route.stops.all())
        route.flags = {v["sequence"]: v["detail"] for v in route.violations if v["sequence"]}
        route.route_flags = [v["detail"] for v in route.violations if not v["sequence"]]
        route.learned_shown = abs(route.learned_shift_s) >= LEARNED_SHOWN_S
        for stop in route.stop_list:
            stop.learned_note = _learned_note(stop)
    for item in pool:
        item.label = selectors.REASON_LABELS.get(item.reason, item.reason)
    return {
        "plan": plan,
        "routes": routes,
        "pool": pool,
        "map": _map_data(plan, routes, pool),
        "ticks": ticks,
        "free_drivers": drivers,
        "free_vehicles": vehicles,
        "urgent_orders": selectors.urgent_candidates(plan) if plan.is_published else [],
        "balance": selectors.plan_balance(plan),
        "map_settings": {"RESET_VIEW": False},
        "learning": _learning_in_use(),
    }


#: A learned correction that moves a time by less than this is not worth a note.
LEARNED_SHOWN_S = 60


def _learned_note(stop: PlanStop) -> dict | None:
    """What the plan page says of a stop a learned correction moved (its arrival by a
    minute or more, or its own door time by as much), from `PlanStop.learned`."""
    why = stop.learned or {}
    service, travel = why.get("service"), why.get("travel")
    door = service if service and abs(service["seconds"] - service["configured"]) >= 60 else None
    shift = stop.learned_shift_s if abs(stop.learned_shift_s) >= LEARNED_SHOWN_S else 0
    if not shift and door is None:
        return None
    note = {"shift": shift, "later": shift > 0, "size": abs(shift), "service": door}
    if travel:
        hour = travel["hour_of_week"]
        note["travel"] = {**travel, "day": WEEKDAYS[hour // 24], "at": dt.time(hour % 24)}
    return note


def _learning_in_use() -> dict | None:
    """What the page says on top when the tenant's times use what its drivers taught:
    how many days it came from and how many hours, areas and door times it holds, and
    where to read more (the learning page)."""
    taught = corrections()
    if taught.is_empty:
        return None
    run = selectors.learning_run(taught.version)
    days = run.days_read if run else 0
    if run and run.first_date and run.last_date:
        days = (run.last_date - run.first_date).days + 1
    return {
        "days": days,
        "hours": len(taught.hours),
        "areas": len(taught.areas),
        "doors": len(taught.addresses) + len(taught.customers) + len(taught.sizes),
        "url": reverse("dashboard:learning"),
    }


def _map_data(plan: Plan, routes: list[PlanRoute], pool) -> dict:
    """The map's stops and pool, each route's road path (cached), and what the paths
    come from (the legend and the attribution)."""
    source = roads.travel_source()
    data = selectors.map_data(plan, routes, pool)
    for entry, route in zip(data["routes"], routes, strict=True):
        entry["geometry"] = geometry.route_geometry(route, source=source).as_dict()
    data["source"] = geometry.source_dict(source)
    return data


@dispatcher_required
def plan_detail_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = get_object_or_404(Plan.objects.select_related("depot"), pk=plan_id)
    return render(request, "routing/plan_detail.html", _plan_context(plan))


@dispatcher_required
def plan_status_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    """The status line, polled while the plan is being solved; when the solve ends the
    page reloads to show the routes."""
    plan = get_object_or_404(Plan, pk=plan_id)
    response = render(request, "routing/_plan_status.html", {"plan": plan})
    if not plan.is_busy and request.GET.get("was") == "busy":
        response["HX-Refresh"] = "true"
    return response


def _int(value: str | None, name: str, *, required: bool = False) -> int | None:
    """A form field as a whole number; a field error when it is not one (or is missing
    and `required`)."""
    if value in (None, ""):
        if required:
            raise ValidationError({name: _("This field is required.")})
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: _("Not a whole number.")}) from None


@dispatcher_required
@require_POST
def plan_action_view(request: HttpRequest, plan_id: int, action: str) -> HttpResponse:
    """Every edit of the plan page and the board: a POST that calls one service and
    returns to the page it came from (`next=board`: the board). With `revision` (what the
    page showed), an edit of a plan changed since is refused."""
    plan = get_object_or_404(Plan, pk=plan_id)
    data, actor = request.POST, _actor(request)
    back = (
        redirect("dashboard:board", plan_id=plan.pk)
        if data.get("next") == "board"
        else redirect("dashboard:plan-detail", plan_id=plan.pk)
    )
    try:
        revision = _int(data.get("revision"), "revision")
        if action == "move":
            route = data.get("route")
            edits.stop_move(
                plan=plan,
                order_id=_int(data.get("order"), "order"),
                route_id=None if route == "pool" else _int(route, "route"),
                position=_int(data.get("position"), "position"),
                actor=actor,
                revision=revision,
            )
            done = _("Stop moved.")
        elif action == "lock-stop":
            locked = data.get("locked") == "1"
            edits.stop_lock(
                plan=plan,
                order_id=_int(data.get("order"), "order"),
                locked=locked,
                revision=revision,
                actor=actor,
            )
            done = _("Stop locked to its route.") if locked else _("Stop unlocked.")
        elif action == "lock-route":
            locked = data.get("locked") == "1"
            edits.route_lock(
                plan=plan,
                route_id=_int(data.get("route"), "route"),
                locked=locked,
                revision=revision,
                actor=actor,
            )
            done = _("Route locked.") if locked else _("Route unlocked.")
        elif action == "add-route":
            edits.route_add(
                plan=plan,
                driver_id=_int(data.get("driver"), "driver"),
                vehicle_id=_int(data.get("vehicle"), "vehicle"),
                actor=actor,
                revision=revision,
            )
            done = _("Vehicle added to the plan.")
        elif action == "remove-route":
            edits.route_remove(
                plan=plan, route_id=_int(data.get("route"), "route"), actor=actor, revision=revision
            )
            done = _("Vehicle removed; its stops are in the pool.")
        elif action == "resolve":
            plans.plan_resolve(
                plan=plan, allow_reassign=data.get("allow_reassign") != "0", revision=revision
            )
            done = _("Re-solving; locked stops and routes stay.")
        elif action == "publish":
            publish.plan_publish(plan=plan, actor=actor, revision=revision)
            done = _("Published: drivers have their routes.")
        elif action == "urgent":
            order = get_object_or_404(Order, pk=_int(data.get("order"), "order"))
            route = live.order_insert_urgent(plan=plan, order=order, actor=actor)
            done = (
                _("Order #%(order)s added to %(driver)s's route.")
                % {"order": order.pk, "driver": route.driver.name}
                if route
                else _(
                    "Order #%(order)s fits on no route without breaking a rule: it waits "
                    "in the pool."
                )
                % {"order": order.pk}
            )
        else:
            return HttpResponse(status=404)
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        messages.success(request, done)
    return back


@dispatcher_required
def route_sheet_view(request: HttpRequest, plan_id: int, route_id: int) -> HttpResponse:
    """A driver's printable sheet: stops in order with times, windows, items and notes."""
    route = get_object_or_404(
        PlanRoute.objects.select_related("plan", "driver", "vehicle__start_depot"),
        plan_id=plan_id,
        pk=route_id,
    )
    stops = route.stops.select_related("order").order_by("sequence")
    return render(request, "routing/route_sheet.html", {"route": route, "stops": stops})


SHEET_COLUMNS = [
    "route",
    "driver",
    "vehicle",
    "sequence",
    "order",
    "external_id",
    "customer",
    "phone",
    "address",
    "postcode",
    "arrives",
    "starts",
    "departs",
    "windows",
    "items",
    "weight_kg",
    "notes",
]


@dispatcher_required
def plan_csv_view(request: HttpRequest, plan_id: int) -> HttpResponse:
    """Every route's stops as CSV (one route with ?route=<id>)."""
    plan = get_object_or_404(Plan, pk=plan_id)
    routes = plan.routes.select_related("driver", "vehicle").order_by("pk")
    if request.GET.get("route"):
        routes = routes.filter(pk=_safe_int(request.GET["route"]))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="plan-{plan.pk}-{plan.date}.csv"'
    writer = csv.writer(response)

    def write(values: list) -> None:  # text a spreadsheet would run as a formula: defused
        writer.writerow([defuse(value) for value in values])

    write(SHEET_COLUMNS)
    for route in routes:
        for stop in route.stops.select_related("order").order_by("sequence"):
            order = stop.order
            times = [
                localtime(t).strftime("%H:%M")
                for t in (stop.arrives_at, stop.starts_at, stop.departs_at)
            ]
            if order is None:
                write(
                    [
                        route.pk,
                        route.driver.name,
                        route.vehicle.name,
                        stop.sequence,
                        "",
                        "",
                        "Break",
                        "",
                        "",
                        "",
                        *times,
                        "",
                        "",
                        "",
                        "",
                    ]
                )
                continue
            windows = " ".join(f"{w['start']}-{w['end']}" for w in order.time_windows)
            write(
                [
                    route.pk,
                    route.driver.name,
                    route.vehicle.name,
                    stop.sequence,
                    order.pk,
                    order.external_id,
                    order.customer_name,
                    order.customer_phone,
                    ", ".join(
                        p for p in (order.address_line1, order.address_line2, order.city) if p
                    ),
                    order.postcode,
                    *times,
                    windows,
                    order.items,
                    order.weight_kg if order.weight_kg is not None else "",
                    order.notes,
                ]
            )
    return response


def _safe_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1
