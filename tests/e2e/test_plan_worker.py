"""Plans queued in two tenants at once are solved by one real django-q2 worker (ORM
broker), and each plan's routes, stops and left-outs land in its own tenant's schema.

Like the other end-to-end tests this one commits (the worker is another process), so it
removes what it made, in both schemas, whatever happens.
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.conftest import tenant_today
from tests.e2e.conftest import wait_until
from tests.e2e.test_worker import running_worker

# Both tenants plan the same date, which no other test uses (about four years after the
# run's today, whatever its clock): a job run in the wrong schema would find the other
# tenant's orders for it, and the checks below would show it.
PLAN_DAY = tenant_today(1557)


@dataclass
class TenantDay:
    """What one schema was given: a day of work (by `make_day`) and the plan queued for it."""

    schema: str
    prefix: str
    depot_id: int
    driver_id: int
    orders: dict[int, tuple[str, str]]  # pk -> (customer name, external id): all routable
    lost: tuple[int, str]  # the order without coordinates: (pk, customer name)
    plans_before: int
    plan_id: int | None = None
    task_id: str | None = None

    @property
    def task_name(self) -> str:
        return f"{self.schema}:plan-{self.plan_id}"


def _day_in(schema: str, prefix: str, count: int) -> TenantDay:
    """`make_day` in `schema`, moved to PLAN_DAY, its orders given this tenant's external ids."""
    from django_tenants.utils import schema_context

    from dispatch.models import Order
    from routing.models import Plan
    from tests.routing.test_conversion import make_day

    with schema_context(schema):
        plans_before = Plan.objects.count()
        depot, _, driver, made, lost = make_day(prefix, orders=count)
        for i, order in enumerate(made, start=1):
            order.delivery_date, order.external_id = PLAN_DAY, f"{prefix}-{i}"
            order.save(update_fields=["delivery_date", "external_id"])
        Order.objects.filter(pk=lost.pk).update(delivery_date=PLAN_DAY)
        return TenantDay(
            schema=schema,
            prefix=prefix,
            depot_id=depot.pk,
            driver_id=driver.pk,
            orders={o.pk: (o.customer_name, o.external_id) for o in made},
            lost=(lost.pk, lost.customer_name),
            plans_before=plans_before,
        )


def _queue_plan(day: TenantDay) -> None:
    """`plan_create` in the tenant's schema (its depot's van only, so that no other fleet
    joins in); the job goes on the queue when the block commits."""
    from django.db import transaction
    from django_tenants.utils import schema_context

    from dispatch.models import Depot
    from routing.services import plans

    with schema_context(day.schema), transaction.atomic():
        depot = Depot.objects.get(pk=day.depot_id)
        day.plan_id = plans.plan_create(date=PLAN_DAY, depot=depot, seconds=1).pk


def _finished(day: TenantDay) -> bool:
    from django_q.tasks import fetch
    from django_tenants.utils import schema_context

    from routing.models import Plan

    with schema_context(day.schema):
        plan = Plan.objects.get(pk=day.plan_id)
    assert plan.status != Plan.Status.FAILED, f"{day.schema}: {plan.error}"
    return plan.status == Plan.Status.DONE and fetch(day.task_id) is not None


