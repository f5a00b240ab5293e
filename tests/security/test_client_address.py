"""The client's address (issue 22): X-Forwarded-For is believed only from TRUSTED_PROXIES,
and then its rightmost address that is not a trusted proxy is the client. Rate limits,
sign-in lockouts, the audit log and the tracking page's guess counter all use it."""

from __future__ import annotations

import ipaddress

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django_tenants.utils import schema_context
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from core.http import client_address, proxy_networks
from tests.conftest import PASSWORD, host_client

PROXIES = proxy_networks(["10.0.0.0/8", "2001:db8::/32", "127.0.0.1"])
ipv4 = st.ip_addresses(v=4).map(str)
public_ipv4 = ipv4.filter(
    lambda a: ipaddress.ip_address(a) not in ipaddress.ip_network("10.0.0.0/8") and a != "127.0.0.1"
)
proxy_hop = st.one_of(
    st.integers(0, 2**24 - 1).map(lambda n: str(ipaddress.IPv4Address(0x0A000000 + n))),
    st.integers(0, 2**96 - 1).map(lambda n: str(ipaddress.IPv6Address((0x20010DB8 << 96) + n))),
    st.just("127.0.0.1"),
)
header_text = st.text(st.characters(codec="latin-1"), max_size=80)


@settings(max_examples=300, deadline=None)
@given(peer=public_ipv4, forwarded=header_text)
def test_a_forwarded_header_from_an_untrusted_peer_is_ignored(peer, forwarded):
    assert client_address(peer, forwarded, PROXIES) == peer


@settings(max_examples=300, deadline=None)
@given(
    claimed=st.lists(st.one_of(header_text.map(lambda t: t.replace(",", "")), ipv4), max_size=4),
    client=public_ipv4,
    hops=st.lists(proxy_hop, max_size=4),
    peer=proxy_hop,
)
def test_from_trusted_proxies_the_rightmost_untrusted_address_is_the_client(
    claimed, client, hops, peer
):
    """Whatever the client wrote to the left, the address our proxies saw wins."""
    forwarded = ", ".join([*claimed, client, *hops])
    assert client_address(peer, forwarded, PROXIES) == client


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "198.51.100.7:4711, 10.1.2.3", "198.51.100.7"),
        ("::ffff:10.0.0.9", "[2001:db9::1]:443", "2001:db9::1"),
        ("127.0.0.1", "not-an-address, 10.0.0.2", "10.0.0.2"),  # garbage: its sender is known
        ("127.0.0.1", "10.0.0.2, 10.0.0.3", "10.0.0.2"),  # only proxies: the farthest
        ("127.0.0.1", "", "127.0.0.1"),
        ("203.0.113.5", "198.51.100.7", "203.0.113.5"),
        (None, "198.51.100.7", None),
    ],
)
def test_client_address_examples(peer, forwarded, client):
    assert client_address(peer, forwarded, PROXIES) == client


def _signups(**headers) -> list[int]:
    from rest_framework.throttling import SimpleRateThrottle

    from tests.conftest import api_client

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = {**original, "signup": "2/hour"}
    cache.clear()
    try:
        codes = []
        for n in range(3):
            client = api_client("localhost")
            extra = {k: v.format(n=n) for k, v in headers.items()}
            codes.append(client.post("/api/v1/signup", {"slug": "www"}, **extra).status_code)
        return codes
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
        cache.clear()


def test_a_spoofed_forwarded_header_does_not_escape_the_api_rate_limit(tenants, settings):
    settings.TRUSTED_PROXIES = []
    codes = _signups(HTTP_X_FORWARDED_FOR="198.51.100.{n}")
    assert codes == [400, 400, 429]


def test_behind_a_trusted_proxy_each_client_has_its_own_budget(tenants, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # the test client's address
    codes = _signups(HTTP_X_FORWARDED_FOR="198.51.100.{n}, 127.0.0.1")
    assert codes == [400, 400, 400]


def _login(host: str, password: str, forwarded: str):
    return host_client(host).post(
        "/login/",
        {"username": "shared@example.test", "password": password},
        REMOTE_ADDR="10.9.8.7",
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_sign_in_lockouts_count_the_client_behind_a_trusted_proxy(alpha, beta, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    answers = [_login(alpha.host, "wrong", "198.51.100.20").status_code for _ in range(5)]
    try:
        assert answers[-1] == 429
        # another client through the same proxy is not locked out, nor is beta
        assert _login(alpha.host, f"alpha-{PASSWORD}", "198.51.100.21").status_code == 302
        assert _login(beta.host, f"beta-{PASSWORD}", "198.51.100.20").status_code == 302
        with schema_context(alpha.tenant.schema_name):
            ips = set(AuditEvent.objects.filter(action="login.failed").values_list("ip", flat=True))
            assert "198.51.100.20" in ips and "10.9.8.7" not in ips
    finally:
        with schema_context(alpha.tenant.schema_name):
            AccessAttempt.objects.all().delete()


@pytest.mark.django_db
def test_sign_in_lockouts_ignore_a_forwarded_header_from_an_untrusted_peer(alpha, settings):
    settings.TRUSTED_PROXIES = []
    try:
        answers = [_login(alpha.host, "wrong", f"198.51.100.{n}").status_code for n in range(5)]
        assert answers[-1] == 429  # one address (the peer's) however the header varies
    finally:
        with schema_context(alpha.tenant.schema_name):
            AccessAttempt.objects.all().delete()


def test_tracking_link_guesses_count_the_peer_whatever_it_claims(tenants, settings):
    settings.TRUSTED_PROXIES = []
    settings.TRACKING_GUESS_LIMIT = 3
    cache.clear()
    try:
        client = host_client("localhost")
        codes = [
            client.get(f"/t/nope{n}", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
            for n in range(4)
        ]
        assert codes == [404, 404, 404, 429]
        settings.TRUSTED_PROXIES = ["127.0.0.1"]
        assert client.get("/t/nope", HTTP_X_FORWARDED_FOR="198.51.100.77").status_code == 404
    finally:
        cache.clear()
