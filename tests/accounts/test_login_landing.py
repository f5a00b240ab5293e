"""Signing in lands each role on a page of its own (issue 17: a driver signing in at
/login/ landed on a 403): the driver app for drivers, the dashboard for owners and
dispatchers; a safe `next` page is honoured only when the role may open it."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, host_client, login_client

HOMES = {"owner": "/", "dispatcher": "/", "driver": "/driver/"}


def _sign_in(host: str, email: str, *, next_url: str | None = None):
    """POST the sign-in form (`next` in the query, as the login redirect puts it) and
    follow the redirects: the final response and the path it came from."""
    url = "/login/" if next_url is None else f"/login/?next={next_url}"
    response = host_client(host).post(url, {"username": email, "password": PASSWORD}, follow=True)
    path = response.redirect_chain[-1][0] if response.redirect_chain else url
    return response, path


@pytest.mark.parametrize("role", ["owner", "dispatcher", "driver"])
def test_each_role_lands_on_its_own_home(alpha, role):
    response, path = _sign_in(alpha.host, getattr(alpha, f"{role}_email"))
    assert (path, response.status_code) == (HOMES[role], 200)
    assert b"Not allowed" not in response.content


@pytest.mark.parametrize(
    ("role", "next_url", "lands"),
    [
        ("driver", "/orders/", "/driver/"),  # a dispatcher's page: the driver's home instead
        ("driver", "/team/", "/driver/"),
        ("driver", "/driver/", "/driver/"),
        ("dispatcher", "/orders/", "/orders/"),
        ("dispatcher", "/team/", "/"),  # the owner's page
        ("dispatcher", "/driver/", "/"),  # a driver's page
        ("owner", "/team/", "/team/"),
        ("owner", "/orders/?status=unassigned", "/orders/?status=unassigned"),
        ("dispatcher", "https://evil.example/orders/", "/"),  # another host: never followed
        ("dispatcher", "//evil.example/", "/"),
        ("dispatcher", "/no-such-page/", "/"),
        ("dispatcher", "/logout/", "/"),  # not a page to land on
    ],
)
def test_next_is_followed_only_to_a_page_the_role_may_open(alpha, role, next_url, lands):
    response, path = _sign_in(alpha.host, getattr(alpha, f"{role}_email"), next_url=next_url)
    assert (path, response.status_code) == (lands, 200)


def test_a_driver_sent_to_sign_in_from_a_dispatcher_page_lands_on_the_driver_app(alpha):
    client = host_client(alpha.host)
    to_login = client.get("/orders/")
    assert to_login.status_code == 302 and to_login["Location"] == "/login/?next=/orders/"
    response = client.post(
        to_login["Location"], {"username": alpha.driver_email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/driver/" and response.status_code == 200
    assert b"My route" in response.content


def test_a_signed_in_driver_opening_the_sign_in_page_goes_to_the_driver_app(alpha):
    driver = login_client(alpha.host, alpha.driver_email)
    response = driver.get("/login/")
    assert response.status_code == 302 and response["Location"] == "/driver/"


def test_the_brand_in_the_top_bar_leads_each_role_home(alpha):
    page = login_client(alpha.host, alpha.driver_email).get("/driver/").content.decode()
    assert '<a class="brand" href="/driver/">' in page
    page = login_client(alpha.host, alpha.dispatcher_email).get("/orders/").content.decode()
    assert '<a class="brand" href="/">' in page
