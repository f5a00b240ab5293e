"""Plans: a day's orders optimised in the background and stored, and re-solved around
what is locked or already behind the drivers.

`plan_create` and `plan_resolve` queue the job `routing.tasks.plan_solve` once the
transaction commits; the worker runs it in the tenant's schema, and it calls `plan_solve`
here.
"""

from __future__ import annotations

import datetime as dt
import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from core import metrics
from dispatch.models import Driver, Order, OrderStatus, PickupDelivery, Vehicle
from routing import models, tasks
from routing.optimiser import balance
from routing.selectors import orders_off_the_day, pool_orders_to_place
from tenants.selectors import travel_source
from tenants.tasks import enqueue_after_commit

from . import baseline, recovery
from .conversion import Crew, crews_for, problem_for_day
from .corrections import corrections
from .matrix import travel_matrix
from .publish import order_dispatch, order_release
from .routes import (
    _event_times,
    learned_notes,
    midnight_of,
    plan_touched,
    revision_check,
    route_retime,
    split_reached,
)

PLAN_SECONDS_RANGE = (1.0, 600.0)
#: How far above the mean a balanced route may be, per cent.
BALANCE_TOLERANCE_RANGE = (0, 100)


def _queue_solve(plan: models.Plan, *, name: str, **options) -> None:
    enqueue_after_commit(tasks.plan_solve, plan.pk, task_name=name, **options)


def plan_create(
    *,
    date: dt.date,
    depot=None,
    seconds: float = 10.0,
    created_by=None,
    objective: str = models.Objective.SHORTEST,
    use_all_drivers: bool = False,
    balance_tolerance_pct: int = 15,
    auto: bool = False,
) -> models.Plan:
    """Queue the optimisation of `date`'s open orders (optionally one depot's vans),
    shortest or balanced (`objective`, within `balance_tolerance_pct`, every driver used
    when `use_all_drivers`); the worker runs `plan_solve` in this tenant's schema. `auto`:
    made by the nightly planning job, which publishes it once solved."""
    low, high = PLAN_SECONDS_RANGE
    if not low <= seconds <= high:
        raise ValidationError({"seconds": _seconds_text(low, high)})
    balance_check(objective=objective, tolerance_pct=balance_tolerance_pct)
    plan = models.Plan.objects.create(
        date=date,
        depot=depot,
        seconds=seconds,
        created_by=created_by,
        queued_at=timezone.now(),
        objective=objective,
        use_all_drivers=bool(use_all_drivers),
        balance_tolerance_pct=balance_tolerance_pct,
        auto=auto,
    )
    _queue_solve(plan, name=f"plan-{plan.pk}")
    return plan


def _seconds_text(low: float, high: float) -> str:
    return gettext("Between %(low)s and %(high)s seconds.") % {
        "low": f"{low:g}",
        "high": f"{high:g}",
    }


def balance_check(*, objective: str, tolerance_pct: int) -> None:
    """A plan's balance options as the optimiser takes them, or field errors."""
    errors = {}
    if objective not in models.Objective.values:
        errors["objective"] = gettext("One of: %(choices)s.") % {
            "choices": ", ".join(models.Objective.values)
        }
    low, high = BALANCE_TOLERANCE_RANGE
    if isinstance(tolerance_pct, bool) or not isinstance(tolerance_pct, int):
        errors["balance_tolerance_pct"] = gettext("A whole number of per cent.")
    elif not low <= tolerance_pct <= high:
        errors["balance_tolerance_pct"] = gettext("Between %(low)s and %(high)s per cent.") % {
            "low": low,
            "high": high,
        }
    if errors:
        raise ValidationError(errors)


def balance_of(plan: models.Plan) -> balance.Balance:
    """What the optimiser is asked for by `plan`: a re-solve keeps the plan's balance."""
    return balance.Balance(
        objective=balance.Objective(plan.objective),
        tolerance_pct=plan.balance_tolerance_pct,
        use_all_vehicles=plan.use_all_drivers,
    )


