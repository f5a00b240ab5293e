"""The dashboard's import flow and export download."""

from __future__ import annotations

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from dispatch.models import CsvImport, Order
from dispatch.services import csv_io
from tests.conftest import host_client, login_client
from tests.dispatch.test_csv_services import GOOD


def upload(client, content: bytes = GOOD.encode(), name: str = "o.csv"):
    return client.post("/imports/", {"file": SimpleUploadedFile(name, content)})


def test_upload_columns_preview_import_result(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = upload(client)
    assert response.status_code == 302
    detail = response["Location"]

    page = client.get(detail).content.decode()
    assert 'for="id_customer_name">Customer name' in page
    assert '<option value="Customer" selected>Customer (e.g. Ada Lovelace)</option>' in page
    assert "Check the rows" in page and 'id="preview"' not in page

    checked = client.post(detail, csv_io.suggest_mapping(GOOD.splitlines()[0].split(",")))
    assert checked.status_code == 302 and checked["Location"].endswith("#preview")
    page = client.get(detail).content.decode()
    assert '<strong id="valid-count">3</strong>' in page
    assert '<strong id="invalid-count">4</strong>' in page
    for line in (5, 6, 7, 8):
        assert f"Line {line}</th>" in page
    assert '<strong>Phone</strong> <span class="muted">(column “Phone”)</span>' in page
    assert "Same reference as line 2." in page
    assert "<caption>The first 7 rows as they will be read</caption>" in page
    assert "Import 3 good rows" in page

    result_url = detail
    result = client.post(f"{detail}import/", follow=True).content.decode()
    assert "3 orders imported, 4 lines skipped." in result
    assert '<dd id="created-count">3</dd>' in result
    assert '<dd id="invalid-count">4</dd>' in result
    assert "Line 8</th>" in result
    # The same file again: a warning before anything is imported.
    detail = upload(client)["Location"]
    client.post(detail, csv_io.suggest_mapping(GOOD.splitlines()[0].split(",")))
    assert "This file was imported before" in client.get(detail).content.decode()
    # Committing again: nothing new, no message, the same result page.
    detail = result_url
    again = client.post(f"{detail}import/", follow=True).content.decode()
    assert "orders imported" not in again and '<dd id="created-count">3</dd>' in again
    with schema_context("alpha"):
        assert Order.objects.filter(source="csv").count() == 3


def test_mapping_errors_are_shown_on_the_form(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    detail = upload(client)["Location"]
    response = client.post(detail, {"address_line1": "Address", "delivery_date": "Delivery Date"})
    assert response.status_code == 200
    assert "Choose the column with the customer&#x27;s name." in response.content.decode()
    response = client.post(detail, {"customer_name": "Nope"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    with schema_context("alpha"):
        assert CsvImport.objects.get().status == "uploaded"


def test_committing_before_the_preview_is_refused_with_a_message(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    detail = upload(client)["Location"]
    page = client.post(f"{detail}import/", follow=True).content.decode()
    assert "Look at the preview before importing." in page
    with schema_context("alpha"):
        assert not Order.objects.exists()


def test_upload_errors_are_shown(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    for content, message in (
        (b"", "The submitted file is empty."),
        (b"Name,Address\n", "The file has a header but no orders."),
        (b"PK\x03\x04\x14\x00", "This is a spreadsheet (.xlsx)"),
    ):
        response = upload(client, content)
        assert response.status_code == 200
        assert message in response.content.decode()


def test_imports_of_another_tenant_are_404_even_with_the_same_id(alpha, beta):
    with schema_context("beta"):
        beta_import = csv_io.csv_import_start(filename="b.csv", content=GOOD)
    with schema_context("alpha"):
        CsvImport.objects.filter(pk=beta_import.pk).delete()
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert client.get(f"/imports/{beta_import.pk}/").status_code == 404
    assert client.post(f"/imports/{beta_import.pk}/", {}).status_code == 404
    assert client.post(f"/imports/{beta_import.pk}/import/").status_code == 404


def test_only_dispatchers_import_or_export(alpha):
    driver = login_client(alpha.host, alpha.driver_email)
    assert driver.get("/imports/").status_code == 403
    assert driver.get("/imports/export/").status_code == 403
    anonymous = host_client(alpha.host).get("/imports/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_export_download_of_the_filtered_orders(alpha):
    with schema_context("alpha"):
        for day in (1, 2):
            Order.objects.create(
                customer_name=f"Zoë {day}", address_line1="x", delivery_date=dt.date(2026, 12, day)
            )
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.get("/imports/export/?delivery_date=2026-12-01")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="orders-2026-12-01.csv"'
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeffexternal_id,".encode())  # Excel reads it as UTF-8
    assert "Zoë 1".encode() in body and b"2026-12-02" not in body
    # The download goes back in through the importer as it is.
    with schema_context("alpha"):
        csv_import = csv_io.csv_import_start(filename="export.csv", content=body)
        assert csv_io.csv_import_preview(csv_import=csv_import).valid == 1
    bad = client.get("/imports/export/?delivery_date=nope")
    assert bad.status_code == 200 and b"Zo" not in b"".join(bad.streaming_content)
