"""Multi-day planning: several days' orders in one search, each order on one of the days
it may be delivered (its delivery date up to its `latest_date`), then one ordinary plan
per day, each published (or re-solved) on its own.

How the week becomes one problem: times are seconds from local midnight of the first day;
each crew becomes one vehicle per day (its shift, break and rush hours moved by whole
days), and each order one job whose time windows are its windows repeated on every day it
may go (an order without windows gets the whole of each such day, never the night
between). A vehicle's shift keeps it inside its day, so the day of the vehicle that serves
an order is the order's day.

`multi_day_create` queues the job `routing.tasks.multi_day_solve` once the transaction
commits; the worker runs it in the tenant's schema, and it calls `multi_day_solve` here.
Days that already have a published plan are left out of the search.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext

from core import metrics
from dispatch.models import Driver, Order, OrderStatus, Vehicle
from dispatch.services.orders import order_note, order_reschedule
from routing import models, tasks
from routing.optimiser import solver
from routing.optimiser.problem import (
    REQUIRED_PENALTY,
    Break,
    Job,
    Problem,
    Route,
    Solution,
    TimeWindow,
    Unassigned,
)
from tenants.selectors import travel_source
from tenants.tasks import enqueue_after_commit

from . import recovery
from .conversion import DayProblem, crews_for, problem_for_day, seconds_of
from .corrections import corrections
from .matrix import travel_matrix
from .plans import PLAN_SECONDS_RANGE, plan_store_solution

DAY_S = 24 * 3600
#: The longest range planned at once (days, the first included).
MAX_DAYS = 7
#: How far ahead the first day may be (days from today): planning is for the weeks to
#: come, and a bound keeps the range's dates (first day + MAX_DAYS) inside the calendar.
MAX_DAYS_AHEAD = 365
ACTOR = "system:multi-day"


def _today() -> dt.date:
    return timezone.localdate()  # the tenant's: requests and jobs run in its time zone


def published_days(*, first_date: dt.date, last_date: dt.date, depot=None) -> set[dt.date]:
    """Days of the range with a published plan that covers `depot` (or any, for all
    depots): multi-day planning leaves them as they are."""
    plans = models.Plan.objects.filter(
        date__gte=first_date, date__lte=last_date, published_at__isnull=False
    )
    if depot is not None:
        plans = plans.filter(Q(depot__isnull=True) | Q(depot=depot))
    return set(plans.values_list("date", flat=True))


def _range_days(first_date: dt.date, last_date: dt.date) -> list[dt.date]:
    return [first_date + dt.timedelta(days=k) for k in range((last_date - first_date).days + 1)]


def multi_day_create(
    *,
    first_date: dt.date,
    days: int,
    seconds: float = 30.0,
    depot=None,
    created_by=None,
) -> models.MultiDayPlan:
    """Queue the planning of `days` days from `first_date` (today at the earliest, a year
    ahead at the latest; at most MAX_DAYS). The same range asked for again while it is
    still queued or solving (a double click) gives the plan already on its way."""
    errors: dict[str, str] = {}
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = gettext("Between 1 and %(most)s days.") % {"most": MAX_DAYS}
    today = _today()
    if first_date < today:
        errors["first_date"] = gettext("The first day is in the past: plan from today on.")
    elif (first_date - today).days > MAX_DAYS_AHEAD:
        errors["first_date"] = gettext("The first day is more than a year ahead.")
    low, high = PLAN_SECONDS_RANGE
    if not low <= seconds <= high:
        errors["seconds"] = gettext("Between %(low)s and %(high)s seconds.") % {
            "low": f"{low:g}",
            "high": f"{high:g}",
        }
    if errors:
        raise ValidationError(errors)
    last_date = first_date + dt.timedelta(days=days - 1)
    closed = published_days(first_date=first_date, last_date=last_date, depot=depot)
    if len(closed) == days:
        raise ValidationError(
            {"first_date": gettext("Every day of this range already has a published plan.")}
        )
    with transaction.atomic():
        with connection.cursor() as cursor:  # two clicks at once: one plan
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"routing.multi_day.create:{connection.schema_name}"],
            )
        busy = models.MultiDayPlan.objects.filter(
            first_date=first_date,
            last_date=last_date,
            depot=depot,
            status__in=[models.MultiDayPlan.Status.QUEUED, models.MultiDayPlan.Status.SOLVING],
        ).first()
        if busy is not None:
            return busy
        multi = models.MultiDayPlan.objects.create(
            first_date=first_date,
            last_date=last_date,
            depot=depot,
            seconds=seconds,
            created_by=created_by,
            queued_at=timezone.now(),
        )
        enqueue_after_commit(tasks.multi_day_solve, multi.pk, task_name=f"multi-day-{multi.pk}")
    return multi


def _lock_name(multi_id: int) -> str:
    return f"routing.multi_day:{connection.schema_name}:{multi_id}"


def _solving(multi_id: int):
    """The multi-day plan's session lock while a worker solves it (`recovery.session_lock`)."""
    return recovery.session_lock(_lock_name(multi_id))


