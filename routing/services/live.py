"""The plan as the day happens: urgent orders put into running routes, failed or cancelled
stops back in the pool. (Each order's ETA from the route's live progress is the day's:
`tracking.selectors.order_eta`.)

Re-optimising the rest of the day is `plan_resolve` on a published plan: the stops
drivers reached stay behind them, and `allow_reassign` decides whether stops already
promised to one driver may go to another.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from dispatch.models import Order, OrderStatus
from dispatch.services.pairs import partner_of
from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned

from .edits import _reached, stop_move
from .routes import plan_touched, route_retime, route_timeline


def _cost(route: PlanRoute, timeline) -> float:
    vehicle = route.vehicle
    return (
        timeline.distance_m * float(vehicle.cost_per_km) / 1000
        + timeline.duration_s * float(vehicle.cost_per_hour) / 3600
    )


@transaction.atomic
def order_insert_urgent(*, plan: Plan, order: Order, actor: str = "") -> PlanRoute | None:
    """Put `order` where it costs least on the plan's routes without breaking a rule
    they keep and without touching the stops drivers reached. Returns the route, or None
    when it fits nowhere (it waits in the pool with reason "no_room"). One end of a
    pickup-and-delivery pair is never put in alone: it and its open partner wait in the
    pool ("urgent") for a re-solve or the dispatcher, and None is returned."""
    existing = PlanStop.objects.filter(route__plan=plan, order=order).select_related("route")
    if existing.exists():
        return existing.first().route  # already on a route of this plan: a retried request
    if order.delivery_date != plan.date:
        raise ValidationError(
            {
                "order": gettext("The order is for %(day)s, not %(plan_day)s.")
                % {"day": order.delivery_date, "plan_day": plan.date}
            }
        )
    if order.status != OrderStatus.UNASSIGNED:
        raise ValidationError(
            {
                "order": gettext("The order is %(status)s; only open orders go in.")
                % {"status": order.status}
            }
        )
    if order.lat is None or order.lng is None:
        raise ValidationError({"order": gettext("The order has no coordinates; geocode it first.")})
    partner = partner_of(order)
    if partner is not None or order.kind == Order.Kind.PICKUP:
        _pair_pooled(plan, order, partner, actor)
        return None
    PlanUnassigned.objects.update_or_create(plan=plan, order=order, defaults={"reason": "urgent"})
    now = timezone.now()
    best = None  # (extra cost, route, position)
    routes = plan.routes.filter(locked=False).select_related("vehicle", "driver", "plan")
    for route in routes:
        baseline = route_timeline(route, now=now)
        allowed = {(v["kind"], v["order"]) for v in baseline.violations}
        stops = list(route.stops.order_by("sequence"))
        for position in range(_reached(route) + 1, len(stops) + 2):
            timeline = _trial(route, stops, order, position, now)
            broken = {(v["kind"], v["order"]) for v in timeline.violations} - allowed
            if broken:
                continue
            extra = _cost(route, timeline) - _cost(route, baseline)
            if best is None or extra < best[0]:
                best = (extra, route, position)
    if best is None:
        PlanUnassigned.objects.filter(plan=plan, order=order).update(reason="no_room")
        return None
    _, route, position = best
    return stop_move(
        plan=plan, order_id=order.pk, route_id=route.pk, position=position, actor=actor
    )


def _pair_pooled(plan: Plan, order: Order, partner: Order | None, actor: str) -> None:
    """A pair end (`order`) and its partner wait in `plan`'s pool: the optimiser places a
    pair as one shipment (a re-solve), or the dispatcher moves both ends. A partner already
    on one of the plan's routes, ended, or of another day stays where it is."""
    PlanUnassigned.objects.update_or_create(plan=plan, order=order, defaults={"reason": "urgent"})
    if (
        partner is not None
        and partner.delivery_date == plan.date
        and partner.status == OrderStatus.UNASSIGNED
        and not PlanStop.objects.filter(route__plan=plan, order=partner).exists()
    ):
        PlanUnassigned.objects.get_or_create(
            plan=plan, order=partner, defaults={"reason": "urgent"}
        )
    plan_touched(plan, actor=actor)  # the board shows the pool


def _trial(route: PlanRoute, stops: list[PlanStop], order: Order, position: int, now):
    """The route timed with `order` at `position`, nothing written (a savepoint rolled back)."""
    sid = transaction.savepoint()
    try:
        for stop in stops[position - 1 :]:
            PlanStop.objects.filter(pk=stop.pk).update(sequence=stop.sequence + 1)
        at = route.starts_at
        PlanStop.objects.create(
            route=route,
            order=order,
            sequence=position if position <= len(stops) else len(stops) + 1,
            arrives_at=at,
            starts_at=at,
            departs_at=at,
        )
        return route_timeline(route, now=now)
    finally:
        transaction.savepoint_rollback(sid)


@transaction.atomic
def order_left_routes(
    *, order: Order, reason: str, actor: str = "", published_only: bool = False
) -> list[PlanRoute]:
    """Take a failed, cancelled or unplanned order off every route it is on (of published
    plans only, with `published_only`); it waits in each plan's pool with `reason`, and
    the routes are re-timed (a new version for a published route's driver)."""
    stops = PlanStop.objects.filter(order=order).select_related("route__plan")
    if published_only:
        stops = stops.filter(route__plan__published_at__isnull=False)
    stops = list(stops)
    routes = []
    for stop in stops:
        route = stop.route
        stop.delete()
        PlanUnassigned.objects.update_or_create(
            plan=route.plan, order=order, defaults={"reason": reason}
        )
        route_retime(route, reason=f"Order #{order.pk} {reason}", actor=actor)
        routes.append(route)
    return routes


@transaction.atomic
def order_rescheduled_in_plans(*, order: Order, actor: str = "") -> None:
    """An order moved to another day leaves the plans of every other day (it waits in
    their pools as `rescheduled`); one whose windows changed on the same day has its
    routes re-timed."""
    for stop in PlanStop.objects.filter(order=order).select_related("route__plan"):
        route = stop.route
        if route.plan.date != order.delivery_date:
            stop.delete()
            PlanUnassigned.objects.update_or_create(
                plan=route.plan, order=order, defaults={"reason": "rescheduled"}
            )
            route_retime(route, reason=f"Order #{order.pk} rescheduled", actor=actor)
        else:
            route_retime(route, reason=f"Order #{order.pk} time window changed", actor=actor)
    PlanUnassigned.objects.filter(order=order).exclude(plan__date=order.delivery_date).update(
        reason="rescheduled"
    )
