"""A dispatcher sets up a depot, a van and a driver in the browser."""

from __future__ import annotations

import secrets

import pytest
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_dispatcher_sets_up_depot_vehicle_and_driver(live_server_url, page, django_db_blocker):
    from accounts.services import user_create
    from dispatch.models import Driver, Vehicle
    from tenants.services import tenant_provision

    slug = f"fleet-{secrets.token_hex(3)}"
    with django_db_blocker.unblock():
        tenant = tenant_provision(
            name="Fleet Co", slug=slug, owner_email="o@fleet.test", owner_password=PASSWORD,
            country="GB", create_api_key=False,
        ).tenant  # fmt: skip
        with schema_context(tenant.schema_name):
            user_create(email="d@fleet.test", password=PASSWORD, role="dispatcher")
    port = live_server_url.rsplit(":", 1)[1]
    page.goto(f"http://{slug}.localhost:{port}/login/")
    page.get_by_label("Email").fill("d@fleet.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

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

    with django_db_blocker.unblock(), schema_context(tenant.schema_name):
        assert Vehicle.objects.get().skills == ["fridge"]
        assert Driver.objects.get().default_vehicle.name == "Van 1"
