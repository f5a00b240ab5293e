"""A dispatcher of a new account sets up a depot, a van and a driver in the browser."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser


def test_dispatcher_sets_up_depot_vehicle_and_driver(live_server_url, page, django_db_blocker):
    from dispatch.models import Depot, Driver, Vehicle

    # A freshly provisioned tenant (tenant_provision + user_create, committed).
    tenant = live_tenant(
        django_db_blocker,
        live_server_url,
        "fleet",
        users=(("d@fleet.test", "dispatcher"), ("dora@fleet.test", "driver")),
    )
    sign_in(page, tenant, "d@fleet.test")

    page.get_by_role("link", name="Depots").click()
    page.get_by_text("No depots yet").wait_for()
    page.get_by_role("link", name="New depot").click()
    page.get_by_label("Name").fill("Bermondsey")
    page.get_by_label("Address:", exact=True).fill("30 Rotherhithe New Road")
    page.get_by_label("Latitude").fill("51.4905")
    page.get_by_label("Longitude").fill("-0.0637")
    page.get_by_label("Opens at").fill("06:30")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Bermondsey saved.").wait_for()
    depots = page.get_by_role("table")
    assert "Bermondsey" in depots.inner_text() and "06:30" in depots.inner_text()
    page.locator("#depot-map.leaflet-container").wait_for()  # Leaflet drew the map

    page.get_by_role("link", name="Vehicles").click()
    page.get_by_role("link", name="New vehicle").click()
    page.get_by_label("Name").fill("Van 1")
    page.get_by_label("Starts from").select_option(label="Bermondsey")
    page.get_by_label("Capacity (items)").fill("80")
    page.get_by_label("Skills").fill("Fridge, fridge")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Van 1 saved.").wait_for()
    row = page.get_by_role("row", name="Van 1")
    assert "Bermondsey" in row.inner_text() and "80 items" in row.inner_text()

    page.get_by_role("link", name="Drivers").click()
    page.get_by_role("link", name="New driver").click()
    page.get_by_label("Name").fill("Dora")
    page.get_by_label("Phone").fill("07700 900")  # too short: refused with a message
    page.get_by_label("Shift starts").fill("09:00")
    page.get_by_label("Shift ends").fill("08:00")  # before it starts: refused too
    page.get_by_role("button", name="Save").click()
    page.get_by_text("is not a valid phone number").wait_for()
    page.get_by_text("The shift must start before it ends.").wait_for()
    page.get_by_label("Phone").fill("020 7946 0999")
    page.get_by_label("Shift ends").fill("17:00")
    page.get_by_label("Driver login").select_option(label="dora@fleet.test")
    page.get_by_label("Usual vehicle").select_option(label="Van 1")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Dora saved.").wait_for()
    row = page.get_by_role("row", name="Dora")
    # the number as stored (+442079460999) is shown as a business in Britain writes it
    for text in ("020 7946 0999", "dora@fleet.test", "Van 1", "09:00\u201317:00", "Active"):
        assert text in row.inner_text().replace("\u00a0", " "), text

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert Depot.objects.get().opens_at.strftime("%H:%M") == "06:30"
        assert Vehicle.objects.get().skills == ["fridge"]
        driver = Driver.objects.select_related("default_vehicle", "user").get()
        assert (driver.default_vehicle.name, driver.user.email) == ("Van 1", "dora@fleet.test")
