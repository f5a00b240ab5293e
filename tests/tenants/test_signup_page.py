"""The sign-up page (issue 17): the host shown as text, a usable time-zone list, and the
one-time sign-in that takes the new owner to their own host (tenants.services.handover)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.conftest import PASSWORD, host_client

FORM = {
    "name": "Green Grocer",
    "slug": "green-grocer",
    "owner_name": "Gus",
    "owner_email": "gus@green.test",
    "owner_password": PASSWORD,
    "country": "DE",
    "time_zone": "Europe/Berlin",
}
HANDOVER_LINK = re.compile(r'href="http://([a-z0-9.-]+)/login/handover/([A-Za-z0-9_-]+)"')


def sign_up(**changes) -> tuple[str, str]:
    """Sign up on the public host's page; the new host and the handover token."""
    response = host_client("localhost").post("/", {**FORM, **changes})
    assert response.status_code == 200
    found = HANDOVER_LINK.search(response.content.decode())
    assert found, response.content.decode()
    connection.set_schema_to_public()
    return found.group(1), found.group(2)


def options_of(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select)


def selected_of(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"[^>]*selected', select)


# --- the host, as text ------------------------------------------------------------------


def test_host_help_text_shows_the_dashboard_host_as_text(tenants, settings):
    settings.TENANT_BASE_DOMAIN = "dispatch.example.com"
    page = host_client("localhost").get("/").content.decode()
    assert "<name>" not in page and "<our domain>" not in page  # was read as HTML tags
    text = re.sub(r"<[^>]+>", "", page)
    assert "Your dashboard will be at your-business.dispatch.example.com" in text


def test_host_help_text_shows_the_typed_address_escaped(tenants):
    response = host_client("localhost").post("/", {**FORM, "slug": "<b>x</b>"})
    page = response.content.decode()
    assert "Use 3 to 40 lower-case letters" in page  # the address is refused
    assert "<b>x</b>.localhost" not in page
    assert "&lt;b&gt;x&lt;/b&gt;</span>.localhost" in page


def test_signup_page_loads_its_script_and_no_inline_script(tenants):
    page = host_client("localhost").get("/").content.decode()
    assert '<script src="/static/js/signup.js" defer></script>' in page
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert all('type="application/json"' in attributes for attributes in inline), inline


# --- time zones -------------------------------------------------------------------------


def test_time_zones_offered_are_the_canonical_ones_grouped_by_area(tenants):
    page = host_client("localhost").get("/").content.decode()
    zones = options_of(page, "time_zone")
    assert "Europe/Paris" in zones and "America/Argentina/Buenos_Aires" in zones
    assert "UTC" in zones
    for alias in ("US/Eastern", "Etc/GMT+5", "Asia/Calcutta", "GB", "Europe/Belfast", "EST5EDT"):
        assert alias not in zones, alias
    assert 300 < len(zones) < 500  # not the ~600 raw names
    assert '<optgroup label="Europe">' in page
    assert (
        '<option value="America/Argentina/Buenos_Aires">Argentina / Buenos Aires</option>' in page
    )


def test_time_zone_is_not_utc_by_default_but_left_to_the_browser(tenants):
    page = host_client("localhost").get("/").content.decode()
    assert selected_of(page, "time_zone") == [""]  # "Choose your time zone"
    assert "data-zone-from-browser" in page
    hints = re.search(r'<script id="zone-hints" type="application/json">(.*?)</script>', page)
    assert '"FR": ["Europe/Paris"]' in hints.group(1)
    assert '"Asia/Calcutta": "Asia/Kolkata"' in hints.group(1)


def test_browser_language_guesses_country_and_zone(tenants):
    client = host_client("localhost")
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5").content.decode()
    assert selected_of(page, "time_zone") == ["Europe/Paris"]
    assert 'name="country" value="FR"' in page
    # a country of several zones is no guess for the zone
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert selected_of(page, "time_zone") == [""]


def test_no_zone_chosen_takes_the_country_zone_or_asks(tenants):
    from tenants.models import Tenant

    host, _ = sign_up(slug="zone-from-country", time_zone="", country="FR")
    assert host == "zone-from-country.localhost"
    assert Tenant.objects.get(slug="zone-from-country").time_zone == "Europe/Paris"

    response = host_client("localhost").post("/", {**FORM, "time_zone": "", "country": "US"})
    assert "Choose the time zone your deliveries run in." in response.content.decode()
    assert not Tenant.objects.filter(slug=FORM["slug"]).exists()


def test_settings_keep_a_zone_saved_before_the_list_was_limited(alpha):
    from tenants.forms import TenantSettingsForm

    form = TenantSettingsForm(initial={"time_zone": "US/Eastern"})
    values = [
        value
        for _, group in form.fields["time_zone"].choices
        if isinstance(group, list)
        for value, _ in group
    ]
    assert "US/Eastern" in values and "Europe/London" in values


# --- the handover to the new host ---------------------------------------------------------


def test_signup_hands_the_owner_over_to_the_new_host_signed_in(tenants):
    from audit.models import AuditEvent

    host, token = sign_up()
    assert host == "green-grocer.localhost"
    client = host_client(host)
    assert client.get("/").status_code == 302  # not signed in on the new host yet

    confirm = client.get(f"/login/handover/{token}")
    assert confirm.status_code == 200
    assert "Continue as <strong>gus@green.test</strong>" in confirm.content.decode()
    assert confirm["Referrer-Policy"] == "same-origin"
    assert client.get("/").status_code == 302  # looking at the link does not sign in

    response = client.post(f"/login/handover/{token}")
    assert (response.status_code, response["Location"]) == (302, "/")
    home = client.get("/")
    assert home.status_code == 200 and "Good to see you, Gus" in home.content.decode()
    assert "Getting started" in home.content.decode()  # a new account: the checklist
    with schema_context("green_grocer"):
        event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN)
    assert (event.target, event.detail) == ("gus@green.test", {"via": "sign-up handover"})


