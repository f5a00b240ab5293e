"""X-Forwarded-Proto (and -Host, -Port) are believed only from TRUSTED_PROXIES, as
X-Forwarded-For is (issue 22 review): a client reaching the web process directly cannot
say it used HTTPS and so skip the HTTPS redirect or have https URLs built for it."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.http import HttpResponse
from django.test import RequestFactory

from core.http import ForwardedHeadersMiddleware
from tests.conftest import PASSWORD, api_client, host_client

SPOOFED = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_HOST": "evil.example"}


@pytest.fixture
def behind_tls(settings):
    """The production settings' reading of X-Forwarded-Proto, one proxy network trusted."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    return settings


def test_the_headers_are_dropped_before_any_other_middleware_reads_them():
    assert django_settings.MIDDLEWARE[0] == "core.http.ForwardedHeadersMiddleware"
    security = django_settings.MIDDLEWARE.index("django.middleware.security.SecurityMiddleware")
    assert security > 0


@pytest.mark.parametrize(
    ("peer", "secure", "url"),
    [
        ("203.0.113.5", False, "http://localhost/x"),  # a client, directly
        ("10.0.0.2", True, "https://localhost/x"),  # the proxy
    ],
)
def test_only_a_trusted_proxy_makes_a_request_secure(behind_tls, peer, secure, url):
    seen = {}

    def view(request):
        seen.update(secure=request.is_secure(), url=request.build_absolute_uri("/x"))
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_HOST="localhost", **SPOOFED)
    ForwardedHeadersMiddleware(view)(request)
    assert seen == {"secure": secure, "url": url}
    assert ("HTTP_X_FORWARDED_HOST" in request.META) is secure


def test_a_spoofed_https_does_not_skip_the_https_redirect(alpha, behind_tls):
    behind_tls.SECURE_SSL_REDIRECT = True
    spoofed = host_client(alpha.host).get("/login/", REMOTE_ADDR="203.0.113.5", **SPOOFED)
    assert spoofed.status_code == 301
    assert spoofed["Location"] == f"https://{alpha.host}/login/"
    proxied = host_client(alpha.host).get("/login/", REMOTE_ADDR="10.0.0.2", **SPOOFED)
    assert proxied.status_code == 200


def test_a_spoofed_https_builds_no_https_urls(tenants, behind_tls):
    def signup(slug: str, peer: str) -> dict:
        body = {
            "name": slug.title(),
            "slug": slug,
            "owner_email": f"me@{slug}.test",
            "owner_password": PASSWORD,
            "country": "DE",
            "time_zone": "Europe/Berlin",
        }
        client = api_client("localhost")
        answer = client.post("/api/v1/signup", body, format="json", REMOTE_ADDR=peer, **SPOOFED)
        assert answer.status_code == 201, answer.content
        return answer.json()

    assert signup("spoofer", "203.0.113.5")["url"].startswith("http://spoofer.localhost")
    assert signup("proxied", "10.0.0.2")["url"].startswith("https://proxied.localhost")
