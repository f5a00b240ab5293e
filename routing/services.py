"""Travel matrices for the optimiser (the provider named in the settings, cached per
tenant), and plans: a day's orders optimised in the background and stored.

Settings: ROUTING_MATRIX_PROVIDER ("straight" or "osrm"), ROUTING_DETOUR_FACTOR (straight
line), ROUTING_OSRM_URL, ROUTING_OSRM_PROFILE, ROUTING_OSRM_TIMEOUT_S,
ROUTING_OSRM_MAX_TABLE_SIZE (OSRM) and ROUTING_MATRIX_CACHE_TTL_S (0: no cache).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from . import models
from .matrix import CachedProvider, Matrix, MatrixProvider, OsrmProvider, StraightLineProvider

MATRIX_PROVIDERS = ("straight", "osrm")


def matrix_provider() -> MatrixProvider:
    """The travel-matrix provider the settings name (uncached)."""
    name = settings.ROUTING_MATRIX_PROVIDER
    try:
        if name == "straight":
            return StraightLineProvider(detour_factor=settings.ROUTING_DETOUR_FACTOR)
        if name == "osrm":
            return OsrmProvider(
                settings.ROUTING_OSRM_URL,
                profile=settings.ROUTING_OSRM_PROFILE,
                timeout_s=settings.ROUTING_OSRM_TIMEOUT_S,
                max_table_size=settings.ROUTING_OSRM_MAX_TABLE_SIZE,
            )
    except ValueError as exc:
        raise ImproperlyConfigured(f"ROUTING_* settings: {exc}") from exc
    raise ImproperlyConfigured(
        f"ROUTING_MATRIX_PROVIDER must be one of {', '.join(MATRIX_PROVIDERS)}, not {name!r}."
    )


def travel_matrix(points: Sequence[tuple[float, float]]) -> Matrix:
    """Durations and distances between (lat, lng) points, cached under the current schema.

    Call it inside the tenant's schema (a request, or `schema_context` in a task): the
    cache key carries `connection.schema_name`. Raises `routing.matrix.MatrixError` when
    the routing server fails.
    """
    provider = matrix_provider()
    ttl_s = settings.ROUTING_MATRIX_CACHE_TTL_S
    if ttl_s > 0:
        provider = CachedProvider(provider, cache, namespace=connection.schema_name, ttl_s=ttl_s)
    return provider.matrix(points)


# --- plans ------------------------------------------------------------------------------

PLAN_SECONDS_RANGE = (1.0, 600.0)


def plan_create(
    *, date: dt.date, depot=None, seconds: float = 10.0, created_by=None
) -> models.Plan:
    """Queue the optimisation of `date`'s open orders (optionally one depot's vans);
    the worker runs `plan_solve` in this tenant's schema."""
    from tenants.tasks import enqueue_for_tenant

    low, high = PLAN_SECONDS_RANGE
    if not low <= seconds <= high:
        raise ValidationError({"seconds": f"Between {low:g} and {high:g} seconds."})
    plan = models.Plan.objects.create(
        date=date, depot=depot, seconds=seconds, created_by=created_by
    )
    schema = connection.schema_name
    transaction.on_commit(
        lambda: enqueue_for_tenant(
            "routing.services.plan_solve", plan.pk, schema_name=schema, task_name=f"plan-{plan.pk}"
        )
    )
    return plan


def plan_solve(plan_id: int) -> str:
    """Solve a queued plan and store its routes; a plan already taken is left alone (a
    task delivered twice solves once). Returns the plan's final status."""
    from dispatch.models import Driver, Order, OrderStatus, Vehicle

    from .conversion import crews_for, problem_for_day
    from .solver import solve

    with transaction.atomic():
        plan = models.Plan.objects.select_for_update().get(pk=plan_id)
        if plan.status != models.Plan.Status.QUEUED:
            return plan.status
        plan.status = models.Plan.Status.SOLVING
        plan.save(update_fields=["status"])
    try:
        orders = list(
            Order.objects.filter(delivery_date=plan.date, status=OrderStatus.UNASSIGNED).order_by(
                "pk"
            )
        )
        vehicles = Vehicle.objects.select_related("start_depot", "end_depot")
        if plan.depot_id:
            vehicles = vehicles.filter(start_depot_id=plan.depot_id)
        crews = crews_for(Driver.objects.filter(is_active=True).order_by("name", "pk"), vehicles)
        day = problem_for_day(orders=orders, crews=crews, matrix_of=travel_matrix)
        solution = solve(day.problem, seconds=plan.seconds)
        _plan_store(plan, day, solution)
    except Exception as exc:
        models.Plan.objects.filter(pk=plan.pk).update(
            status=models.Plan.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    return models.Plan.Status.DONE


@transaction.atomic
def _plan_store(plan: models.Plan, day, solution) -> None:
    from tenants.selectors import current_tenant

    midnight = dt.datetime.combine(
        plan.date, dt.time(), tzinfo=ZoneInfo(current_tenant().time_zone)
    )
    at = lambda seconds: midnight + dt.timedelta(seconds=seconds)  # noqa: E731
    orders = {str(o.pk): o for o in day.orders}
    crews = {v.id: crew for v, crew in zip(day.problem.vehicles, day.crews, strict=True)}
    for route in solution.routes:
        crew = crews[route.vehicle_id]
        stored = models.PlanRoute.objects.create(
            plan=plan,
            driver=crew.driver,
            vehicle=crew.vehicle,
            starts_at=at(route.visits[0].departure_s),
            ends_at=at(route.visits[-1].arrival_s),
            distance_m=route.distance_m,
            duration_s=route.duration_s,
            waiting_s=route.waiting_s,
        )
        stops = [v for v in route.visits if v.kind in ("job", "break")]
        models.PlanStop.objects.bulk_create(
            models.PlanStop(
                route=stored,
                sequence=k,
                order=orders.get(v.id) if v.kind == "job" else None,
                is_break=v.kind == "break",
                arrives_at=at(v.arrival_s),
                starts_at=at(v.start_s),
                departs_at=at(v.departure_s),
                waiting_s=v.waiting_s,
                load=list(v.load),
            )
            for k, v in enumerate(stops, start=1)
        )
    left_out = [(orders[u.id], u.reason.value) for u in solution.unassigned]
    left_out += [(order, "not_geocoded") for order in day.not_geocoded]
    models.PlanUnassigned.objects.bulk_create(
        models.PlanUnassigned(plan=plan, order=order, reason=reason) for order, reason in left_out
    )
    plan.status = models.Plan.Status.DONE
    plan.engine = solution.engine
    plan.distance_m, plan.duration_s = solution.distance_m, solution.duration_s
    plan.solved_at = timezone.now()
    plan.save()