def test_a_handover_signs_in_once(tenants):
    host, token = sign_up()
    assert host_client(host).post(f"/login/handover/{token}").status_code == 302

    replay = host_client(host)
    response = replay.post(f"/login/handover/{token}")
    assert response.status_code == 410
    assert "This sign-in link has already been used." in response.content.decode()
    assert replay.get(f"/login/handover/{token}").status_code == 410
    assert replay.get("/").status_code == 302  # not signed in


def test_an_expired_handover_is_refused(tenants):
    from tenants.models import LoginHandover
    from tenants.services.handover import HANDOVER_LIFETIME

    host, token = sign_up()
    handover = LoginHandover.objects.get(tenant__slug="green-grocer")
    assert handover.expires_at - handover.created_at <= HANDOVER_LIFETIME
    assert timedelta(minutes=10) >= HANDOVER_LIFETIME  # long enough to read, not to keep
    LoginHandover.objects.filter(pk=handover.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = host_client(host)
    for response in (
        client.get(f"/login/handover/{token}"),
        client.post(f"/login/handover/{token}"),
    ):
        assert response.status_code == 410
        assert "This sign-in link has expired." in response.content.decode()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("waited", "status"),
    [(timedelta(minutes=9, seconds=50), 302), (timedelta(minutes=10, seconds=1), 410)],
)
def test_a_handover_waits_ten_minutes_for_the_owner(tenants, waited, status):
    """The owner may read the "Continue" page a while before pressing it (a 60 s token
    had expired by then); past ten minutes the link is gone."""
    import time_machine

    host, token = sign_up()
    client = host_client(host)
    with time_machine.travel(timezone.now() + waited, tick=False):
        assert client.get(f"/login/handover/{token}").status_code == (200 if status == 302 else 410)
        response = client.post(f"/login/handover/{token}")
    assert response.status_code == status
    if status == 410:
        assert "This sign-in link has expired." in response.content.decode()


def test_a_handover_posted_without_its_csrf_token_is_refused_and_not_spent(tenants):
    """The Continue POST carries the page's CSRF token (the test client's default skips
    the check; a browser's forged cross-site POST must not sign anyone in, nor burn it)."""
    from django.test import Client

    from tenants.models import LoginHandover

    host, token = sign_up()
    strict = Client(enforce_csrf_checks=True, HTTP_HOST=host)
    refused = strict.post(f"/login/handover/{token}")
    assert refused.status_code == 403
    assert strict.get("/").status_code == 302  # nobody signed in
    assert LoginHandover.objects.get(tenant__slug="green-grocer").used_at is None

    page = strict.get(f"/login/handover/{token}")  # the Continue page sets the CSRF cookie
    assert page.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert csrf, page.content.decode()
    assert strict.post(f"/login/handover/{token}").status_code == 403  # the cookie alone
    assert LoginHandover.objects.get(tenant__slug="green-grocer").used_at is None
    response = strict.post(f"/login/handover/{token}", {"csrfmiddlewaretoken": csrf.group(1)})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert strict.get("/").status_code == 200  # signed in with the token kept by the 403


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character changed
        lambda token: token[:-1],
        lambda token: token + "x",
        lambda token: "x" * 5000,
        lambda token: "%00%ff%c3%28",
        lambda token: "%27%20OR%201%3D1%20--",
    ],
)
def test_a_tampered_handover_is_refused_never_a_500(tenants, tamper):
    host, token = sign_up()
    client = host_client(host)
    for method in (client.get, client.post):
        response = method(f"/login/handover/{tamper(token)}")
        assert response.status_code == 404
        assert "This sign-in link is not valid for this address." in response.content.decode()
    assert client.get("/").status_code == 302
    assert client.post(f"/login/handover/{token}").status_code == 302  # the real one still works


def test_a_handover_of_one_tenant_is_refused_on_another_tenants_host(tenants, alpha, beta):
    from tenants.services.handover import handover_create

    token = handover_create(tenant=alpha.tenant, email=alpha.owner_email)
    on_beta = host_client(beta.host)
    for method in (on_beta.get, on_beta.post):
        response = method(f"/login/handover/{token}")
        assert response.status_code == 404
    assert on_beta.get("/").status_code == 302  # nobody signed in on beta's host
    connection.set_schema_to_public()

    on_alpha = host_client(alpha.host)
    assert on_alpha.post(f"/login/handover/{token}").status_code == 302
    assert on_alpha.get("/api/v1/me").json()["email"] == alpha.owner_email


def test_handover_of_a_deactivated_user_is_refused(alpha):
    from accounts.models import User
    from tenants.services.handover import handover_create

    token = handover_create(tenant=alpha.tenant, email=alpha.dispatcher_email)
    with schema_context(alpha.tenant.schema_name):
        User.objects.filter(email=alpha.dispatcher_email).update(is_active=False)
    assert host_client(alpha.host).post(f"/login/handover/{token}").status_code == 404


def test_handover_is_no_page_of_the_public_host(tenants):
    _, token = sign_up()
    assert host_client("localhost").post(f"/login/handover/{token}").status_code == 404


def test_the_signup_done_page_links_the_handover_and_the_login_page(tenants):
    response = host_client("localhost").post("/", FORM)
    page = response.content.decode()
    assert 'id="tenant-handover"' in page and "data-follow" in page
    assert "This link signs you in once, within 10 minutes." in page
    assert 'href="http://green-grocer.localhost/login/"' in page
    assert response["Cache-Control"] == "no-store"
