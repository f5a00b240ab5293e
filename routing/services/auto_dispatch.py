"""Auto-dispatch: an order that arrives for today goes at once onto the published route
where it costs least; and, each day at the tenant's planning hour, tomorrow is planned
and published.

`orders_auto_dispatch` is the job routing queues after an intake batch commits (every
intake path creates orders through `dispatch.services.orders.orders_create`, which sends
`orders_created`), when an order's coordinates arrive, and when an order is rebooked for
today (`routing.receivers`). Each order is placed by `order_auto_dispatch`: the plan is
locked, every unlocked route's stops still ahead of its driver are timed with the
optimiser's rules (`routing.optimiser.insertion.cheapest_insertion`), and the winner is
put in with `stop_move` (the order becomes dispatched, the route gets a new version for
the driver's phone, the board hears the plan's new revision). An order that fits nowhere
waits in the plan's pool with its reason and the dispatcher gets a `DispatchAlert`.
Running it again for an order already placed changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dispatch.models import Order, OrderStatus, PickupDelivery
from routing.models import DispatchAlert, Plan, PlanRoute, PlanStop, PlanUnassigned
from routing.optimiser.insertion import cheapest_insertion, why_not
from routing.optimiser.problem import RoutePlan, Step, StepKind
from routing.selectors import REASON_LABELS
from tenants.selectors import current_tenant

from .conversion import Crew, problem_for_day
from .corrections import corrections
from .edits import PINNED, stop_move
from .matrix import travel_matrix
from .plans import plan_create, rest_of_route
from .publish import plan_publish
from .routes import _event_times, midnight_of, plan_touched

log = logging.getLogger(__name__)

ACTOR = "system:auto-dispatch"
PLANNER = "system:auto-plan"


class Outcome:
    """What `order_auto_dispatch` did with an order (the job returns these per order)."""

    DISABLED = "disabled"  # the tenant does not auto-dispatch
    GONE = "gone"
    NOT_TODAY = "not_today"
    NOT_OPEN = "not_open"  # already planned, dispatched, ended: nothing to do
    WAITING = "waiting_for_coordinates"  # geocoding will bring it back
    PLACED = "placed"
    ALREADY = "already_placed"
    POOLED = "pooled"  # fits nowhere: in the pool, dispatcher alerted
    NO_PLAN = "no_plan"  # no published plan today: it waits to be planned, as without


def tenant_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the tenant's time zone (a job may run in any process's zone)."""
    zone = ZoneInfo(current_tenant().time_zone)
    return (now or timezone.now()).astimezone(zone).date()


def orders_auto_dispatch(order_ids: list[int]) -> dict[int, str]:
    """Place each of `order_ids` in turn (each in its own transaction); {pk: outcome}."""
    if not current_tenant().auto_dispatch:
        return dict.fromkeys(order_ids, Outcome.DISABLED)
    outcomes = {}
    for pk in order_ids:
        try:
            outcomes[pk] = order_auto_dispatch(order_id=pk)
        except ValidationError as exc:  # the plan moved under us (a solve began): pooled
            log.info("auto-dispatch of order %s refused: %s", pk, exc)
            outcomes[pk] = _pool_after_refusal(pk, exc)
    return outcomes


@dataclasses.dataclass
class _RouteAhead:
    """An unlocked route as auto-dispatch sees it: its stops in order, the stops ahead of
    the driver that become steps, and the first position (1-based) a new stop may take."""

    route: PlanRoute
    stops: list[PlanStop]
    crew: Crew
    ahead: list[PlanStop]
    earliest: int
    kept_jobs: int