def multi_day_solve(multi_id: int) -> str:
    """Solve a queued multi-day plan and store its day plans; one already taken is left
    alone (a job delivered twice solves once). Returns the final status."""
    with _solving(multi_id) as mine:
        if not mine:  # a duplicate job while another worker solves it
            return models.MultiDayPlan.objects.values_list("status", flat=True).get(pk=multi_id)
        return _solve(multi_id)


def _solve(multi_id: int) -> str:
    with transaction.atomic():
        multi = models.MultiDayPlan.objects.select_for_update().get(pk=multi_id)
        if multi.status != models.MultiDayPlan.Status.QUEUED:
            return multi.status
        multi.status, multi.started_at = models.MultiDayPlan.Status.SOLVING, timezone.now()
        multi.save(update_fields=["status", "started_at"])
    try:
        began = time.perf_counter()
        week = _week_problem(multi)
        matrix_s = time.perf_counter() - began
        if week.problem.jobs:
            solution = solver.solve(week.problem, seconds=multi.seconds)
        else:
            solution = Solution(routes=[], unassigned=[], engine="none")
        solve_s = time.perf_counter() - began - matrix_s
        _store(multi, week, solution, matrix_s=matrix_s, solve_s=solve_s)
        for phase, spent in (("matrix", matrix_s), ("solve", solve_s)):
            metrics.OPTIMISER_SECONDS.labels(phase).observe(spent)
    except Exception as exc:
        models.MultiDayPlan.objects.filter(pk=multi_id).update(
            status=models.MultiDayPlan.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    return models.MultiDayPlan.Status.DONE


@dataclass
class WeekProblem:
    """The range as one problem, and what is needed to cut its solution into days."""

    problem: Problem
    base: DayProblem  # one day's problem (vehicle i is base.crews[i]); times of any day
    days: list[dt.date]  # the days planned (the range without its published days)
    first_date: dt.date
    acceptable: dict[int, list[dt.date]]  # order pk → the days planned it may go on
    rush: dict[dt.date, tuple]  # each day's rush periods, from its own midnight

    def offset(self, day: dt.date) -> int:
        return (day - self.first_date).days * DAY_S


def orders_for_range(days: list[dt.date]) -> list[Order]:
    """Open orders that may go on one of `days`: booked on one of them, or booked earlier
    and acceptable until one of them (`latest_date`). Pickup-and-delivery pairs are left
    to their own day's plan (both ends must move together)."""
    return list(
        Order.objects.annotate(until=Coalesce("latest_date", "delivery_date"))
        .filter(status=OrderStatus.UNASSIGNED, delivery_date__lte=max(days))
        .filter(until__gte=min(days))
        .filter(pair_as_pickup__isnull=True, pair_as_delivery__isnull=True)
        .order_by("pk")
    )


def _acceptable(order: Order, days: list[dt.date]) -> list[dt.date]:
    last = order.latest_date or order.delivery_date
    return [d for d in days if order.delivery_date <= d <= last]


def _week_problem(multi: models.MultiDayPlan) -> WeekProblem:
    closed = published_days(
        first_date=multi.first_date, last_date=multi.last_date, depot=multi.depot
    )
    today = _today()  # a plan queued late last night: today on
    days = [
        d for d in _range_days(multi.first_date, multi.last_date) if d not in closed and d >= today
    ]
    if not days:
        raise ValueError("every day of the range is past or has a published plan now")
    acceptable = {}
    orders = []
    for order in orders_for_range(days):
        options = _acceptable(order, days)
        if options:
            acceptable[order.pk] = options
            orders.append(order)
    vehicles = Vehicle.objects.select_related("start_depot", "end_depot")
    if multi.depot_id:
        vehicles = vehicles.filter(start_depot_id=multi.depot_id)
    crews = crews_for(Driver.objects.filter(is_active=True).order_by("name", "pk"), vehicles)
    taught = corrections()  # what the drivers taught: door and area times, each day's hours
    base = problem_for_day(orders=orders, crews=crews, matrix_of=travel_matrix, corrections=taught)
    rush_by_day = {d: taught.rush_for(d) for d in days}
    week = WeekProblem(base.problem, base, days, multi.first_date, acceptable, rush_by_day)
    vehicles_week = [
        _vehicle_on(vehicle, week.offset(day), day)
        for day in days
        for vehicle in base.problem.vehicles
    ]
    jobs = [
        _job_on(job, order, [week.offset(d) for d in acceptable[order.pk]])
        for job, order in zip(base.problem.jobs, base.orders[: len(base.problem.jobs)], strict=True)
    ]
    rush = [
        replace(r, start_s=r.start_s + week.offset(d), end_s=r.end_s + week.offset(d))
        for d in days
        for r in rush_by_day[d]
    ]
    week.problem = Problem(
        durations_s=base.problem.durations_s,
        distances_m=base.problem.distances_m,
        vehicles=vehicles_week,
        jobs=jobs,
        rush=tuple(rush),
    )
    return week


def _moved(window: TimeWindow, by: int) -> TimeWindow:
    return TimeWindow(window.start_s + by, window.end_s + by)


def _vehicle_on(vehicle, offset: int, day: dt.date):
    """A crew's vehicle on the day `offset` seconds after the first: its id names the day."""
    return replace(
        vehicle,
        id=f"{vehicle.id}@{day.isoformat()}",
        shift=_moved(vehicle.shift, offset),
        breaks=tuple(Break(_moved(b.window, offset), b.duration_s) for b in vehicle.breaks),
    )


def _job_on(job: Job, order: Order, offsets: list[int]) -> Job:
    """`job` with its windows on each of its days (the whole day when it has none)."""
    local = [
        TimeWindow(seconds_of(w["start"]), seconds_of(w["end"])) for w in order.time_windows
    ] or [TimeWindow(0, DAY_S - 1)]
    # As valuable as a required job (left out only when it fits nowhere, reason "no_room"),
    # but stated with its prize: the fleet's capacity summed over the range hides a day
    # that its fixed orders overfill, and a strict search of such a week finds nothing.
    penalty = REQUIRED_PENALTY if job.penalty is None else job.penalty
    windows = tuple(_moved(w, k) for k in offsets for w in local)
    return replace(job, windows=windows, penalty=penalty)


def _day_of(vehicle_id: str) -> tuple[str, dt.date]:
    crew_id, _, day = vehicle_id.rpartition("@")
    return crew_id, dt.date.fromisoformat(day)


def _route_on_its_day(route: Route, offset: int, crew_id: str) -> Route:
    visits = [
        replace(
            v,
            arrival_s=v.arrival_s - offset,
            start_s=v.start_s - offset,
            departure_s=v.departure_s - offset,
        )
        for v in route.visits
    ]
    return replace(route, vehicle_id=crew_id, visits=visits)


def _book(order: Order, day: dt.date, multi: models.MultiDayPlan, *, placed: bool) -> None:
    """Book `order` for `day`, the day the multi-day plan gave it, with a note saying why.
    An order that changed meanwhile (no longer open, or its range moved) is left as it is:
    its day's plan sees it as rescheduled or gone. The row is locked (until `_store`
    commits) before it is read: an order dispatched meanwhile is seen as dispatched, never
    moved after the check."""
    with transaction.atomic():
        current = Order.objects.select_for_update().get(pk=order.pk)
        for field in ("status", "delivery_date", "latest_date"):  # the caller's copy too
            setattr(order, field, getattr(current, field))
        last = current.latest_date or current.delivery_date
        if current.status != OrderStatus.UNASSIGNED or not current.delivery_date <= day <= last:
            return
        why = "planned" if placed else "waiting to be placed"
        reason = (
            f"Multi-day plan #{multi.pk}: {why} on {day:%a %Y-%m-%d} "
            f"(booked for {current.delivery_date:%Y-%m-%d}, may go until {last:%Y-%m-%d})"
        )
        # the customer hears of the day when its plan is published, not from a draft
        order_reschedule(
            order=current, delivery_date=day.isoformat(), actor=ACTOR, notify_customer=False
        )
        order_note(order=current, reason=reason, actor=ACTOR)


@dataclass
class DayCut:
    """One day of a week's solution, timed from that day's midnight: its problem (the
    day's crews, and as jobs the orders placed or left waiting on it) and its solution."""

    day: dt.date
    problem: Problem
    solution: Solution
    orders: list[Order]  # job i of `problem` is orders[i]
    not_geocoded: list[Order]


def week_split(week: WeekProblem, solution: Solution) -> list[DayCut]:
    """`solution` of `week.problem` cut into its days: each route goes to its vehicle's day,
    each order left out to the first day it may go on."""
    routes: dict[dt.date, list[Route]] = {day: [] for day in week.days}
    for route in solution.routes:
        crew_id, day = _day_of(route.vehicle_id)
        routes[day].append(_route_on_its_day(route, week.offset(day), crew_id))
    left: dict[dt.date, list[Unassigned]] = {day: [] for day in week.days}
    for u in solution.unassigned:
        left[week.acceptable[int(u.id)][0]].append(u)
    missing: dict[dt.date, list[Order]] = {day: [] for day in week.days}
    for order in week.base.not_geocoded:
        missing[week.acceptable[order.pk][0]].append(order)
    cuts = []
    for day in week.days:
        ids = {v.id for r in routes[day] for v in r.visits if v.kind == "job"}
        ids |= {u.id for u in left[day]}
        chosen = [
            (job, order)
            for job, order in zip(
                week.base.problem.jobs, week.base.orders[: len(week.base.problem.jobs)], strict=True
            )
            if job.id in ids
        ]
        problem = Problem(
            durations_s=week.base.problem.durations_s,
            distances_m=week.base.problem.distances_m,
            vehicles=week.base.problem.vehicles,
            jobs=[job for job, _ in chosen],
            rush=week.rush[day],
        )
        cuts.append(
            DayCut(
                day,
                problem,
                Solution(routes=routes[day], unassigned=left[day], engine=solution.engine),
                [order for _, order in chosen],
                missing[day],
            )
        )
    return cuts


@transaction.atomic
def _store(multi, week: WeekProblem, solution: Solution, *, matrix_s: float, solve_s: float):
    """One plan per day: each day's routes timed from that day's midnight, its idle crews,
    and in its pool the orders left out whose first possible day it is. Orders are booked
    for their day first, so that the `order_rescheduled` receivers touch only other plans
    and each day's plan holds orders of its own day."""
    multi = models.MultiDayPlan.objects.select_for_update().get(pk=multi.pk)
    if multi.status != models.MultiDayPlan.Status.SOLVING:
        return
    began = time.perf_counter()
    cuts = week_split(week, solution)
    for cut in cuts:
        placed = {v.id for r in cut.solution.routes for v in r.visits if v.kind == "job"}
        for order in [*cut.orders, *cut.not_geocoded]:
            if order.delivery_date != cut.day:
                _book(order, cut.day, multi, placed=str(order.pk) in placed)
    source = travel_source()
    per_day_s = max(PLAN_SECONDS_RANGE[0], round(multi.seconds / len(week.days), 1))
    for cut in cuts:
        plan = models.Plan.objects.create(
            date=cut.day,
            depot=multi.depot,
            status=models.Plan.Status.SOLVING,
            seconds=per_day_s,
            created_by=multi.created_by,
            queued_at=multi.queued_at,
            started_at=multi.started_at,
            multi_day=multi,
            travel_kind=source.kind,
            travel_label=source.label,
            travel_note=source.reason[:200],
            matrix_s=matrix_s,
            solve_s=solve_s,
        )
        day = DayProblem(
            cut.problem,
            cut.orders,
            week.base.crews,
            cut.not_geocoded,
            points=week.base.points,
            corrections=week.base.corrections,
            road=week.base.road,
        )
        plan_store_solution(plan, day, cut.solution)
    multi.status, multi.solved_at = models.MultiDayPlan.Status.DONE, timezone.now()
    multi.save(update_fields=["status", "solved_at"])
    models.Plan.objects.filter(multi_day=multi).update(save_s=time.perf_counter() - began)


def multi_days_recover(now: dt.datetime | None = None) -> int:
    """The scheduled sweep (as `recovery.plans_recover` for plans): multi-day plans queued
    for PLAN_SWEEP_AFTER_S with no job are queued again; those solving past their budget
    and PLAN_SWEEP_AFTER_S with no live worker are marked failed (planning again is one
    click). Returns how many it recovered."""
    now = now or timezone.now()
    after = dt.timedelta(seconds=settings.PLAN_SWEEP_AFTER_S)
    recovered = 0
    with transaction.atomic():
        queued = models.MultiDayPlan.objects.select_for_update(skip_locked=True).filter(
            status=models.MultiDayPlan.Status.QUEUED, queued_at__lt=now - after
        )
        for multi in queued:
            enqueue_after_commit(
                tasks.multi_day_solve,
                multi.pk,
                task_name=f"multi-day-{multi.pk}-requeued-{int(now.timestamp())}",
            )
            multi.queued_at = now
            multi.save(update_fields=["queued_at"])
            recovered += 1
    with transaction.atomic():
        solving = models.MultiDayPlan.objects.select_for_update(skip_locked=True).filter(
            status=models.MultiDayPlan.Status.SOLVING, started_at__lt=now - after
        )
        for multi in solving:
            budget = dt.timedelta(seconds=multi.seconds)
            if multi.started_at + budget + after > now or not _nobody_solving(multi.pk):
                continue
            multi.status, multi.error = models.MultiDayPlan.Status.FAILED, recovery.WORKER_LOST
            multi.save(update_fields=["status", "error"])
            recovered += 1
    return recovered


def _nobody_solving(multi_id: int) -> bool:
    return recovery.lock_free(_lock_name(multi_id))


# --- reading one (the API and the page) -------------------------------------------------


@dataclass
class DaySummary:
    """A day of a multi-day plan as the dispatcher reads it; `plan` None: left out
    (`published` True: it already had a published plan)."""

    date: dt.date
    plan: models.Plan | None
    orders: int = 0
    routes: int = 0
    distance_m: int = 0
    duration_s: int = 0
    left_out: int = 0
    published: bool = False


def multi_day_days(multi: models.MultiDayPlan) -> list[DaySummary]:
    """Each day of the range: its plan with counts (stops, routes driven, left out), or
    why it has none. Read-only."""
    plans = multi.plans.annotate(
        n_orders=Count(
            "routes__stops", filter=Q(routes__stops__order__isnull=False), distinct=True
        ),
        n_routes=Count("routes", filter=Q(routes__stops__isnull=False), distinct=True),
        n_left=Count("unassigned", distinct=True),
    )
    by_day = {p.date: p for p in plans.order_by("pk")}
    closed = set()
    if multi.status == models.MultiDayPlan.Status.DONE and len(by_day) < multi_day_length(multi):
        closed = published_days(
            first_date=multi.first_date, last_date=multi.last_date, depot=multi.depot
        )
    days = []
    for day in _range_days(multi.first_date, multi.last_date):
        plan = by_day.get(day)
        if plan is None:
            days.append(DaySummary(day, None, published=day in closed))
            continue
        days.append(
            DaySummary(
                day,
                plan,
                orders=plan.n_orders,
                routes=plan.n_routes,
                distance_m=plan.distance_m,
                duration_s=plan.duration_s,
                left_out=plan.n_left,
                published=plan.is_published,
            )
        )
    return days


def multi_day_length(multi: models.MultiDayPlan) -> int:
    return (multi.last_date - multi.first_date).days + 1


def multi_day_progress(multi: models.MultiDayPlan) -> int:
    """Per cent of the time budget used while solving."""
    if multi.status == models.MultiDayPlan.Status.DONE:
        return 100
    if multi.status != models.MultiDayPlan.Status.SOLVING or multi.started_at is None:
        return 0
    elapsed = (timezone.now() - multi.started_at).total_seconds()
    return max(0, min(99, round(100 * elapsed / max(multi.seconds, 0.001))))