def _assert_own_rows(day: TenantDay, other: TenantDay) -> None:
    """The plan of `day`'s schema used that schema's orders, driver and van, and only them."""
    from django_tenants.utils import schema_context

    from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned

    with schema_context(day.schema):
        plan = Plan.objects.get(pk=day.plan_id)
        assert (plan.status, plan.error, plan.date) == (Plan.Status.DONE, "", PLAN_DAY)
        assert Plan.objects.count() == day.plans_before + 1
        assert list(Plan.objects.filter(date=PLAN_DAY).values_list("pk", flat=True)) == [plan.pk]

        route = PlanRoute.objects.select_related("driver", "vehicle").get(plan=plan)
        assert route.driver_id == day.driver_id
        assert route.driver.name == f"{day.prefix} Dana"
        assert route.vehicle.name == f"{day.prefix} van"

        stops = list(PlanStop.objects.filter(route__plan=plan).select_related("order"))
        served = {
            s.order_id: (s.order.customer_name, s.order.external_id) for s in stops if s.order
        }
        assert served == day.orders  # the same ids, and behind them this schema's own rows
        assert len(stops) == len(day.orders) + 1 and sum(s.is_break for s in stops) == 1

        left = [(u.order_id, u.order.customer_name, u.reason) for u in plan.unassigned.all()]
        assert left == [(*day.lost, "not_geocoded")]

        # Nothing of the other tenant's day: no stop or left-out names its customers.
        others = f"{other.prefix} "
        assert not PlanStop.objects.filter(order__customer_name__startswith=others).exists()
        assert not PlanUnassigned.objects.filter(order__customer_name__startswith=others).exists()
        assert not PlanRoute.objects.filter(driver__name__startswith=others).exists()


def _cleanup(schema: str, prefix: str) -> None:
    """Delete what `_day_in` and `_queue_plan` made, children before PROTECTed parents."""
    from django_tenants.utils import schema_context

    from dispatch.models import Depot, Driver, Order, Vehicle
    from routing.models import Plan

    mine = f"{prefix} "
    with schema_context(schema):
        # Plans of this depot; the delete cascades to their routes, stops and left-outs.
        Plan.objects.filter(depot__name__startswith=mine).delete()
        Order.objects.filter(customer_name__startswith=mine).delete()
        Driver.objects.filter(name__startswith=mine).delete()
        Vehicle.objects.filter(name__startswith=mine).delete()
        Depot.objects.filter(name__startswith=mine).delete()


def test_one_worker_solves_two_tenants_plans_each_in_its_own_schema(
    django_db_setup, django_db_blocker
):
    from django_q.models import OrmQ, Task
    from django_q.tasks import fetch
    from django_tenants.utils import schema_context

    from routing.models import Plan

    alpha = django_db_setup["alpha"].tenant.schema_name
    beta = django_db_setup["beta"].tenant.schema_name
    wanted = ((alpha, "pw-alpha", 3), (beta, "pw-beta", 5))  # different days, by size too
    days: list[TenantDay] = []
    try:
        with django_db_blocker.unblock():
            for schema, prefix, count in wanted:
                days.append(_day_in(schema, prefix, count))
            for day in days:
                _queue_plan(day)
            # Committed and queued for the worker; not solved inline (Q_SYNC is off here).
            queued = {q.name(): q.task_id() for q in OrmQ.objects.all()}
            for day in days:
                assert day.task_name in queued, sorted(queued)
                day.task_id = queued[day.task_name]
                with schema_context(day.schema):
                    assert Plan.objects.get(pk=day.plan_id).status == Plan.Status.QUEUED

        with running_worker(), django_db_blocker.unblock():
            wait_until(lambda: all(_finished(day) for day in days), timeout=120, interval=0.5)

        with django_db_blocker.unblock():
            a, b = days
            _assert_own_rows(a, b)
            _assert_own_rows(b, a)
            for day in days:
                task = fetch(day.task_id)
                assert task.success, task.result
                assert (task.name, task.func) == (day.task_name, "tenants.tasks.run_in_schema")
                assert tuple(task.args) == (day.schema, "routing.tasks.plan_solve", day.plan_id)
                assert task.result == Plan.Status.DONE
    finally:
        with django_db_blocker.unblock():
            for schema, prefix, _ in wanted:
                _cleanup(schema, prefix)
            names = {day.task_name for day in days if day.plan_id is not None}
            for queued in OrmQ.objects.all():  # left on the queue if the worker never ran
                if queued.name() in names:
                    queued.delete()
            Task.objects.filter(name__in=names).delete()
