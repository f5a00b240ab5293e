"""The recurring orders job run several times at once (two workers, or the job and a
dispatcher's change) still makes each day's order once: committed data, real threads,
each with its own database connection."""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD, tenant_today

RUNS = 4


def test_materialising_at_once_from_several_connections_makes_each_day_once(
    django_db_setup, django_db_blocker
):
    from dispatch.models import Order, RecurringOccurrence, RecurringOrder
    from dispatch.services.recurring import recurring_create, recurring_materialise
    from tenants.services.provisioning import tenant_provision

    with django_db_blocker.unblock():
        tenant = tenant_provision(
            name="Race Co",
            slug=f"recur-race-{secrets.token_hex(3)}",
            owner_email="owner@recur-race.test",
            owner_password=PASSWORD,
            country="GB",
            time_zone="Europe/London",
        ).tenant
        schema = tenant.schema_name
        with schema_context(schema):
            recurring = recurring_create(  # committed: no test transaction around it
                name="Daily",
                template={"customer_name": "Rosa", "lat": 51.5, "lng": -0.1},
                rule="FREQ=DAILY",
                starts_on=tenant_today(1),
                lead_days=0,  # nothing made yet
            )
            assert not Order.objects.exists()
            RecurringOrder.objects.filter(pk=recurring.pk).update(lead_days=5)
    barrier = threading.Barrier(RUNS)

    def run(_: int) -> int:
        try:
            with django_db_blocker.unblock(), schema_context(schema):
                barrier.wait(timeout=30)
                return recurring_materialise(recurring=RecurringOrder(pk=recurring.pk))
        finally:
            connection.close()

    with ThreadPoolExecutor(RUNS) as pool:
        made = list(pool.map(run, range(RUNS)))
    assert sorted(made) == [0] * (RUNS - 1) + [5]
    with django_db_blocker.unblock(), schema_context(schema):
        days = list(Order.objects.values_list("delivery_date", flat=True))
        assert sorted(days) == [tenant_today(n) for n in range(1, 6)]
        assert RecurringOccurrence.objects.filter(order__isnull=False).count() == 5
