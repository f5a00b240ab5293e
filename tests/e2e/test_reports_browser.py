"""The dispatcher reads the reports in Chromium: the bar charts, the table per driver, and
the table downloaded as CSV."""

from __future__ import annotations

from pathlib import Path

from django.utils import timezone
from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in


def test_the_dispatcher_reads_the_reports_and_downloads_a_csv(
    live_server_url, django_db_blocker, page
):
    from tests.reports.test_reports import fixture_day

    tenant = live_tenant(
        django_db_blocker, live_server_url, "reps", users=(("dispatcher@reps.test", "dispatcher"),)
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema), timezone.override("UTC"):
        fixture_day()
    sign_in(page, tenant, "dispatcher@reps.test")
    page.get_by_role("link", name="Reports").click()
    page.get_by_label("From").fill("2026-12-02")
    page.get_by_label("To").fill("2026-12-02")
    page.get_by_role("combobox", name="Per").select_option("driver")
    page.get_by_role("button", name="Show").click()
    chart = page.locator("#delivered-chart li")
    chart.first.wait_for()
    assert chart.count() == 2
    assert page.get_by_role("img", name="Ann Report: 3 delivered").count() == 1
    assert page.get_by_role("img", name="Refused: 1").count() == 1
    total = page.locator("#report-table tr.total").inner_text()
    assert total.split("\t")[:5] == ["Total", "7", "5", "2", "75.0"]
    with page.expect_download() as download:
        page.get_by_role("link", name="This table as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[1].startswith("Ann Report,4,3,1,66.7")