@transaction.atomic
def order_auto_dispatch(*, order_id: int, now: dt.datetime | None = None) -> str:
    """Put order `order_id` on today's published route where it costs least, keeping every
    rule the routes keep, never before a stop a driver reached or is heading to and never
    on a locked route. Fits nowhere: it waits in the pool with its reason and a
    `DispatchAlert` tells the dispatcher; no published plan today: it waits to be planned
    with the day's other open orders. Returns an `Outcome`."""
    if not current_tenant().auto_dispatch:
        return Outcome.DISABLED
    now = now or timezone.now()
    today = tenant_today(now)
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return Outcome.GONE
    if order.delivery_date != today:
        return Outcome.NOT_TODAY
    if order.status != OrderStatus.UNASSIGNED:
        return Outcome.NOT_OPEN
    # the day's plans first, then the order: the lock order of the dispatcher's edits
    plans = list(
        Plan.objects.select_for_update()
        .filter(date=today, published_at__isnull=False)
        .order_by("pk")
    )
    order = Order.objects.select_for_update().get(pk=order_id)
    if order.delivery_date != today or order.status != OrderStatus.UNASSIGNED:
        return Outcome.NOT_OPEN  # changed while we waited for the plan
    if PlanStop.objects.filter(route__plan__in=plans, order=order).exists():
        return Outcome.ALREADY
    if not plans:  # today is not planned yet: it waits with the day's other open orders
        return Outcome.NO_PLAN  # (an alert for each would be noise; the overview counts them)
    pool_plan = max(plans, key=lambda p: (p.published_at, p.pk))  # the board's plan of today
    if order.lat is None or order.lng is None:
        if order.geocode_status == Order.GeocodeStatus.PENDING:
            return Outcome.WAITING  # placed when its coordinates arrive
        return _pooled(order, pool_plan, today, "not_geocoded")
    if order.kind == Order.Kind.PICKUP or PickupDelivery.objects.filter(delivery=order).exists():
        note = "a pickup-and-delivery pair: a re-solve or the dispatcher places it"
        # one alert a pair, on its delivery: a pickup with a delivery waits quietly
        paired = PickupDelivery.objects.filter(pickup=order).exists()
        return _pooled(order, pool_plan, today, "urgent", note=note, alert=not paired)
    open_plans = [p for p in plans if not p.is_busy]
    if not open_plans:
        return _pooled(order, pool_plan, today, "urgent", note="the plan is being re-optimised")
    best, reason = None, "no_room"
    for plan in open_plans:
        found, why = _best_on(plan, order, now)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
        elif found is None and why and reason == "no_room":
            reason = why
    if best is None:
        return _pooled(order, pool_plan, today, reason)
    _, plan, route, position = best
    if not PlanUnassigned.objects.filter(plan=plan, order=order).exists():
        PlanUnassigned.objects.create(plan=plan, order=order, reason="urgent")
    stop_move(plan=plan, order_id=order.pk, route_id=route.pk, position=position, actor=ACTOR)
    # waiting in the pool of another plan of the day no more
    PlanUnassigned.objects.filter(plan__in=plans, order=order).exclude(plan=plan).delete()
    _alerts_resolved(order)
    return Outcome.PLACED


