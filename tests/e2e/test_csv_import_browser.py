"""A dispatcher imports a CSV with two bad rows in the browser: sees them by line number,
imports the rest, then downloads the orders again as CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser

CSV = (
    "Reference,Customer,Phone,Address,Postcode,Date,From,Until\n"
    "W-1,Ada Lovelace,020 7946 0001,12 Baker Street,NW1 6XE,2026-12-01,9am,12:00\n"
    "W-2,Ben Brown,not a phone,1 Long Road,SE1 9SG,2026-12-01,,\n"
    "W-3,Cara Clarke,020 7946 0003,3 High Street,N1 0PN,2026-12-01,14:00,16:00\n"
    "W-4,Dev Davies,020 7946 0004,4 High Street,N1 0PN,the first of December,,\n"
    "W-5,Ella Evans,,5 High Street,N1 0PN,01/12/2026,16:00,18:00\n"
)


def test_dispatcher_imports_a_csv_with_two_bad_rows(live_server_url, page, django_db_blocker):
    from dispatch.models import Order

    tenant = live_tenant(
        django_db_blocker, live_server_url, "csv", users=(("d@csv.test", "dispatcher"),)
    )
    sign_in(page, tenant, "d@csv.test")
    page.get_by_role("link", name="Import", exact=True).click()

    page.get_by_label("CSV file").set_input_files(
        {"name": "orders.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Upload").click()

    # The mapping step comes pre-filled from the column names.
    page.get_by_role("heading", name="Which column is what?").wait_for()
    assert page.get_by_label("Customer name", exact=True).input_value() == "Customer"
    assert page.get_by_label("Reference", exact=True).input_value() == "Reference"
    assert page.get_by_label("Window from", exact=True).input_value() == "From"
    assert page.get_by_label("Window until", exact=True).input_value() == "Until"
    page.get_by_role("button", name="Check the rows").click()

    errors = page.get_by_role("table", name="Rows with problems")
    errors.wait_for()
    rows = errors.locator("tbody tr")
    assert rows.count() == 2
    assert "Line 3" in rows.nth(0).inner_text() and "Phone" in rows.nth(0).inner_text()
    assert "Line 5" in rows.nth(1).inner_text() and "Delivery date" in rows.nth(1).inner_text()
    assert page.locator("#valid-count").inner_text() == "3"
    assert page.locator("#invalid-count").inner_text() == "2"
    sample = page.get_by_role("table", name="The first 5 rows as they will be read")
    assert "09:00\u201312:00" in sample.inner_text()  # "9am" read as a time

    page.get_by_role("button", name="Import 3 good rows").click()
    page.get_by_text("3 orders imported, 2 lines skipped.").wait_for()
    assert page.locator("#created-count").inner_text() == "3"
    assert page.locator("#existing-count").inner_text() == "0"
    assert page.locator("#invalid-count").inner_text() == "2"
    skipped = page.get_by_role("table", name="Lines not imported")
    assert "Line 3" in skipped.inner_text() and "Line 5" in skipped.inner_text()
    assert "'the first of December' is not a date" in skipped.inner_text()

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert sorted(Order.objects.values_list("external_id", flat=True)) == ["W-1", "W-3", "W-5"]
        assert set(Order.objects.values_list("source", flat=True)) == {"csv"}

    # The orders page exports what was imported, in the importer's columns.
    page.get_by_role("link", name="See the orders").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("orders-")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("external_id,customer_name,customer_phone")
    assert [line.split(",")[0] for line in text.splitlines()[1:]] == ["W-1", "W-3", "W-5"]