@transaction.atomic
def plan_resolve(
    *,
    plan: models.Plan,
    allow_reassign: bool = True,
    seconds: float | None = None,
    revision: int | None = None,
) -> models.Plan:
    """Queue a new solve of a solved plan: locked routes stay as they are, locked stops
    stay on their route, and on a published plan the stops drivers already reached stay
    behind them. `allow_reassign` False keeps every stop promised to a driver (published)
    on that driver's route; only the order changes."""
    plan = models.Plan.objects.select_for_update().get(pk=plan.pk)
    revision_check(plan, revision)
    if plan.is_busy:
        raise ValidationError({"plan": gettext("The plan is being solved; wait for it to finish.")})
    if plan.solved_at is None:
        raise ValidationError({"plan": gettext("The plan has not been solved yet.")})
    if seconds is not None:
        low, high = PLAN_SECONDS_RANGE
        if not low <= seconds <= high:
            raise ValidationError({"seconds": _seconds_text(low, high)})
        plan.seconds = seconds
    plan.status, plan.error, plan.queued_at = models.Plan.Status.QUEUED, "", timezone.now()
    plan.save(update_fields=["status", "error", "seconds", "queued_at"])
    plan_touched(plan)
    stamp = int(timezone.now().timestamp() * 1000)
    _queue_solve(plan, name=f"plan-{plan.pk}-again-{stamp}", allow_reassign=allow_reassign)
    return plan


def plan_solve(plan_id: int, allow_reassign: bool = True) -> str:
    """Solve a queued plan and store its routes; a plan already taken is left alone (a
    task delivered twice solves once). A plan solved before is re-solved around what is
    locked or already behind the drivers (`plan_resolve`). Returns the final status."""
    with recovery.solving(plan_id) as mine:  # the sweep's sign that a live worker has it
        if not mine:  # a duplicate job while another worker solves it
            return models.Plan.objects.values_list("status", flat=True).get(pk=plan_id)
        return _solve(plan_id, allow_reassign=allow_reassign)