def _best_on(plan: Plan, order: Order, now: dt.datetime):
    """((cost, duration), plan, route, position) of the cheapest place for `order` on
    `plan`, and None with the reason it fits no route there."""
    midnight = midnight_of(plan)
    now_s = int((now - midnight).total_seconds())
    routes = list(
        plan.routes.filter(locked=False)
        .select_related("plan", "driver", "vehicle__start_depot", "vehicle__end_depot")
        .order_by("pk")
    )
    # every route's stops and their orders' road events in two queries, not four a route
    stops_of: dict[int, list[PlanStop]] = {r.pk: [] for r in routes}
    for stop in (
        PlanStop.objects.filter(route__in=routes)
        .select_related("order")
        .order_by("route_id", "sequence", "pk")
    ):
        stops_of[stop.route_id].append(stop)
    events = _event_times([s.order_id for ss in stops_of.values() for s in ss if s.order_id])
    ahead = [_ahead_of(r, stops_of[r.pk], events, now_s, midnight) for r in routes]
    if not ahead:
        return None, "no_room"
    orders = [s.order for r in ahead for s in r.ahead if s.order is not None] + [order]
    taught = corrections()  # what the drivers taught: the times the routes are kept with
    day = problem_for_day(
        orders=orders,
        crews=[r.crew for r in ahead],
        matrix_of=travel_matrix,
        rush=taught.rush_for(plan.date),
        corrections=taught,
    )
    problem = day.problem
    # a vehicle's stop limit counts the stops already behind it
    problem.vehicles = tuple(
        dataclasses.replace(v, max_stops=max(0, v.max_stops - r.kept_jobs))
        if v.max_stops is not None
        else v
        for v, r in zip(problem.vehicles, ahead, strict=True)
    )
    # each order's step: the jobs first, then both ends of each pickup-and-delivery pair
    step_of = {o.pk: Step(StepKind.JOB, k) for k, o in enumerate(day.orders[: len(problem.jobs)])}
    for k, shipment in enumerate(problem.shipments):
        step_of[int(shipment.id)] = Step(StepKind.DELIVERY, k)
        step_of[day.pickups[shipment.id].pk] = Step(StepKind.PICKUP, k)
    plans, earliest, steps_of = [], {}, {}
    for v, r in enumerate(ahead):
        has_break = bool(problem.vehicles[v].breaks)
        steps, timed = [], []
        for stop in r.ahead:
            if stop.is_break and has_break:
                steps.append(Step(StepKind.BREAK, 0))
                timed.append(stop)
            elif stop.order_id in step_of:
                steps.append(step_of[stop.order_id])
                timed.append(stop)
        plans.append(RoutePlan(v, steps))
        steps_of[v] = timed
        earliest[v] = next(
            (k for k in range(len(timed) + 1) if _position(r, timed, k) >= r.earliest),
            len(timed),
        )
    step = step_of.get(order.pk)
    if step is None or step.kind is not StepKind.JOB:
        return None, "no_room"
    job = step.index
    found = cheapest_insertion(problem, plans, job, earliest=earliest)
    if found is None:
        return None, why_not(problem, job).value
    r = ahead[found.vehicle]
    position = _position(r, steps_of[found.vehicle], found.position)
    return ((found.added_cost, found.added_duration_s), plan, r.route, position), ""


def _position(r: _RouteAhead, timed: list[PlanStop], k: int) -> int:
    """The route's stop position (1-based, as `stop_move` takes it) of a new stop put
    before the `k`-th timed stop (after the last of them when `k` is their number)."""
    if k < len(timed):
        return r.stops.index(timed[k]) + 1
    if timed:
        return r.stops.index(timed[-1]) + 2
    return len(r.stops) + 1


def _ahead_of(
    route: PlanRoute, stops: list[PlanStop], events: dict, now_s: int, midnight: dt.datetime
) -> _RouteAhead:
    """The rest of a published route's day, as a re-solve sees it (`plans._resolve_problem`):
    the stops the driver reached or is heading to stay, the van resumes from the last of
    them (or its depot) no earlier than now. `stops` in their order, `events` their
    orders' road events (`routes._event_times`)."""
    keep, crew = rest_of_route(route, stops, events, now_s=now_s, midnight=midnight)
    return _RouteAhead(
        route=route,
        stops=stops,
        crew=crew,
        ahead=[s for s in stops if s not in keep],
        # as `edits._reached`: nothing before the last stop reached or headed to
        earliest=max(
            (k + 1 for k, s in enumerate(stops) if s.order and s.order.status in PINNED),
            default=0,
        )
        + 1,
        kept_jobs=sum(1 for s in keep if s.order_id),
    )


def _pooled(
    order: Order, plan: Plan, today: dt.date, reason: str, note: str = "", alert: bool = True
) -> str:
    """`order` waits in `plan`'s pool with `reason`; the dispatcher is alerted (once;
    not at all without `alert`)."""
    PlanUnassigned.objects.update_or_create(plan=plan, order=order, defaults={"reason": reason})
    label = REASON_LABELS.get(reason, reason.replace("_", " "))
    if note:
        label = f"{label} ({note})"
    if alert:
        _alert(order, plan, today, f"Not placed on any route: {label.lower()}.")
    plan_touched(plan, actor=ACTOR)  # the board shows the pool and the alert
    return Outcome.POOLED


