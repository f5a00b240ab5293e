"""Text PostgreSQL cannot store (lone UTF-16 surrogates, NUL) from callers other than the
API's JSON parser (a CSV handed over as text, a store's webhook, a geocoder's answer):
a clear error naming what is wrong, never a 500 from psycopg, and nothing saved."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import schema_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bulk import copy_insert
from dispatch.models import CsvImport, Order
from dispatch.services import csv_io

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

surrogates = st.integers(0xD800, 0xDFFF).map(chr)
#: Cells as a spreadsheet's would be (no separators, quotes or line ends of their own).
cells = st.text(st.characters(blacklist_characters=',"\r\n', blacklist_categories=["Cs"]))


@st.composite
def text_with_a_surrogate(draw) -> str:
    text = draw(cells)
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(surrogates) + text[at:]


def test_a_csv_given_as_text_with_a_lone_surrogate_is_a_file_error(alpha):
    with schema_context("alpha"):
        before = CsvImport.objects.count()

        @HYPOTHESIS
        @given(cell=text_with_a_surrogate(), column=st.sampled_from(["Customer", "Address"]))
        def check(cell: str, column: str) -> None:
            row = {"Customer": "Ada Lovelace", "Address": "12 Baker Street", column: cell}
            text = f"Customer,Address\n{row['Customer']},{row['Address']}\n"
            with pytest.raises(ValidationError) as refused:
                csv_io.csv_import_start(filename="orders.csv", content=text)
            assert set(refused.value.message_dict) == {"file"}
            assert "Surrogate characters are not allowed" in refused.value.message_dict["file"][0]

        check()
        assert CsvImport.objects.count() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customer_name", "x\ud800y"),
        ("notes", "\udfff"),
        ("customer_name", "nul\x00"),
        ("time_windows", [{"start": "09:00\udc00", "end": "11:00"}]),
        ("required_skills", ["fridge", "\ud9ff"]),
    ],
)
def test_copy_insert_names_the_field_it_cannot_store(alpha, field, value):
    with schema_context("alpha"):
        before = Order.objects.count()
        order = Order(customer_name="Ada", delivery_date="2026-12-01")
        setattr(order, field, value)
        with pytest.raises(ValidationError) as refused, transaction.atomic():
            copy_insert(Order, [Order(customer_name="Fine", delivery_date="2026-12-01"), order])
        assert set(refused.value.message_dict) == {field}
        assert "not allowed: U+" in refused.value.message_dict[field][0]
        assert Order.objects.count() == before


def test_a_surrogate_pair_is_stored_as_its_character(alpha):
    with schema_context("alpha"):
        order = Order(customer_name="Ada \U0001f33b", delivery_date="2026-12-01")
        copy_insert(Order, [order])
        assert Order.objects.get(pk=order.pk).customer_name == "Ada \U0001f33b"
