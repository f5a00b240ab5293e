"""The dispatcher reads the fuel and CO2 of a day in Chromium, on a desktop and on a phone:
the totals, the table per day, the breakdown by energy, the saving of the optimised order,
and the table per day downloaded as CSV (the day of tests/reports/test_emissions.py)."""

from __future__ import annotations

import os
from pathlib import Path

from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in

#: Set to a directory to keep screenshots of the section (desktop and phone).
SHOTS = os.environ.get("EMISSIONS_SCREENSHOTS")


def test_the_dispatcher_reads_fuel_and_co2_and_the_saving(
    live_server_url, django_db_blocker, browser
):
    from tests.reports.test_emissions import DAY, crafted_day

    tenant = live_tenant(
        django_db_blocker, live_server_url, "fuel", users=(("dispatcher@fuel.test", "dispatcher"),)
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        crafted_day("Fuel")
    for width, height in ((1440, 900), (390, 844)):
        with csp_checked_page(browser, viewport={"width": width, "height": height}) as page:
            sign_in(page, tenant, "dispatcher@fuel.test")
            page.wait_for_url(lambda url: "/login/" not in url)
            page.goto(f"{tenant.url}/reports/")  # on a phone the menu folds the link away
            page.get_by_label("From").fill(DAY.isoformat())
            page.get_by_label("To").fill(DAY.isoformat())
            page.get_by_role("button", name="Show").click()
            section = page.locator("#report-emissions")
            section.get_by_role("heading", name="Fuel and CO2").wait_for()
            totals = section.locator("#emissions-totals")
            assert totals.locator("[data-total=km]").inner_text() == "170.0 km"
            assert totals.locator("[data-total=litres]").inner_text() == "12.00 l"
            assert totals.locator("[data-total=kwh]").inner_text() == "11.00 kWh"
            assert totals.locator("[data-total=co2]").inner_text() == "32.40 kg"
            saved = totals.locator("[data-total=saved]").inner_text()
            assert saved == "42.0 km (20.0%), 8.49 kg CO2"
            day = section.locator("#emissions-day tr.total").inner_text().split("\t")
            assert day == ["Total", "170.0", "12.00", "11.00", "32.40"]
            energy = section.locator("#emissions-energy tbody tr")
            assert [r.split("\t")[:2] for r in energy.all_inner_texts()] == [
                ["Diesel", "1"],
                ["Electric", "1"],
                ["Total", "2"],
            ]
            routes = section.locator("#emissions-route tbody tr").all_inner_texts()
            assert "Fuel diesel van" in routes[0] and "10 l" in routes[0]
            assert "22 kWh (typical)" in routes[1]
            saving = section.locator("#emissions-saving tr.total").inner_text().split("\t")
            assert saving[1:6] == ["2", "168.0", "210.0", "42.0", "20.0"]
            assert "in the order the orders arrived" in section.inner_text()
            # readable: the section's text fits the page, tables scroll inside their card
            page_width = page.evaluate("document.documentElement.scrollWidth")
            assert page_width <= width, (width, page_width)
            if SHOTS:
                section.scroll_into_view_if_needed()
                page.screenshot(path=str(Path(SHOTS) / f"h4-reports-{width}.png"))
                section.screenshot(path=str(Path(SHOTS) / f"h4-emissions-{width}.png"))
            if width == 1440:
                with page.expect_download() as download:
                    page.get_by_role("link", name="Fuel and CO2 per day as CSV").click()
                text = Path(download.value.path()).read_text(encoding="utf-8")
                assert text.splitlines()[0].startswith("day,km,Litres,kWh,CO2 kg,Routes compared")
                assert text.splitlines()[-1].startswith("Total,170.0,12.00,11.00,32.40,2,")
