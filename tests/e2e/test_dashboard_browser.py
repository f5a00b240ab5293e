"""The foundation's flows, clicked through in headless Chromium against the running web process."""

from __future__ import annotations

import json
import secrets
import urllib.request
from urllib.error import HTTPError

import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser


def api_me(port: str, host: str, key: str) -> tuple[int, dict]:
    """GET /api/v1/me on `host` (sent as the Host header to the loopback server)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/me",
        headers={"Authorization": f"Bearer {key}", "Host": host},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_sign_up_sign_in_create_and_revoke_an_api_key(live_server_url, page):
    slug = f"e2e-{secrets.token_hex(3)}"
    port = live_server_url.rsplit(":", 1)[1]

    page.goto(f"{live_server_url}/")
    page.get_by_label("Business name").fill("E2E Couriers")
    page.get_by_label("Address").fill(slug)
    page.get_by_label("Your name").fill("Erin")
    page.get_by_label("Your email").fill("erin@e2e.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_label("Country").fill("FR")
    page.get_by_role("button", name="Create account").click()

    # the welcome page hands the owner over to the new host (tenants.services.handover)
    page.get_by_role("heading", name="Welcome to E2E Couriers").wait_for()
    assert page.url.startswith(f"http://{slug}.localhost:{port}/login/handover/")
    page.get_by_role("button", name="Continue to your dashboard").click()
    page.get_by_role("heading", name="Getting started").wait_for()  # a new account's overview
    assert "Good to see you, Erin" in page.locator(".ov-greeting").inner_text()
    assert "E2E Couriers" in page.title()

    page.locator(".account summary").click()
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("Shopify store")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create key").click()

    secret = page.locator("#new-api-key").inner_text()
    status, body = api_me(port, f"{slug}.localhost:{port}", secret)
    assert (status, body["scope"]) == (200, "read")
    assert api_me(port, f"alpha.localhost:{port}", secret)[0] == 401  # another tenant's host

    page.reload()
    assert page.locator("#new-api-key").count() == 0  # shown once
    row = page.locator("tr", has_text="Shopify store")
    assert "Active" in row.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    page.get_by_text("API key 'Shopify store' is revoked.").wait_for()
    assert "Revoked" in page.locator("tr", has_text="Shopify store").inner_text()
    assert api_me(port, f"{slug}.localhost:{port}", secret)[0] == 401

    page.locator(".account summary").click()
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to E2E Couriers").wait_for()


def test_a_driver_is_kept_out_of_the_dashboard(live_server_url, page, django_db_blocker):
    tenant = live_tenant(
        django_db_blocker,
        live_server_url,
        "drivercheck",
        users=(("d@driver-check.test", "driver"),),
    )
    sign_in(page, tenant, "d@driver-check.test")
    page.wait_for_url(f"{tenant.url}/driver/")  # signing in lands on the driver app
    page.goto(f"{tenant.url}/")
    page.get_by_text("Drivers use the driver app").wait_for()
    assert page.get_by_role("link", name="Team").count() == 0
