"""A dispatcher sets up a depot, a van and a driver in the browser."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser


def test_dispatcher_sets_up_depot_vehicle_and_driver(live_server_url, page, django_db_blocker):
    from dispatch.models import Driver, Vehicle

    tenant = live_tenant(
        django_db_blocker, live_server_url, "fleet", users=(("d@fleet.test", "dispatcher"),)
    )
    sign_in(page, tenant, "d@fleet.test")

    page.get_by_role("link", name="Depots").click()
    page.get_by_role("link", name="New depot").click()
    page.locator("#id_name").fill("Bermondsey")
    page.locator("#id_address_line1").fill("30 Rotherhithe New Road")
    page.locator("#id_lat").fill("51.4905")
    page.locator("#id_lng").fill("-0.0637")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Bermondsey saved.").wait_for()

    page.get_by_role("link", name="Vehicles").click()
    page.get_by_role("link", name="New vehicle").click()
    page.locator("#id_name").fill("Van 1")
    page.locator("#id_start_depot").select_option(label="Bermondsey")
    page.locator("#id_capacity_items").fill("80")
    page.locator("#id_skills").fill("fridge")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Van 1 saved.").wait_for()

    page.get_by_role("link", name="Drivers").click()
    page.get_by_role("link", name="New driver").click()
    page.locator("#id_name").fill("Dora")
    page.locator("#id_phone").fill("07700 900")  # too short: refused with a message
    page.get_by_role("button", name="Save").click()
    page.get_by_text("is not a valid phone number").wait_for()
    page.locator("#id_phone").fill("020 7946 0999")
    page.locator("#id_default_vehicle").select_option(label="Van 1")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Dora saved.").wait_for()
    assert "+442079460999" in page.locator("table").inner_text()

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert Vehicle.objects.get().skills == ["fridge"]
        assert Driver.objects.get().default_vehicle.name == "Van 1"
