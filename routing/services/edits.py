"""The dispatcher's edits of a solved plan: move or reorder stops, send a stop back to
the pool, lock stops and routes, add or remove a vehicle.

Every edit re-times the routes it touches and stores the rules they now break
(`route_retime`): a move that makes a stop late is flagged, not refused. On a published
plan the orders follow (dispatched when they join a route, unassigned when they leave)
and every changed route gets a new version for its driver. Stops the driver already
reached cannot move.

The two ends of a pickup-and-delivery pair stay on one route, the pickup first: sending
one end to the pool sends both; moving one end to a route its partner is not on brings
the partner along, next to it; a move that would put a delivery before its pickup on
one route is refused. A delivery whose parcel was already collected stays on the route
that has it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils.translation import gettext

from dispatch.models import Driver, Order, OrderStatus, Vehicle
from dispatch.services.pairs import partner_of
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned

from .publish import order_dispatch, order_release
from .routes import (  # noqa: F401 - STALE and STALE_TEXT: the refusal's code and text, here too
    REACHED,
    STALE,
    STALE_TEXT,
    midnight_of,
    plan_totals,
    plan_touched,
    revision_check,
    route_retime,
)

#: Order statuses that pin a stop where it is on a published route.
PINNED = REACHED | {OrderStatus.EN_ROUTE}


def _editable(plan: Plan, revision: int | None = None) -> Plan:
    """The plan locked for this transaction; refused while it is being solved, and when
    `revision` (what the editor saw) is no longer the plan's: someone changed it since."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    revision_check(plan, revision)
    if plan.is_busy:
        raise ValidationError({"plan": gettext("The plan is being solved; wait for it to finish.")})
    if plan.status == Plan.Status.FAILED and plan.solved_at is None:
        raise ValidationError(
            {"plan": gettext("The plan failed to solve; there is nothing to edit.")}
        )
    return plan


#: What re-timing a route reads of it: its plan, driver and vehicle with its depots.
_CREW = ("plan", "driver", "vehicle__start_depot", "vehicle__end_depot")


def _route(plan: Plan, route_id: int) -> PlanRoute:
    route = PlanRoute.objects.filter(plan=plan, pk=route_id).select_related(*_CREW).first()
    if route is None:
        raise ValidationError(
            {"route": gettext("Route %(route)s is not in this plan.") % {"route": route_id}}
        )
    return route


def _reached(route: PlanRoute) -> int:
    """The position just after the furthest stop the driver reached or is heading to, on
    a published plan: nothing may be put before it."""
    if not route.plan.is_published:
        return 0
    last = route.stops.filter(order__status__in=PINNED).aggregate(last=Max("sequence"))["last"]
    return route.stops.filter(sequence__lte=last).count() if last is not None else 0


