"""A driver signing in lands on the driver app, not on a 403 (issue 17), even when the
sign-in page was reached from a dispatcher's page."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD
from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser


def test_a_driver_signing_in_lands_on_the_driver_app(live_server_url, django_db_blocker, page):
    from accounts.models import User
    from dispatch.models import Driver

    email = "driver@landing.test"
    tenant = live_tenant(django_db_blocker, live_server_url, "landing", users=((email, "driver"),))
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        Driver.objects.create(name="Lena Landing", user=User.objects.get(email=email))

    sign_in(page, tenant, email)
    page.wait_for_url(f"{tenant.url}/driver/")
    page.get_by_role("heading", name="My route").wait_for()
    assert page.get_by_role("button", name="Start shift").count() == 1
    assert page.get_by_text("Not allowed").count() == 0

    # signed out, then sent to sign in from a dispatcher's page: still the driver app
    page.get_by_role("tab", name="More").click()  # the driver app's own menu
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{tenant.url}/login/")  # the app clears the phone first, then signs out
    page.goto(f"{tenant.url}/orders/")
    page.wait_for_url(f"{tenant.url}/login/?next=/orders/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{tenant.url}/driver/")
    page.get_by_role("heading", name="My route").wait_for()
