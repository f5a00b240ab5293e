"""Languages (core/i18n.py): which language each page, order and person gets; the
middleware per kind of page; the JavaScript catalog per language."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import translation

from core import i18n
from tests.conftest import api_client, host_client, login_client

pytestmark = pytest.mark.django_db


def _lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "the page has no <html lang>"
    return match.group(1)


# --- the rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("fr_ca", "fr"),
        (" DE ", "de"),
        ("fi-FI", "fi"),
        ("es-419", "es"),
        ("pt-BR", None),
        ("", None),
        (None, None),
        (42, None),
        ("frx", None),
    ],
)
def test_a_language_is_one_we_ship_read_from_any_tag_of_it(value, code):
    assert i18n.normalize_language(value) == code


@pytest.mark.parametrize(
    ("locale", "language"),
    [("fi", "fi"), ("fi-fi", "fi"), ("en-gb", "en"), ("de", "de"), ("pt-br", "en"), ("", "en")],
)
def test_the_tenants_language_is_its_locales_primary_subtag_when_shipped(locale, language):
    assert i18n.tenant_language(SimpleNamespace(locale=locale)) == language
    assert i18n.tenant_language(None) == "en"


def test_an_order_and_a_person_have_their_own_language_else_the_tenants():
    tenant = SimpleNamespace(locale="de-at")
    assert i18n.order_language(SimpleNamespace(language="fi"), tenant) == "fi"
    assert i18n.order_language(SimpleNamespace(language=""), tenant) == "de"
    assert i18n.order_language(None, tenant) == "de"
    assert i18n.user_language(SimpleNamespace(language="es"), tenant) == "es"
    assert i18n.user_language(SimpleNamespace(language=""), tenant) == "de"
    # a code no longer shipped falls back instead of failing
    assert i18n.user_language(SimpleNamespace(language="xx"), tenant) == "de"


# --- the middleware, per kind of page -----------------------------------------------


def test_public_pages_follow_the_browsers_languages_among_the_shipped_ones(tenants):
    client = host_client("localhost")
    assert _lang(client.get("/", HTTP_ACCEPT_LANGUAGE="fi-FI,fi;q=0.9,en;q=0.5")) == "fi"
    assert _lang(client.get("/", HTTP_ACCEPT_LANGUAGE="pt-BR,de;q=0.8")) == "de"
    assert _lang(client.get("/", HTTP_ACCEPT_LANGUAGE="ja")) == "en"
    response = client.get("/")
    assert _lang(response) == "en"
    assert "Accept-Language" in response["Vary"]


def test_a_tenants_sign_in_page_is_in_the_browsers_language_else_the_businesss(alpha):
    tenant = alpha.tenant
    old = tenant.locale
    try:
        tenant.locale = "fi"
        tenant.save(update_fields=["locale"])
        client = host_client(alpha.host)
        assert _lang(client.get("/login/")) == "fi"
        assert _lang(client.get("/login/", HTTP_ACCEPT_LANGUAGE="de")) == "de"
    finally:
        tenant.locale = old


def test_a_signed_in_persons_pages_are_in_their_language_else_the_businesss(alpha):
    from django_tenants.utils import schema_context

    from accounts.models import User

    tenant = alpha.tenant
    old = tenant.locale
    try:
        tenant.locale = "de-de"
        tenant.save(update_fields=["locale"])
        client = login_client(alpha.host, alpha.dispatcher_email)
        # the browser's language does not matter once signed in: the person's does
        assert _lang(client.get("/orders/", HTTP_ACCEPT_LANGUAGE="fr")) == "de"
        with schema_context(tenant.schema_name):
            User.objects.filter(email=alpha.dispatcher_email).update(language="fi")
        response = client.get("/orders/", HTTP_ACCEPT_LANGUAGE="fr")
        assert _lang(response) == "fi"
        assert response["Content-Language"] == "fi"
        # and the page loads the catalog of its own language
        assert 'src="/jsi18n/fi/"' in response.content.decode()
    finally:
        tenant.locale = old


def test_the_api_answers_in_english_whoever_asks(alpha):
    from django_tenants.utils import schema_context

    from accounts.models import User

    with schema_context(alpha.tenant.schema_name):
        User.objects.filter(email=alpha.dispatcher_email).update(language="fi")
    keyed = api_client(alpha.host, alpha.api_key)
    response = keyed.post("/api/v1/orders", {}, format="json", HTTP_ACCEPT_LANGUAGE="fi")
    assert response.status_code == 400
    assert response["Content-Language"] == "en"
    session = login_client(alpha.host, alpha.dispatcher_email)
    assert session.get("/api/v1/orders", HTTP_ACCEPT_LANGUAGE="fi")["Content-Language"] == "en"
    # the language is back to the default after the request (nothing leaks to the next)
    assert translation.get_language() == "en"


# --- the JavaScript catalog ---------------------------------------------------------


def test_the_catalogs_address_follows_the_active_language(tenants):
    template = Template("{% url 'javascript-catalog' %}")
    for code in ("en", "fr", "de", "es", "fi"):
        with translation.override(code):
            assert template.render(Context()) == f"/jsi18n/{code}/"


@pytest.mark.parametrize("host", ["alpha", "public"])
def test_each_languages_catalog_is_served_and_cacheable_by_its_address(alpha, host):
    client = host_client(alpha.host if host == "alpha" else "localhost")
    response = client.get("/jsi18n/fi/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Content-Language"] == "fi"  # the address's, not the browser's
    assert "public" in response["Cache-Control"] and "max-age=" in response["Cache-Control"]
    assert "Cookie" not in response.get("Vary", "")
    body = response.content.decode()
    assert "django.gettext" in body and "function" in body
    again = client.get("/jsi18n/fi/", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    other = client.get("/jsi18n/de/")
    assert other.status_code == 200 and other["ETag"] != response["ETag"]
    assert client.get("/jsi18n/xx/").status_code == 404


def test_the_catalog_script_is_allowed_by_the_content_security_policy(alpha):
    response = host_client(alpha.host).get("/login/")
    policy = response["Content-Security-Policy"]
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "'self'" in script_src
    body = response.content.decode()
    # first script of the page: before htmx and the page's own
    first_script = re.search(r'<script src="([^"]+)"', body).group(1)
    assert first_script == "/jsi18n/en/"


def test_pages_answered_before_the_tenant_is_known_follow_the_browser(tenants):
    response = host_client("nobody.localhost").get("/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 404
    assert _lang(response) == "es"


def test_error_pages_say_their_language(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and _lang(response) == "en"
    driver = login_client(alpha.host, alpha.driver_email)
    response = driver.get("/orders/", HTTP_ACCEPT_LANGUAGE="fi")
    # the person's language, not the browser's
    assert response.status_code == 403 and _lang(response) == "en"
