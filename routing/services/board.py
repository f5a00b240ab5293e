"""The board's drag and drop: a stop dropped on a route (or back in the pool) is moved
and its routes re-timed at once. A drop that breaks a rule the routes did not break
before is shown first and kept only when the dispatcher confirms it; a drop made on an
older revision of the plan is refused (`edits.STALE`) so that nobody overwrites a change
they have not seen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from routing.models import Plan, PlanRoute, PlanStop

from .edits import stop_move


@dataclass
class RouteChange:
    """One route the drop touched, before and after."""

    id: int
    driver: str
    ends_before: dt.datetime
    ends_after: dt.datetime
    distance_before_m: int
    distance_after_m: int
    #: order id → when service starts now, for every stop of the route after the drop
    starts: dict[int, dt.datetime] = field(default_factory=dict)


@dataclass
class Drop:
    saved: bool
    revision: int
    order: int
    route: int | None  # where it went (None: the pool)
    routes: list[RouteChange]
    #: the rules the drop breaks that were kept before it ("Order #12: outside its time window")
    breaks: list[str]


def _key(violation: dict) -> tuple:
    return violation.get("kind"), violation.get("order"), violation.get("sequence") is None


@transaction.atomic
def stop_drop(
    *,
    plan: Plan,
    order_id: int,
    route_id: int | None,
    position: int | None,
    revision: int | None,
    confirm: bool = False,
    actor: str = "",
) -> Drop:
    """Move the order to `position` of route `route_id` (None: the pool) as
    `edits.stop_move` does, on the plan as of `revision`. Without `confirm`, a move that
    breaks a new rule is rolled back and returned unsaved, with the re-timed routes and
    what breaks; with it (or when nothing new breaks) it is saved."""
    current = Plan.objects.values_list("revision", flat=True).get(pk=plan.pk)
    stop = PlanStop.objects.filter(route__plan=plan, order_id=order_id).only("route_id").first()
    touched = {r for r in (stop.route_id if stop else None, route_id) if r is not None}
    before = {
        r.pk: r
        for r in PlanRoute.objects.filter(plan=plan, pk__in=touched).select_related("driver")
    }
    if route_id is not None and route_id not in before:
        raise ValidationError({"route": f"Route {route_id} is not in this plan."})
    was = {k for r in before.values() for k in map(_key, r.violations)}
    point = transaction.savepoint()
    stop_move(
        plan=plan,
        order_id=order_id,
        route_id=route_id,
        position=position,
        actor=actor,
        revision=revision,
    )
    changes, breaks = [], []
    for route in PlanRoute.objects.filter(pk__in=before).select_related("driver").order_by("pk"):
        old = before[route.pk]
        starts = dict(route.stops.filter(order__isnull=False).values_list("order_id", "starts_at"))
        changes.append(
            RouteChange(
                id=route.pk,
                driver=route.driver.name,
                ends_before=old.ends_at,
                ends_after=route.ends_at,
                distance_before_m=old.distance_m,
                distance_after_m=route.distance_m,
                starts=starts,
            )
        )
        breaks += [v["detail"] for v in route.violations if _key(v) not in was]
    new_revision = Plan.objects.values_list("revision", flat=True).get(pk=plan.pk)
    saved = confirm or not breaks
    if saved:
        transaction.savepoint_commit(point)
    else:
        transaction.savepoint_rollback(point)
        new_revision = current
    return Drop(
        saved=saved,
        revision=new_revision,
        order=order_id,
        route=route_id,
        routes=changes,
        breaks=breaks,
    )