def _pool_after_refusal(order_id: int, exc: ValidationError) -> str:
    with transaction.atomic():
        order = Order.objects.filter(pk=order_id).first()
        today = tenant_today()
        if order is None or order.delivery_date != today or order.status != OrderStatus.UNASSIGNED:
            return Outcome.NOT_OPEN
        plan = Plan.objects.filter(date=today, published_at__isnull=False)
        plan = plan.order_by("-published_at", "-pk").first()
        if plan is None:
            return Outcome.POOLED
        note = "; ".join(exc.messages)[:120]
        return _pooled(order, plan, today, "urgent", note=note)


def _alert(order: Order, plan: Plan | None, day: dt.date, text: str) -> DispatchAlert:
    """One unseen alert per order: a repeat updates it rather than adding another."""
    who = order.customer_name or order.external_id or ""
    message = f"Order #{order.pk}{f' ({who})' if who else ''}: {text}"[:300]
    alert, _ = DispatchAlert.objects.update_or_create(
        kind=DispatchAlert.Kind.NOT_PLACED,
        order=order,
        seen_at__isnull=True,
        defaults={"date": day, "plan": plan, "message": message},
    )
    return alert


def _alerts_resolved(order: Order) -> None:
    """An order placed after all (a later try): its unseen alerts are settled."""
    DispatchAlert.objects.filter(
        kind=DispatchAlert.Kind.NOT_PLACED, order=order, seen_at__isnull=True
    ).update(seen_at=timezone.now(), seen_by=ACTOR)


# --- alerts ------------------------------------------------------------------------------


@transaction.atomic
def alerts_seen(*, alert_ids: list[int], actor: str) -> int:
    """Mark alerts seen (by `actor`); the boards of their plans hear of it. Marking one
    already seen again changes nothing. Returns how many were newly marked."""
    unseen = DispatchAlert.objects.filter(pk__in=alert_ids, seen_at__isnull=True)
    # their plans first, then the alerts: the lock order of auto-dispatch
    plan_ids = sorted({pk for pk in unseen.values_list("plan_id", flat=True) if pk})
    list(Plan.objects.select_for_update().filter(pk__in=plan_ids).order_by("pk"))
    alerts = list(unseen.select_for_update())
    now = timezone.now()
    for alert in alerts:
        alert.seen_at, alert.seen_by = now, actor[:150]
        alert.save(update_fields=["seen_at", "seen_by"])
    for plan in Plan.objects.filter(pk__in={a.plan_id for a in alerts if a.plan_id}):
        plan_touched(plan, actor=actor)
    return len(alerts)


# --- nightly: plan and publish tomorrow ----------------------------------------------------


class PlanTick:
    OFF = "off"
    NOT_YET = "not_yet"
    QUEUED = "queued"
    SOLVING = "solving"
    PUBLISHED = "published"
    FAILED = "failed"
    DISPATCHER = "dispatcher"  # tomorrow has someone else's unpublished plan: theirs


