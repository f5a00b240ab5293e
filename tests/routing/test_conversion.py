"""A day's orders and crews become the optimiser's problem, inside one tenant's schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, Vehicle
from routing.optimiser import solver
from routing.optimiser.matrix import StraightLineProvider
from routing.optimiser.problem import TimeWindow
from routing.services.conversion import crews_for, problem_for_day
from tests.routing.factories import DAY


def make_day(prefix: str, *, orders: int = 4):
    depot = Depot.objects.create(
        name=f"{prefix} depot",
        lat=51.50,
        lng=-0.12,
        opens_at=dt.time(7, 0),
        closes_at=dt.time(19, 0),
    )
    van = Vehicle.objects.create(
        name=f"{prefix} van",
        start_depot=depot,
        capacity_weight_kg=Decimal("100"),
        capacity_items=None,
        skills=["fridge"],
        cost_per_km=Decimal("0.5"),
    )
    spare = Vehicle.objects.create(name=f"{prefix} spare", start_depot=depot, is_active=False)
    driver = Driver.objects.create(
        name=f"{prefix} Dana",
        default_vehicle=van,
        shift_start=dt.time(6, 0),
        shift_end=dt.time(17, 0),
        break_start=dt.time(12, 0),
        break_duration_s=1800,
        skills=["lift"],
    )
    Driver.objects.create(name=f"{prefix} Sam", default_vehicle=spare)  # inactive vehicle
    made = [
        Order.objects.create(
            customer_name=f"{prefix} customer {i}",
            delivery_date=DAY,
            lat=51.50 + 0.01 * i,
            lng=-0.12,
            weight_kg=Decimal("2.5"),
            items=2,
            time_windows=[{"start": "09:00", "end": "11:30"}] if i == 1 else [],
            required_skills=["fridge"] if i == 2 else [],
            priority=Order.Priority.URGENT,
        )
        for i in range(1, orders + 1)
    ]
    lost = Order.objects.create(customer_name=f"{prefix} nowhere", delivery_date=DAY)
    return depot, van, driver, made, lost


@pytest.mark.django_db
def test_orders_and_crews_become_jobs_and_vehicles(alpha):
    with schema_context(alpha.tenant.schema_name):
        _, van, driver, orders, lost = make_day("a")
        crews = crews_for(Driver.objects.order_by("name"), Vehicle.objects.all())
        day = problem_for_day(
            orders=[*orders, lost], crews=crews, matrix_of=StraightLineProvider().matrix
        )
    assert [(c.driver, c.vehicle) for c in day.crews] == [(driver, van)]
    assert day.not_geocoded == [lost]
    problem = day.problem
    vehicle = problem.vehicles[0]
    assert vehicle.shift == TimeWindow(7 * 3600, 17 * 3600)  # the depot opens at 7
    assert vehicle.capacity == (10_000, 2**40, 2**40)  # 100 kg in 10 g; no limits
    assert vehicle.skills == {"fridge", "lift"}
    assert vehicle.breaks[0].window == TimeWindow(12 * 3600, 14 * 3600)
    assert vehicle.cost_per_km == 0.5
    jobs = {j.id: j for j in problem.jobs}
    first = jobs[str(orders[0].pk)]
    assert first.windows == (TimeWindow(9 * 3600, 11 * 3600 + 1800),)
    assert first.delivery == (250, 0, 2) and first.priority == 3
    assert jobs[str(orders[1].pk)].skills == {"fridge"}
    assert problem.durations_s.shape == (len(orders) + 1,) * 2  # the depot and four doors


@pytest.mark.django_db
def test_each_tenant_gets_its_own_orders_although_ids_repeat(alpha, beta):
    days = {}
    for tenant, count in ((alpha, 3), (beta, 5)):
        with schema_context(tenant.tenant.schema_name):
            _, _, _, orders, _ = make_day(tenant.tenant.schema_name, orders=count)
            crews = crews_for(Driver.objects.order_by("name"), Vehicle.objects.all())
            days[tenant.tenant.schema_name] = problem_for_day(
                orders=orders, crews=crews, matrix_of=StraightLineProvider().matrix
            )
    a, b = days[alpha.tenant.schema_name], days[beta.tenant.schema_name]
    assert len(a.problem.jobs) == 3 and len(b.problem.jobs) == 5
    assert a.orders[0].customer_name.startswith(alpha.tenant.schema_name)
    assert b.orders[0].customer_name.startswith(beta.tenant.schema_name)


@pytest.mark.django_db
def test_the_converted_day_solves_with_every_order_served(alpha):
    with schema_context(alpha.tenant.schema_name):
        _, _, _, orders, _ = make_day("s")
        crews = crews_for(Driver.objects.order_by("name"), Vehicle.objects.all())
        day = problem_for_day(orders=orders, crews=crews, matrix_of=StraightLineProvider().matrix)
    solution = solver.solve(day.problem, seconds=1, workers=1)
    assert solution.feasible and not solution.unassigned
    served = [v.id for r in solution.routes for v in r.visits if v.kind == "job"]
    assert sorted(served) == sorted(str(o.pk) for o in orders)