@transaction.atomic
def stop_move(
    *,
    plan: Plan,
    order_id: int,
    route_id: int | None,
    position: int | None = None,
    actor: str = "",
    revision: int | None = None,
) -> PlanRoute | None:
    """Put order `order_id` (on a route of the plan or in its pool) at `position`
    (1-based; None: last) of route `route_id`, or back in the pool when `route_id` is
    None. Returns the route it joined. With `revision`, refused (code "stale") when the
    plan has changed since."""
    plan = _editable(plan, revision)
    stop = PlanStop.objects.filter(route__plan=plan, order_id=order_id).select_related(
        "order", *(f"route__{name}" for name in _CREW)
    )
    stop = stop.first()
    pooled = PlanUnassigned.objects.filter(plan=plan, order_id=order_id).select_related("order")
    pooled = pooled.first()
    if stop is None and pooled is None:
        raise ValidationError(
            {"order": gettext("Order %(order)s is not in this plan.") % {"order": order_id}}
        )
    order = stop.order if stop else pooled.order
    source = stop.route if stop else None
    if stop is not None and plan.is_published and order.status in PINNED:
        raise ValidationError({"order": gettext("The driver has already reached this stop.")})
    target = _route(plan, route_id) if route_id is not None else None
    if source is not None and source.locked and target != source:
        raise ValidationError(
            {"order": gettext("Its route is locked; unlock it to take stops off.")}
        )
    partner = partner_of(order)
    partner_stop = (
        PlanStop.objects.filter(route__plan=plan, order=partner).first() if partner else None
    )
    if partner_stop is not None:
        _pair_check(order, partner_stop, target=target, position=position, moving=stop)
    if target is None:
        if stop is None:
            return None  # already in the pool
        stop.delete()
        PlanUnassigned.objects.update_or_create(
            plan=plan, order=order, defaults={"reason": "manual"}
        )
        route_retime(source, reason=f"Order #{order.pk} taken off", actor=actor)
        if plan.is_published:
            order_release(order, actor=actor)
        if partner_stop is not None:  # a pair leaves together
            stop_move(plan=plan, order_id=partner.pk, route_id=None, actor=actor)
        return None
    if order.lat is None or order.lng is None:
        raise ValidationError({"order": gettext("The order has no coordinates; geocode it first.")})
    if target.locked:
        raise ValidationError({"route": gettext("The route is locked; unlock it to change it.")})
    # a failed delivery may be tried again the same day once the plan is out
    open_statuses = {OrderStatus.UNASSIGNED} | (
        {OrderStatus.FAILED} if plan.is_published else set()
    )
    if pooled is not None and order.status not in open_statuses:
        raise ValidationError(
            {
                "order": gettext("The order is %(status)s; it cannot be planned.")
                % {"status": order.status}
            }
        )
    count = target.stops.exclude(pk=stop.pk if stop else None).count()
    earliest = _reached(target) + 1
    position = count + 1 if position is None else position
    if not earliest <= position <= count + 1:
        raise ValidationError(
            {
                "position": gettext("Between %(first)s and %(last)s on this route.")
                % {"first": earliest, "last": count + 1}
            }
        )
    if stop is not None:
        stop.delete()
        if source.pk != target.pk:
            route_retime(source, reason=f"Order #{order.pk} moved away", actor=actor)
    else:
        pooled.delete()
    if plan.is_published:  # first: a failed order passes through unassigned on its way
        order_dispatch(order, actor=actor)
    # make room: the unique (route, sequence) check waits for the commit
    stops = list(target.stops.order_by("sequence"))
    if position <= len(stops):
        sequence = stops[position - 1].sequence
    else:
        sequence = stops[-1].sequence + 1 if stops else 1
    target.stops.filter(sequence__gte=sequence).update(sequence=F("sequence") + 1)
    at = target.starts_at
    PlanStop.objects.create(
        route=target,
        order=order,
        sequence=sequence,
        arrives_at=at,
        starts_at=at,
        departs_at=at,
        locked=stop.locked if stop else False,
    )
    target.refresh_from_db()
    route_retime(target, reason=f"Order #{order.pk} moved here", actor=actor)
    if partner is not None and (partner_stop is None or partner_stop.route_id != target.pk):
        joined = PlanStop.objects.get(route=target, order=order)
        here = target.stops.filter(sequence__lt=joined.sequence).count() + 1
        in_pool = PlanUnassigned.objects.filter(plan=plan, order=partner).exists()
        if partner_stop is not None or in_pool:  # the pair joins together: side by side
            pickup_first = partner.kind == Order.Kind.PICKUP
            stop_move(
                plan=plan,
                order_id=partner.pk,
                route_id=target.pk,
                position=here if pickup_first else here + 1,
                actor=actor,
            )
            target.refresh_from_db()
    return target


def _pair_check(
    order: Order,
    partner_stop: PlanStop,
    *,
    target: PlanRoute | None,
    position: int | None,
    moving: PlanStop | None,
) -> None:
    """Refuse a move of one end of a pair that would put the delivery before its pickup
    on one route, or take a collected parcel off the route that has it."""
    partner = partner_stop.order
    collected = partner.kind == Order.Kind.PICKUP and partner.status == OrderStatus.DELIVERED
    if collected and (target is None or target.pk != partner_stop.route_id):
        raise ValidationError(
            {
                "order": gettext(
                    "Its parcel was collected (order #%(order)s) on this route; "
                    "the same driver delivers it."
                )
                % {"order": partner.pk}
            }
        )
    if target is None or target.pk != partner_stop.route_id:
        return  # to the pool or to another route: the partner goes along (stop_move)
    others = list(target.stops.exclude(pk=moving.pk if moving else None).order_by("sequence"))
    at = next(k for k, s in enumerate(others, start=1) if s.pk == partner_stop.pk)
    position = len(others) + 1 if position is None else position
    if order.kind == Order.Kind.PICKUP and position > at:
        raise ValidationError(
            {
                "position": gettext(
                    "A pickup comes before its delivery (order #%(order)s, "
                    "stop %(stop)s): put it at position %(stop)s or earlier."
                )
                % {"order": partner.pk, "stop": at}
            }
        )
    if order.kind != Order.Kind.PICKUP and position <= at:
        raise ValidationError(
            {
                "position": gettext(
                    "A delivery comes after its pickup (order #%(order)s, "
                    "stop %(stop)s): put it at position %(position)s or later."
                )
                % {"order": partner.pk, "stop": at, "position": at + 1}
            }
        )


