"""core.bulk.copy_insert, both ways it writes: a handful of rows in one INSERT … RETURNING,
more with COPY. Either way every field is stored as the ORM would store it, the objects
come back with their ids, and a conflict is Django's IntegrityError (which the intake
paths fall back on, row by row)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from core.bulk import SMALL_BATCH, copy_insert
from dispatch.models import Order
from tests.conftest import tenant_today

pytestmark = pytest.mark.django_db

FIELDS = (
    "external_id",
    "customer_name",
    "customer_phone",
    "address_line1",
    "lat",
    "lng",
    "delivery_date",
    "time_windows",
    "weight_kg",
    "barcodes",
    "status",
    "created_at",
)


def _orders(count: int, run: str) -> list[Order]:
    return [
        Order(
            source="api",
            external_id=f"{run}-{n}",
            customer_name=f"Cüstomer {n} ✓",
            customer_phone="+442079460958",
            address_line1=f"{n} High St",
            lat=51.5 + n / 1000,
            lng=-0.1,
            delivery_date=tenant_today(1),
            time_windows=[{"start": "09:00", "end": "12:00"}],
            weight_kg="2.50",
            barcodes=[f"EAN{n}", "tab\there"],
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, SMALL_BATCH, SMALL_BATCH + 1, 250])
def test_rows_are_stored_as_the_orm_would_store_them_and_get_their_ids(alpha, count):
    with schema_context(alpha.tenant.schema_name):
        made = _orders(count, f"c{count}")
        copy_insert(Order, made)
        assert all(o.pk and not o._state.adding for o in made)
        assert len({o.pk for o in made}) == count
        stored = {o.pk: o for o in Order.objects.filter(pk__in=[o.pk for o in made])}
        reference = _orders(count, f"r{count}")  # the same values saved one by one
        for order in reference:
            order.save()
        for mine, theirs in zip(made, reference, strict=True):
            got = stored[mine.pk]
            again = Order.objects.get(pk=theirs.pk)
            for name in FIELDS:
                if name == "external_id":
                    assert got.external_id == mine.external_id
                elif name == "created_at":
                    assert got.created_at is not None
                else:
                    assert getattr(got, name) == getattr(again, name), name


@pytest.mark.parametrize("count", [1, SMALL_BATCH + 5])
def test_a_conflict_is_an_integrity_error_and_stores_nothing(alpha, count):
    with schema_context(alpha.tenant.schema_name):
        copy_insert(Order, _orders(1, "dup"))
        before = Order.objects.count()
        batch = _orders(count, "new")
        batch[-1].external_id = "dup-0"  # the same (source, external id) as one stored
        with pytest.raises(IntegrityError), transaction.atomic():
            copy_insert(Order, batch)
        assert Order.objects.count() == before
