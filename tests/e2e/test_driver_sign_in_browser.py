"""An owner adds a driver with their sign-in on the driver form (no Team page first), and
the driver signs in to the driver app with it (issue 17). A dispatcher adds drivers on the
same form but is offered no sign-in: choosing a driver's password is the owner's."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser

DRIVER_PASSWORD = "night-van-keys-2047"


def test_driver_form_creates_a_driver_who_then_signs_in(live_server_url, page, django_db_blocker):
    from dispatch.models import Driver

    tenant = live_tenant(django_db_blocker, live_server_url, "drvsignin")
    sign_in(page, tenant, tenant.owner_email)
    page.get_by_role("link", name="Drivers", exact=True).click()  # not "Add your drivers"
    page.get_by_role("link", name="New driver").click()

    page.get_by_label("Name").fill("Nia Night")
    assert (
        "For example 07400 123456 or +44 7400 123456"
        in page.locator("#id_phone_helptext").inner_text()
    )
    page.get_by_label("Phone").fill("(07700) 900 123")  # refused before issue 17
    page.get_by_label("New sign-in email").fill("Nia@DrvSignin.test")
    page.get_by_label("New sign-in password").fill(DRIVER_PASSWORD)
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Nia Night saved; they sign in as nia@drvsignin.test.").wait_for()
    row = page.get_by_role("row", name="Nia Night")
    for text in ("07700 900123", "nia@drvsignin.test"):  # stored as +447700900123
        assert text in row.inner_text().replace("\u00a0", " "), text

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        driver = Driver.objects.select_related("user").get(name="Nia Night")
        assert (driver.user.email, driver.user.role) == ("nia@drvsignin.test", "driver")

    page.locator(".account summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill("nia@drvsignin.test")
    page.get_by_label("Password").fill(DRIVER_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)  # signed in
    page.goto(f"{tenant.url}/driver/")
    page.get_by_text("No published route for you today or later yet.").wait_for()
    assert page.get_by_text("Your account is not linked to a driver").count() == 0


def test_a_dispatcher_adds_a_driver_but_is_offered_no_sign_in(
    live_server_url, page, django_db_blocker
):
    from dispatch.models import Driver

    tenant = live_tenant(
        django_db_blocker, live_server_url, "drvnosign", users=(("d@drvnosign.test", "dispatcher"),)
    )
    sign_in(page, tenant, "d@drvnosign.test")
    page.get_by_role("link", name="Drivers").click()
    page.get_by_role("link", name="New driver").click()

    page.get_by_label("Name").fill("Ola Other")
    assert page.get_by_label("New sign-in email").count() == 0
    assert page.get_by_label("New sign-in password").count() == 0
    assert "an owner gives new sign-ins" in page.locator("#id_user_helptext").inner_text()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Ola Other saved.").wait_for()
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert Driver.objects.get(name="Ola Other").user_id is None
