"""CSV dates as spreadsheets and store exports write them, read by the same reader as
Shopify's; a date that cannot be read is a bad line, or, when the import chooses to keep
such rows, an order needing a date (never a guessed day)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.services import csv_io
from tests.conftest import api_client, tenant_today

FORMATS = {
    "iso": "%Y-%m-%d",
    "slashes, year first": "%Y/%m/%d",
    "dots, year first": "%Y.%m.%d",
    "digits only": "%Y%m%d",
    "day first": "%d/%m/%Y",
    "dots, day first": "%d.%m.%Y",
    "month name": "%d %B %Y",
    "with midnight": "%Y/%m/%d 00:00:00",
}


def _import(text: str, *, keep_undated: bool = False) -> csv_io.CommitResult:
    csv_import = csv_io.csv_import_start(filename="dates.csv", content=text)
    choice = {"keep_undated": True} if keep_undated else {}
    csv_io.csv_import_set_mapping(csv_import=csv_import, mapping=csv_import.mapping, **choice)
    csv_io.csv_import_preview(csv_import=csv_import)
    return csv_io.csv_import_commit(csv_import=csv_import, actor="test")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_each_format_a_spreadsheet_writes_is_imported_on_its_day(alpha, fmt):
    day = tenant_today(9)
    text = f"Ref,Name,Address,Date\nD-1,Ann,1 High Street,{day.strftime(FORMATS[fmt])}\n"
    with schema_context("alpha"):
        result = _import(text)
        assert [line["status"] for line in result.lines] == ["created"]
        assert Order.objects.get(external_id="D-1").delivery_date == day


def test_an_unreadable_date_is_a_bad_line_unless_the_import_keeps_such_rows(alpha):
    day = tenant_today(9)
    text = (
        "Ref,Name,Address,Date\n"
        f"D-1,Ann,1 High Street,{day:%Y/%m/%d}\n"
        "D-2,Ben,2 High Street,after Christmas\n"
    )
    with schema_context("alpha"):
        refused = _import(text)
        assert [line["status"] for line in refused.lines] == ["created", "invalid"]
        assert "is not a date" in refused.lines[1]["errors"]["delivery_date"][0]
        assert not Order.objects.filter(external_id="D-2").exists()

        kept = _import(text, keep_undated=True)
        assert [line["status"] for line in kept.lines] == ["exists", "created"]
        order = Order.objects.get(external_id="D-2")
        assert (order.delivery_date, order.needs_date, order.delivery_date_as_written) == (
            None,
            True,
            "after Christmas",
        )


def test_keeping_undated_rows_is_chosen_through_the_api_too(alpha):
    client = api_client(alpha.host, alpha.api_key)
    text = "Ref,Name,Address,Date\nD-3,Cy,3 High Street,ASAP\n"
    created = client.post("/api/v1/imports", text, content_type="text/csv")
    assert created.status_code == 201, created.content
    url = f"/api/v1/imports/{created.json()['id']}"
    mapping = created.json()["mapping"]
    answer = client.put(f"{url}/mapping", {"mapping": mapping, "keep_undated": True}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["keep_undated"] is True
    preview = client.get(f"{url}/preview").json()
    assert (preview["valid"], preview["invalid"]) == (1, 0)
    assert preview["sample"][0]["data"]["delivery_date"] == "ASAP"
    committed = client.post(f"{url}/commit")
    assert committed.status_code in (200, 201), committed.content
    with schema_context("alpha"):
        assert Order.objects.get(external_id="D-3").needs_date


def test_the_import_page_offers_to_keep_rows_whose_date_cannot_be_read(alpha):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import login_client

    text = "Ref,Name,Address,Date\nD-4,Di,4 High Street,when the roses bloom\n"
    client = login_client(alpha.host, alpha.dispatcher_email)
    detail = client.post("/imports/", {"file": SimpleUploadedFile("d.csv", text.encode())})[
        "Location"
    ]
    assert "Keep rows whose date cannot be read" in client.get(detail).content.decode()
    mapping = csv_io.suggest_mapping(["Ref", "Name", "Address", "Date"])
    client.post(detail, {**mapping, "keep_undated": "on"})
    page = client.get(detail).content.decode()
    assert '<strong id="valid-count">1</strong>' in page
    assert "needs a date (when the roses bloom)" in page
    assert "Import 1 good row" in page
    client.post(f"{detail}import/")
    with schema_context("alpha"):
        order = Order.objects.get(external_id="D-4")
    assert (order.needs_date, order.delivery_date_as_written) == (True, "when the roses bloom")


def test_a_preview_made_under_the_other_keep_undated_choice_is_not_stored(alpha):
    """A preview read with one choice while the import was switched to the other is not
    kept as the import's preview: its counts would not be what the commit does."""
    from dispatch.models import CsvImport

    text = "Ref,Name,Address,Date\nD-5,Ed,5 High Street,some day\n"
    with schema_context("alpha"):
        csv_import = csv_io.csv_import_start(filename="d.csv", content=text)
        csv_io.csv_import_set_mapping(csv_import=csv_import, mapping=csv_import.mapping)
        stale = CsvImport.objects.get(pk=csv_import.pk)  # read before the choice changes
        csv_io.csv_import_set_mapping(
            csv_import=csv_import, mapping=csv_import.mapping, keep_undated=True
        )
        preview = csv_io.csv_import_preview(csv_import=stale)
        assert (preview.valid, preview.invalid) == (0, 1)  # read without keeping the row
        stored = CsvImport.objects.get(pk=csv_import.pk)
        assert stored.status == CsvImport.Status.UPLOADED  # not stored: the preview is due
        with pytest.raises(ValidationError):
            csv_io.csv_import_commit(csv_import=stored, actor="test")
        csv_io.csv_import_preview(csv_import=stored)
        stored.refresh_from_db()
        assert (stored.status, stored.valid_count) == (CsvImport.Status.PREVIEWED, 1)
