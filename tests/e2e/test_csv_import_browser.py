"""A dispatcher imports a CSV with two bad rows in the browser: sees them, imports the rest."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser

CSV = (
    "Reference,Customer,Phone,Address,Postcode,Date,From,Until\n"
    "W-1,Ada Lovelace,020 7946 0001,12 Baker Street,NW1 6XE,2026-12-01,09:00,12:00\n"
    "W-2,Ben Brown,not a phone,1 Long Road,SE1 9SG,2026-12-01,,\n"
    "W-3,Cara Clarke,020 7946 0003,3 High Street,N1 0PN,2026-12-01,14:00,16:00\n"
    "W-4,Dev Davies,020 7946 0004,4 High Street,N1 0PN,the first of December,,\n"
    "W-5,Ella Evans,,5 High Street,N1 0PN,2026-12-01,16:00,18:00\n"
)


def test_dispatcher_imports_a_csv_with_two_bad_rows(live_server_url, page, django_db_blocker):
    from dispatch.models import Order

    tenant = live_tenant(
        django_db_blocker, live_server_url, "csv", users=(("d@csv.test", "dispatcher"),)
    )
    sign_in(page, tenant, "d@csv.test")
    page.get_by_role("link", name="Import").first.click()

    page.get_by_label("CSV file").set_input_files(
        {"name": "orders.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Upload").click()
    # The mapping step comes pre-filled from the column names.
    assert page.get_by_label("Customer name").input_value() == "Customer"
    assert page.locator("#id_window_start").input_value() == "From"
    page.get_by_role("button", name="Check the rows").click()

    errors = page.locator("#row-errors")
    errors.wait_for()
    text = errors.inner_text()
    assert "Line 3" in text and "customer_phone" in text
    assert "Line 5" in text and "delivery_date" in text
    assert page.locator("#valid-count").inner_text() == "3"

    page.get_by_role("button", name="Import 3 orders").click()
    assert page.locator("#created-count").inner_text() == "3"
    page.get_by_text("3 orders imported, 2 lines skipped.").wait_for()

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert sorted(Order.objects.values_list("external_id", flat=True)) == ["W-1", "W-3", "W-5"]