def auto_plan_tick(now: dt.datetime | None = None) -> str:
    """Run often (every few minutes): from the tenant's planning hour (local time) on,
    tomorrow is planned once, and that plan is published as soon as it is solved. A plan
    that fails, or cannot be published, makes one `auto_plan_failed` alert. Tomorrow
    already published: nothing is done; a plan someone else made for it (a dispatcher, an
    API client, a multi-day plan) and has not published: it is theirs, and one alert says
    so (a failed one is planned over). Before the hour, last evening's plan of today
    (solved after midnight) is still published, or its failure said."""
    tenant = current_tenant()
    if tenant.auto_plan_at is None:
        return PlanTick.OFF
    zone = ZoneInfo(tenant.time_zone)
    local = (now or timezone.now()).astimezone(zone)
    if local.time() < tenant.auto_plan_at:
        return _finish_today(tenant, local.date())
    tomorrow = local.date() + dt.timedelta(days=1)
    with transaction.atomic():
        # one tick at a time per tenant (two workers, or a slow one): the tenant's row
        type(tenant).objects.select_for_update().filter(pk=tenant.pk).exists()
        plans = Plan.objects.filter(date=tomorrow)
        if plans.filter(published_at__isnull=False).exists():
            return PlanTick.PUBLISHED
        # only this job makes `auto` plans: its plan of a day is found by that alone (not
        # by the hour it was made, which a clock change or midnight would move)
        plan = plans.filter(auto=True).order_by("-created_at", "-pk").first()
        if plan is None:
            # a plan made by a dispatcher, an API client or a multi-day plan is theirs to
            # publish, never this job's; one that failed leaves tomorrow unplanned
            theirs = plans.filter(auto=False).exclude(status=Plan.Status.FAILED)
            theirs = theirs.order_by("-created_at", "-pk").first()
            if theirs is not None:
                _left_to_them(theirs, tenant.auto_plan_at)
                return PlanTick.DISPATCHER
            plan_create(date=tomorrow, seconds=settings.AUTO_PLAN_SECONDS, auto=True)
            return PlanTick.QUEUED
        ready = _ready(plan, "Tomorrow's")
        if ready is not None:
            return ready
    return _publish(plan, "Tomorrow's")


def _finish_today(tenant, today: dt.date) -> str:
    """Before the planning hour: the plan this job made last evening for today, solved
    after midnight, is published now (or its failure said once); otherwise not yet."""
    with transaction.atomic():
        type(tenant).objects.select_for_update().filter(pk=tenant.pk).exists()
        plans = Plan.objects.filter(date=today)
        if plans.filter(published_at__isnull=False).exists():
            return PlanTick.NOT_YET
        plan = plans.filter(auto=True).order_by("-created_at", "-pk").first()
        if plan is None:
            return PlanTick.NOT_YET
        if DispatchAlert.objects.filter(plan=plan, kind=DispatchAlert.Kind.AUTO_PLAN_FAILED):
            return PlanTick.NOT_YET  # said already: the dispatcher's now
        ready = _ready(plan, "Today's")
        if ready is not None:
            return ready
    return _publish(plan, "Today's")


def _ready(plan: Plan, which: str) -> str | None:
    """None when this job's `plan` is solved and waits to be published; else the tick's
    answer (still solving, or failed: alerted once). `which`: the alert's name for the
    plan's day ("Tomorrow's")."""
    if plan.is_busy:
        return PlanTick.SOLVING
    if DispatchAlert.objects.filter(plan=plan, kind=DispatchAlert.Kind.AUTO_PLAN_FAILED):
        return PlanTick.FAILED
    if plan.status == Plan.Status.FAILED:
        _plan_alert(plan, f"{which} plan failed: {plan.error or 'the optimiser stopped'}")
        return PlanTick.FAILED
    return None


def _publish(plan: Plan, which: str) -> str:
    try:
        plan_publish(plan=plan, actor=PLANNER)
    except ValidationError as exc:
        with transaction.atomic():
            _plan_alert(plan, f"{which} plan could not be published: " + " ".join(exc.messages))
        return PlanTick.FAILED
    return PlanTick.PUBLISHED


def _left_to_them(plan: Plan, hour: dt.time) -> None:
    """One alert a day: tomorrow waits for a plan someone else made to be published."""
    said = DispatchAlert.objects.filter(
        kind=DispatchAlert.Kind.AUTO_PLAN_FAILED, date=plan.date, plan__auto=False
    )
    if not said.exists():
        _plan_alert(
            plan,
            f"Tomorrow was not planned at {hour:%H:%M}: a plan made by someone else "
            "is waiting to be published.",
        )


def _plan_alert(plan: Plan, text: str) -> None:
    DispatchAlert.objects.get_or_create(
        kind=DispatchAlert.Kind.AUTO_PLAN_FAILED,
        plan=plan,
        defaults={"date": plan.date, "message": text[:300]},
    )
    plan_touched(plan, actor=PLANNER)
