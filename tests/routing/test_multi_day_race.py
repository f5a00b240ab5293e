"""Multi-day planning rebooks an order for its chosen day only while the order is still
open: an order dispatched by another session while the plan is being stored stays on its
day. Committed data, real threads, each with its own database connection."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.db import connection, transaction
from django_tenants.utils import schema_context

from tests.conftest import tenant_today

WAIT_S = 30


def _someone_waits_for_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_an_order_dispatched_while_the_plan_is_stored_is_not_moved(
    django_db_setup, django_db_blocker
):
    from dispatch.models import Order, OrderStatus
    from routing.models import MultiDayPlan
    from routing.services import multi_day

    schema = django_db_setup["alpha"].tenant.schema_name  # committed, not in a test transaction
    first, chosen = tenant_today(2), tenant_today(3)
    with django_db_blocker.unblock(), schema_context(schema):
        order = Order.objects.create(  # committed: no test transaction around it
            customer_name="Race customer",
            external_id="multi-day-race-1",
            address_line1="1 High Street",
            city="London",
            delivery_date=first,
            latest_date=tenant_today(4),
            lat=51.5,
            lng=-0.12,
            weight_kg=Decimal("1"),
            items=1,
        )
    dispatching, done = threading.Event(), threading.Event()

    def dispatch() -> None:  # the dispatcher publishes the order's day meanwhile
        try:
            with django_db_blocker.unblock(), schema_context(schema), transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                Order.objects.filter(pk=order.pk).update(status=OrderStatus.DISPATCHED)
                dispatching.set()
                assert done.wait(WAIT_S)
        finally:
            connection.close()

    def book() -> None:  # the multi-day plan's store
        try:
            with django_db_blocker.unblock(), schema_context(schema), transaction.atomic():
                multi_day._book(
                    Order.objects.get(pk=order.pk), chosen, MultiDayPlan(pk=1), placed=True
                )
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(2) as pool:
            dispatched = pool.submit(dispatch)
            assert dispatching.wait(WAIT_S), dispatched.exception(1)
            booked = pool.submit(book)
            with django_db_blocker.unblock():
                deadline = time.monotonic() + WAIT_S
                while not _someone_waits_for_a_row_lock() and not booked.done():
                    assert time.monotonic() < deadline, "the store never reached the order"
                    time.sleep(0.02)
            done.set()  # the dispatch commits
            dispatched.result(WAIT_S)
            booked.result(WAIT_S)
        with django_db_blocker.unblock(), schema_context(schema):
            order.refresh_from_db()
            assert order.status == OrderStatus.DISPATCHED
            assert order.delivery_date == first, "a dispatched order was moved to another day"
            assert not order.events.filter(actor=multi_day.ACTOR).exists()
    finally:
        done.set()
        with django_db_blocker.unblock(), schema_context(schema):
            Order.objects.filter(pk=order.pk).delete()
