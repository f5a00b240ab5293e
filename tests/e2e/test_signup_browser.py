"""Sign-up in the browser (issue 17): the browser's time zone is chosen, the host is shown
as the name is typed, and the new owner lands on their own host signed in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD
from tests.e2e.conftest import csp_checked_page

pytestmark = pytest.mark.browser


@pytest.fixture
def paris_page(browser) -> Iterator[object]:
    """A page of a browser in Paris whose language says nothing of the country (en-US):
    the zone can only come from the browser's clock settings. Fails on CSP violations."""
    with csp_checked_page(browser, timezone_id="Europe/Paris", locale="en-US") as page:
        yield page


def test_sign_up_picks_the_browser_zone_and_lands_signed_in_on_the_new_host(
    live_server_url, paris_page, django_db_blocker
):
    from audit.models import AuditEvent
    from tenants.models import Tenant

    page = paris_page
    port = live_server_url.rsplit(":", 1)[1]
    page.goto(f"{live_server_url}/")
    zone = page.get_by_label("Time zone")
    assert zone.input_value() == "Europe/Paris"  # the server left it to the browser
    assert page.get_by_label("Country").input_value() == "FR"  # the zone's, not en-US's

    # A country typed moves the zone along, while the owner has not chosen one.
    page.get_by_label("Country").fill("GB")
    assert zone.input_value() == "Europe/London"
    page.get_by_label("Country").fill("US")
    assert zone.input_value() == ""  # several zones: the owner chooses
    page.get_by_label("Country").fill("FR")
    assert zone.input_value() == "Europe/Paris"

    # The host is shown as text, following the name until the address is typed.
    preview = page.locator("[data-host-slug]")
    assert preview.inner_text() == "your-business"
    page.get_by_label("Business name").fill("Café Olé Parcels")
    assert page.get_by_label("Address").input_value() == "cafe-ole-parcels"
    assert preview.inner_text() == "cafe-ole-parcels"
    assert (
        "Your dashboard will be at cafe-ole-parcels.localhost"
        in page.locator("#id_slug_helptext").inner_text()
    )
    slug = f"paris-{secrets.token_hex(3)}"
    page.get_by_label("Address").fill(slug)
    assert preview.inner_text() == slug

    page.get_by_label("Your name").fill("Pat")
    page.get_by_label("Your email").fill("pat@paris.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # The welcome page goes on to the new host's one-time sign-in by itself.
    page.get_by_role("heading", name="Welcome to Café Olé Parcels").wait_for()
    assert page.url.startswith(f"http://{slug}.localhost:{port}/login/handover/")
    page.get_by_role("button", name="Continue to your dashboard").click()
    page.get_by_role("heading", name="No plan for today yet").wait_for()  # the overview
    assert "Good to see you, Pat" in page.locator(".ov-greeting").inner_text()
    assert page.url == f"http://{slug}.localhost:{port}/"

    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug=slug)
        assert tenant.time_zone == "Europe/Paris"
        with schema_context(tenant.schema_name):
            event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN)
            assert event.detail == {"via": "sign-up handover"}

    # the link is spent: going back to it signs nobody in
    page.go_back()
    page.get_by_role("heading", name="This sign-in link has already been used.").wait_for()
