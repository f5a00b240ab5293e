"""Sign-up is rate limited on the page as on the API (issue 22): per client address
(SIGNUP_RATE) and for everyone together (SIGNUP_GLOBAL_RATE), with the same counters; past
either, a 429 that says when to try again, and nothing is created."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from tenants.models import Tenant
from tests.conftest import api_client, host_client

BAD_FORM = {"name": "Limited", "slug": "www"}  # refused (reserved host), nothing created
GOOD_FORM = {
    "name": "Late Grocer",
    "slug": "late-grocer",
    "owner_email": "me@late.test",
    "owner_name": "Lee",
    "owner_password": "correct-horse-battery-9",
    "country": "GB",
    "time_zone": "Europe/London",
}


@pytest.fixture
def rates() -> Iterator:
    """Sets the sign-up rates for one test, in an empty cache."""
    original = SimpleRateThrottle.THROTTLE_RATES

    def choose(per_address: str, everyone: str) -> None:
        SimpleRateThrottle.THROTTLE_RATES = {
            **original,
            "signup": per_address,
            "signup_global": everyone,
        }

    cache.clear()
    yield choose
    SimpleRateThrottle.THROTTLE_RATES = original
    cache.clear()


def page(ip: str, form: dict = BAD_FORM, **headers):
    return host_client("localhost").post("/", form, REMOTE_ADDR=ip, **headers)


def api(ip: str, body: dict = BAD_FORM):
    return api_client("localhost").post("/api/v1/signup", body, format="json", REMOTE_ADDR=ip)


def test_the_page_refuses_a_third_sign_up_from_one_address(tenants, rates):
    rates("2/hour", "100/hour")
    answers = [page("198.51.100.1") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert b"Too many sign-ups" in refused.content and b"try again in" in refused.content
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert page("198.51.100.2").status_code == 200  # another address has its own budget
    assert host_client("localhost").get("/", REMOTE_ADDR="198.51.100.1").status_code == 200


def test_a_refused_sign_up_creates_nothing(tenants, rates):
    rates("1/hour", "100/hour")
    assert page("198.51.100.3").status_code == 200
    assert page("198.51.100.3", GOOD_FORM).status_code == 429
    assert not Tenant.objects.filter(slug="late-grocer").exists()


def test_the_page_and_the_api_share_one_count_per_address(tenants, rates):
    rates("2/hour", "100/hour")
    assert page("198.51.100.4").status_code == 200
    assert api("198.51.100.4").status_code == 400
    assert page("198.51.100.4").status_code == 429
    refused = api("198.51.100.4")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1


def test_everyone_together_is_capped_too(tenants, rates):
    rates("100/hour", "1/hour")
    assert page("203.0.113.1", GOOD_FORM).status_code == 200
    assert Tenant.objects.filter(slug="late-grocer").exists()
    another = {**GOOD_FORM, "slug": "later-grocer", "owner_email": "me@later.test"}
    refused = page("203.0.113.50", another)  # a new address, over the global cap
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 3600
    refused = api("203.0.113.51", another)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert not Tenant.objects.filter(slug="later-grocer").exists()


def test_only_valid_sign_ups_count_for_everyone(tenants, rates):
    """(issue 22 review) Invalid forms and bodies, from any number of addresses, use up
    nothing of SIGNUP_GLOBAL_RATE."""
    rates("100/hour", "1/hour")
    assert [page(f"203.0.113.{n}").status_code for n in range(1, 4)] == [200] * 3
    assert [api(f"203.0.113.{n}").status_code for n in range(4, 7)] == [400] * 3
    assert page("203.0.113.7", GOOD_FORM).status_code == 200
    assert Tenant.objects.filter(slug="late-grocer").exists()


@pytest.mark.parametrize("through", ["page", "api"])
def test_one_address_past_its_limit_does_not_stop_others_signing_up(tenants, rates, through):
    """(issue 22 review) Tries refused by their own address's limit stop there: they do
    not count for everyone, so one address hammering cannot block every sign-up."""
    rates("2/hour", "3/hour")
    hammering = [page("198.51.100.20").status_code for _ in range(4)]
    hammering += [api("198.51.100.20").status_code for _ in range(4)]
    assert hammering == [200, 200] + [429] * 6
    if through == "page":
        assert page("198.51.100.21", GOOD_FORM).status_code == 200
    else:
        assert api("198.51.100.21", GOOD_FORM).status_code == 201
    assert Tenant.objects.filter(slug="late-grocer").exists()


def test_behind_a_trusted_proxy_the_limit_is_per_client_and_spoofing_does_not_help(
    tenants, rates, settings
):
    rates("1/hour", "100/hour")
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 10.0.0.2"}
    assert page("10.0.0.1", **via_proxy).status_code == 200
    assert page("10.0.0.1", **via_proxy).status_code == 429
    other = {"HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert page("10.0.0.1", **other).status_code == 200
    # a client reaching the server directly cannot pick a new address per try
    direct = [
        page("198.51.100.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(2)
    ]
    assert direct == [200, 429]