def _solve(plan_id: int, allow_reassign: bool) -> str:
    with transaction.atomic():
        plan = models.Plan.objects.select_for_update().get(pk=plan_id)
        if plan.status != models.Plan.Status.QUEUED:
            return plan.status
        plan.status = models.Plan.Status.SOLVING
        plan.started_at = timezone.now()
        source = travel_source()
        plan.travel_kind, plan.travel_label = source.kind, source.label
        plan.travel_note = source.reason[:200]
        plan.save(
            update_fields=["status", "started_at", "travel_kind", "travel_label", "travel_note"]
        )
        plan_touched(plan, actor="system:optimiser")
    try:
        first = plan.solved_at is None
        began = time.perf_counter()
        if first:
            day = _first_problem(plan)
        else:
            day, kept = _resolve_problem(plan, allow_reassign=allow_reassign)
        matrix_s = time.perf_counter() - began
        answer = balance.solve(day.problem, balance=balance_of(plan), seconds=plan.seconds)
        solution = answer.solution
        solve_s = time.perf_counter() - began - matrix_s
        if first:
            _plan_store(plan, day, solution)
        else:
            _plan_restore(plan, day, solution, kept)
        save_s = time.perf_counter() - began - matrix_s - solve_s
        models.Plan.objects.filter(pk=plan.pk).update(
            matrix_s=matrix_s,
            solve_s=solve_s,
            save_s=save_s,
            **_shortest_fields(plan, answer),
        )
        for phase, seconds in (("matrix", matrix_s), ("solve", solve_s), ("store", save_s)):
            metrics.OPTIMISER_SECONDS.labels(phase).observe(seconds)
    except Exception as exc:
        with transaction.atomic():
            models.Plan.objects.filter(pk=plan.pk).update(
                status=models.Plan.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            plan_touched(plan, actor="system:optimiser")
        raise
    return models.Plan.Status.DONE


def _shortest_fields(plan: models.Plan, answer: balance.Balanced) -> dict:
    """The shortest plan's totals and what balancing gave, for the plan row (a plain
    shortest plan has nothing to compare with: None). A re-solve searched only the
    unlocked routes' stops still ahead: what balance costs there is added to the routes'
    totals as stored, so the comparison stays one of whole plans."""
    if balance_of(plan).plain:
        return {"shortest_distance_m": None, "shortest_duration_s": None, "balance_note": ""}
    stored = plan.routes.aggregate(m=Sum("distance_m"), s=Sum("duration_s"))
    extra_m = answer.solution.distance_m - answer.shortest.distance_m
    extra_s = answer.solution.duration_s - answer.shortest.duration_s
    if extra_m < 0:  # the balanced search found a shorter plan than the first one: it is
        extra_m = extra_s = 0  # the shortest known, and balance cost nothing (not "-x km")
    return {
        "shortest_distance_m": max((stored["m"] or 0) - extra_m, 0),
        "shortest_duration_s": max((stored["s"] or 0) - extra_s, 0),
        "balance_note": answer.note[:300],
    }


def _taught(plan: models.Plan) -> dict:
    """What the drivers taught, as `problem_for_day` takes it for `plan`'s day."""
    taught = corrections()
    return {"rush": taught.rush_for(plan.date), "corrections": taught}


def _first_problem(plan: models.Plan):
    orders = list(
        Order.objects.filter(delivery_date=plan.date, status=OrderStatus.UNASSIGNED).order_by("pk")
    )
    vehicles = Vehicle.objects.select_related("start_depot", "end_depot")
    if plan.depot_id:
        vehicles = vehicles.filter(start_depot_id=plan.depot_id)
    crews = crews_for(Driver.objects.filter(is_active=True).order_by("name", "pk"), vehicles)
    return problem_for_day(orders=orders, crews=crews, matrix_of=travel_matrix, **_taught(plan))


def _resolve_problem(plan: models.Plan, *, allow_reassign: bool):
    """The problem of a re-solve, and per route the stops it keeps in front (reached)."""
    now = timezone.now()
    midnight = midnight_of(plan)
    now_s = int((now - midnight).total_seconds())
    crews, pins, orders, kept = [], {}, [], {}
    collected: dict[int, str] = {}  # a pickup behind a route → the route's pin
    routes = plan.routes.select_related("driver", "vehicle__start_depot", "vehicle__end_depot")
    for route in routes.filter(locked=False):
        stops = list(route.stops.select_related("order").order_by("sequence"))
        pin = f"route:{route.pk}"
        crew = Crew(route.driver, route.vehicle, pin=pin)
        keep: list = []
        if plan.is_published:  # the rest of the day: from now, and from where the van is
            events = _event_times([s.order_id for s in stops if s.order_id])
            keep, crew = rest_of_route(
                route, stops, events, now_s=now_s, midnight=midnight, pin=pin
            )
        kept[route.pk] = keep
        collected.update({s.order_id: pin for s in keep if s.order and s.order.kind == "pickup"})
        crews.append((route, crew))
        for stop in stops:
            if stop.order is None or stop in keep:
                continue
            orders.append(stop.order)
            if stop.locked or (plan.is_published and not allow_reassign):
                pins[stop.order_id] = pin
    # a parcel already collected is delivered by the route that has it on board
    linked = PickupDelivery.objects.filter(pickup_id__in=collected)
    for delivery_id, pickup_id in linked.values_list("delivery_id", "pickup_id"):
        pins[delivery_id] = collected[pickup_id]
    # only the plan's day: a stop whose order was rebooked for another day (or ended)
    # leaves its route, and the pool gives only the day's open orders
    left = orders_off_the_day(plan, [o.pk for o in orders])
    orders = [o for o in orders if o.pk not in left] + pool_orders_to_place(plan)
    day = problem_for_day(
        orders=orders,
        crews=[c for _, c in crews],
        matrix_of=travel_matrix,
        pins=pins,
        **_taught(plan),
    )
    day.routes = [r for r, _ in crews]
    day.left = left
    return day, kept


def rest_of_route(
    route: models.PlanRoute,
    stops: list,
    events: dict,
    *,
    now_s: int,
    midnight: dt.datetime,
    pin: str | None = None,
) -> tuple[list, Crew]:
    """The rest of a published route's day, as a re-solve and auto-dispatch see it: the
    stops the driver reached or is heading to stay (returned in their order), and the
    crew resumes from the last of them (or its depot) no earlier than `now_s`, its break
    behind it if taken. `stops` in driving order, `events` their orders' road events
    (`routes._event_times`), `now_s` seconds from the day's `midnight`."""
    behind, ahead, last, _ = split_reached(stops, events)
    going = [s for s in ahead if s.order and s.order.status == OrderStatus.EN_ROUTE]
    keep = [s for s in stops if s in behind or s in going]
    resume = going[-1] if going else last
    ready_s, start_at = now_s, None
    if resume is not None:
        start_at = (resume.order.lat, resume.order.lng)
        ready_s = max(now_s, int((resume.departs_at - midnight).total_seconds()))
    crew = Crew(
        route.driver,
        route.vehicle,
        start_at=start_at,
        ready_s=ready_s,
        break_done=any(s.is_break for s in keep),
        pin=pin,
    )
    return keep, crew


def _gone_while_solving(plan: models.Plan, orders: list) -> dict[int, str]:
    """The orders cancelled, failed or rebooked for another day since the solve read them:
    pk → the pool's reason (the status, or "rescheduled")."""
    return orders_off_the_day(plan, [o.pk for o in orders])


def plan_store_solution(plan: models.Plan, day, solution) -> None:
    """Store `solution` of `day` (a `DayProblem`) as the routes, idle crews and pool of a
    plan solved for the first time (multi-day planning stores each of its days so)."""
    _plan_store(plan, day, solution)


#: The visits of a solution that are stops of orders: a job, or one end of a shipment.
ORDER_VISITS = frozenset({"job", "pickup", "delivery"})


def _visit_order(day, orders: dict, visit):
    """The order `visit` serves, of `orders` (str pk → order), or None. A shipment's id is
    its delivery's pk; its pickup visit is the pickup order's stop."""
    if visit.kind == "pickup":
        pickup = day.pickups.get(visit.id)
        return orders.get(str(pickup.pk)) if pickup is not None else None
    return orders.get(visit.id) if visit.kind in ORDER_VISITS else None


def _left_out(day, orders: dict, unassigned) -> list:
    """The orders of an unassigned job or shipment (both ends of a pair)."""
    pickup = day.pickups.get(unassigned.id)
    ends = [orders.get(unassigned.id), orders.get(str(pickup.pk)) if pickup else None]
    return [o for o in ends if o is not None]


@transaction.atomic
def _plan_store(plan: models.Plan, day, solution) -> None:
    midnight = midnight_of(plan)
    at = lambda seconds: midnight + dt.timedelta(seconds=seconds)  # noqa: E731
    orders = {str(o.pk): o for o in day.orders}
    crews = {v.id: crew for v, crew in zip(day.problem.vehicles, day.crews, strict=True)}
    sequences = balance.plans_of(day.problem, solution) if day.corrections else []
    for n, route in enumerate(solution.routes):
        crew = crews[route.vehicle_id]
        # what the drivers taught did to each visit (index in route.visits) and the end
        learned, route_shift = {}, 0
        if day.corrections:
            notes, route_shift = learned_notes(day, sequences[n], route, midnight=midnight)
            learned = dict(enumerate(notes, start=1))
        stored = models.PlanRoute.objects.create(
            plan=plan,
            driver=crew.driver,
            vehicle=crew.vehicle,
            starts_at=at(route.visits[0].departure_s),
            ends_at=at(route.visits[-1].arrival_s),
            distance_m=route.distance_m,
            duration_s=route.duration_s,
            waiting_s=route.waiting_s,
            learned_shift_s=route_shift,
        )
        stops = [
            (k, v)
            for k, v in enumerate(route.visits)
            if v.kind == "break" or _visit_order(day, orders, v) is not None
        ]
        models.PlanStop.objects.bulk_create(
            models.PlanStop(
                route=stored,
                sequence=k,
                order=_visit_order(day, orders, v),
                is_break=v.kind == "break",
                arrives_at=at(v.arrival_s),
                starts_at=at(v.start_s),
                departs_at=at(v.departure_s),
                waiting_s=v.waiting_s,
                load=list(v.load),
                learned_shift_s=learned.get(i, (0, {}))[0],
                learned=learned.get(i, (0, {}))[1],
            )
            for k, (i, v) in enumerate(stops, start=1)
        )
        baseline.arrival_order_store(stored)  # what the optimised order saves (reports)
    used = {r.vehicle_id for r in solution.routes}
    for vehicle, crew in zip(day.problem.vehicles, day.crews, strict=True):
        if vehicle.id not in used:  # idle today: listed, so stops can be moved to it
            models.PlanRoute.objects.create(
                plan=plan,
                driver=crew.driver,
                vehicle=crew.vehicle,
                starts_at=at(vehicle.shift.start_s),
                ends_at=at(vehicle.shift.start_s),
                distance_m=0,
                duration_s=0,
            )
    left_out = [
        (order, u.reason.value) for u in solution.unassigned for order in _left_out(day, orders, u)
    ]
    left_out += [(order, "not_geocoded") for order in day.not_geocoded]
    left_out += [(order, "pickup_open") for order in day.waiting]
    models.PlanUnassigned.objects.bulk_create(
        models.PlanUnassigned(plan=plan, order=order, reason=reason) for order, reason in left_out
    )
    plan.status = models.Plan.Status.DONE
    plan.engine = solution.engine
    plan.distance_m, plan.duration_s = solution.distance_m, solution.duration_s
    plan.solved_at = timezone.now()
    plan.save()
    plan_touched(plan, actor="system:optimiser")
    gone = _gone_while_solving(plan, day.orders)
    if gone:  # cancelled or rebooked during the search: to the pool, and the routes re-timed
        touched = set()
        for stop in models.PlanStop.objects.filter(route__plan=plan, order_id__in=gone):
            touched.add(stop.route_id)
            stop.delete()
        models.PlanUnassigned.objects.filter(plan=plan, order_id__in=gone).delete()
        models.PlanUnassigned.objects.bulk_create(
            models.PlanUnassigned(plan=plan, order_id=pk, reason=status)
            for pk, status in gone.items()
        )
        for route in models.PlanRoute.objects.filter(pk__in=touched):
            route_retime(route)


@transaction.atomic
def _plan_restore(plan: models.Plan, day, solution, kept: dict) -> None:
    """Store a re-solve: each unlocked route becomes its kept stops followed by the
    solver's sequence; orders that left or joined a published route change status."""
    gone = {**day.left, **_gone_while_solving(plan, day.orders)}
    orders = {str(o.pk): o for o in day.orders if o.pk not in gone}
    by_vehicle = {r.vehicle_id: r for r in solution.routes}
    published = plan.is_published
    for route, vehicle in zip(day.routes, day.problem.vehicles, strict=True):
        before = set(route.stops.filter(order__isnull=False).values_list("order_id", flat=True))
        keep = kept[route.pk]
        route.stops.exclude(pk__in=[s.pk for s in keep]).delete()
        solved = by_vehicle.get(vehicle.id)
        visits = [
            v
            for v in (solved.visits if solved else [])
            if v.kind == "break" or _visit_order(day, orders, v) is not None
        ]
        after_kept = max((s.sequence for s in keep), default=0)
        route.stops.bulk_create(
            models.PlanStop(
                route=route,
                sequence=after_kept + k,
                order=_visit_order(day, orders, v),
                is_break=v.kind == "break",
                arrives_at=route.starts_at,
                starts_at=route.starts_at,
                departs_at=route.starts_at,
            )
            for k, v in enumerate(visits, start=1)
        )
        after = {_visit_order(day, orders, v).pk for v in visits if v.kind != "break"} | {
            s.order_id for s in keep if s.order_id
        }
        if published:
            for order in (orders[str(pk)] for pk in after - before):
                order_dispatch(order, actor="system:re-optimise")
        route_retime(route, reason="Re-optimised", actor="system:re-optimise")
    placed = {
        order.pk
        for r in solution.routes
        for v in r.visits
        if (order := _visit_order(day, orders, v)) is not None
    }
    models.PlanUnassigned.objects.filter(plan=plan, order_id__in=placed).delete()
    for pk, status in gone.items():
        models.PlanUnassigned.objects.update_or_create(
            plan=plan, order_id=pk, defaults={"reason": status}
        )
    for u in solution.unassigned:
        for order in _left_out(day, orders, u):
            models.PlanUnassigned.objects.update_or_create(
                plan=plan, order=order, defaults={"reason": u.reason.value}
            )
            if published:
                order_release(order, actor="system:re-optimise")
    for order in day.not_geocoded:
        models.PlanUnassigned.objects.update_or_create(
            plan=plan, order=order, defaults={"reason": "not_geocoded"}
        )
    for order in day.waiting:  # its pickup is not planned with it: off its route
        models.PlanUnassigned.objects.update_or_create(
            plan=plan, order=order, defaults={"reason": "pickup_open"}
        )
        if published:
            order_release(order, actor="system:re-optimise")
    plan.status = models.Plan.Status.DONE
    plan.engine = solution.engine
    plan.solved_at = timezone.now()
    plan.save(update_fields=["status", "engine", "solved_at"])
    plan_touched(plan, actor="system:re-optimise")