@transaction.atomic
def stop_lock(
    *, plan: Plan, order_id: int, locked: bool, revision: int | None = None, actor: str = ""
) -> PlanStop:
    """Keep (or stop keeping) a stop on its route when the plan is re-solved."""
    plan = _editable(plan, revision)
    stop = PlanStop.objects.filter(route__plan=plan, order_id=order_id).first()
    if stop is None:
        raise ValidationError(
            {"order": gettext("Order %(order)s is on no route of this plan.") % {"order": order_id}}
        )
    stop.locked = locked
    stop.save(update_fields=["locked"])
    plan_touched(plan, actor=actor)
    return stop


@transaction.atomic
def route_lock(
    *, plan: Plan, route_id: int, locked: bool, revision: int | None = None, actor: str = ""
) -> PlanRoute:
    """Keep (or stop keeping) a whole route as it is when the plan is re-solved."""
    plan = _editable(plan, revision)
    route = _route(plan, route_id)
    route.locked = locked
    route.save(update_fields=["locked"])
    plan_touched(plan, actor=actor)
    return route


@transaction.atomic
def route_add(
    *, plan: Plan, driver_id: int, vehicle_id: int, actor: str = "", revision: int | None = None
) -> PlanRoute:
    """An empty route for a driver and vehicle not yet in the plan; moves or a re-solve
    fill it."""
    plan = _editable(plan, revision)
    errors = {}
    driver = Driver.objects.filter(pk=driver_id, is_active=True).first()
    vehicle = Vehicle.objects.filter(pk=vehicle_id, is_active=True).select_related("start_depot")
    vehicle = vehicle.first()
    if driver is None:
        errors["driver"] = gettext("No active driver with this id.")
    elif plan.routes.filter(driver=driver).exists():
        errors["driver"] = gettext("This driver already has a route in the plan.")
    if vehicle is None:
        errors["vehicle"] = gettext("No active vehicle with this id.")
    elif plan.routes.filter(vehicle=vehicle).exists():
        errors["vehicle"] = gettext("This vehicle already has a route in the plan.")
    if errors:
        raise ValidationError(errors)
    start = dt.datetime.combine(plan.date, driver.shift_start, tzinfo=midnight_of(plan).tzinfo)
    route = PlanRoute.objects.create(
        plan=plan,
        driver=driver,
        vehicle=vehicle,
        starts_at=start,
        ends_at=start,
        distance_m=0,
        duration_s=0,
    )
    route_retime(route, actor=actor)
    return route


@transaction.atomic
def route_remove(
    *, plan: Plan, route_id: int, actor: str = "", revision: int | None = None
) -> None:
    """Take a vehicle out of the plan; its stops go to the pool (reason
    "vehicle_removed"). Refused once its driver has reached a stop."""
    plan = _editable(plan, revision)
    route = _route(plan, route_id)
    if _reached(route):
        raise ValidationError(
            {"route": gettext("The driver is on the way; move the stops instead.")}
        )
    orders = [s.order for s in route.stops.select_related("order") if s.order is not None]
    published = plan.is_published
    route.delete()
    for order in orders:
        PlanUnassigned.objects.update_or_create(
            plan=plan, order=order, defaults={"reason": "vehicle_removed"}
        )
        if published:
            order_release(order, actor=actor, reason="Its vehicle left the plan")
    plan_totals(plan, actor=actor)
