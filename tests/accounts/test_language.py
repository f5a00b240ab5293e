"""A person picks the language of their own pages; an owner sets each team member's."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django_tenants.utils import schema_context

from accounts.models import User
from tests.conftest import host_client, login_client

pytestmark = pytest.mark.django_db


def _lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


def _language_of(fixture, email: str) -> str:
    with schema_context(fixture.tenant.schema_name):
        return User.objects.get(email=email).language


def test_the_top_bar_offers_every_language_by_its_own_name(alpha):
    body = login_client(alpha.host, alpha.dispatcher_email).get("/orders/").content.decode()
    assert 'action="/account/language/"' in body
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}" lang="{code}">{name}</option>' in body
    assert '<option value="" selected>' in body  # automatic, until chosen


def test_picking_a_language_saves_it_and_the_next_page_is_in_it(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post("/account/language/", {"language": "fi", "next": "/orders/"})
    assert response.status_code == 302 and response["Location"] == "/orders/"
    assert _language_of(alpha, alpha.dispatcher_email) == "fi"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fi"
    page = client.get("/orders/")
    assert _lang(page) == "fi"
    assert '<option value="fi" lang="fi" selected>' in page.content.decode()
    # twice is the same as once
    assert client.post("/account/language/", {"language": "fi"}).status_code == 302
    assert _language_of(alpha, alpha.dispatcher_email) == "fi"
    # back to automatic: the business's language
    response = client.post("/account/language/", {"language": "", "next": "/orders/"})
    assert _language_of(alpha, alpha.dispatcher_email) == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""  # deleted
    assert _lang(client.get("/orders/")) == "en"


def test_an_unknown_language_is_refused_and_nothing_changes(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post("/account/language/", {"language": "xx", "next": "/orders/"})
    assert response.status_code == 302
    assert _language_of(alpha, alpha.dispatcher_email) == ""
    assert "Choose one of the languages offered." in client.get("/orders/").content.decode()


def test_the_way_back_never_leaves_this_host(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post(
        "/account/language/", {"language": "de", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_only_signed_in_people_pick_a_language(alpha):
    response = host_client(alpha.host).post("/account/language/", {"language": "fi"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert host_client(alpha.host).get("/account/language/").status_code in (302, 405)


def test_a_driver_picks_their_own_language_too(alpha):
    client = login_client(alpha.host, alpha.driver_email)
    assert client.post("/account/language/", {"language": "es"}).status_code == 302
    assert _language_of(alpha, alpha.driver_email) == "es"


def test_the_owner_sets_a_team_members_language_on_the_team_page(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    member = alpha.user_ids[alpha.dispatcher_email]
    page = owner.get("/team/").content.decode()
    assert f'action="/team/{member}/language/"' in page
    assert owner.post(f"/team/{member}/language/", {"language": "de"}).status_code == 302
    assert _language_of(alpha, alpha.dispatcher_email) == "de"
    assert 'lang="de" selected' in owner.get("/team/").content.decode()
    # the member's pages follow
    assert _lang(login_client(alpha.host, alpha.dispatcher_email).get("/orders/")) == "de"
    owner.post(f"/team/{member}/language/", {"language": "nope"})
    assert _language_of(alpha, alpha.dispatcher_email) == "de"


def test_a_dispatcher_cannot_set_someone_elses_language(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    owner = alpha.user_ids[alpha.owner_email]
    assert client.post(f"/team/{owner}/language/", {"language": "fi"}).status_code == 403
    assert _language_of(alpha, alpha.owner_email) == ""


def test_an_owner_of_another_tenant_changes_nothing_here(alpha, beta):
    """Ids repeat across schemas: alpha's owner session is nobody on beta's host."""
    alpha_owner = login_client(alpha.host, alpha.owner_email)
    beta_member = beta.user_ids[beta.dispatcher_email]
    alpha_owner.defaults["HTTP_HOST"] = beta.host
    response = alpha_owner.post(f"/team/{beta_member}/language/", {"language": "fi"})
    assert response.status_code in (302, 403)
    assert "/login/" in response.get("Location", "/login/")
    assert _language_of(beta, beta.dispatcher_email) == ""
    response = alpha_owner.post("/account/language/", {"language": "fi"})
    assert "/login/" in response["Location"]
    assert _language_of(beta, beta.owner_email) == ""


def test_a_new_team_member_can_be_given_a_language(alpha):
    owner = login_client(alpha.host, alpha.owner_email)
    response = owner.post(
        "/team/",
        {
            "email": "new@alpha.test",
            "name": "New",
            "role": "driver",
            "language": "fi",
            "password": "a-long-enough-pass-123",
        },
    )
    assert response.status_code == 302
    assert _language_of(alpha, "new@alpha.test") == "fi"
