"""The driver app in the driver's own language: the page is in it (`<html lang>`, the
JavaScript catalog of that language), a driver who chose none gets the business's, and the
service worker keeps that language's catalog with the app's files, so the app speaks it
offline too; a driver who changes language gets a new worker keeping the new catalog."""

from __future__ import annotations

import json

import pytest
from django.utils import translation
from django_tenants.utils import schema_context

from accounts.models import User
from accounts.services import user_create
from tenants.models import Tenant
from tests.conftest import PASSWORD, host_client, login_client
from tests.tracking.helpers import solved_day

SECOND_DRIVER = "second-driver@alpha.test"


@pytest.fixture
def french_business(alpha):
    """Alpha's language is French for the test (a driver with none of their own gets it)."""
    Tenant.objects.filter(pk=alpha.tenant.pk).update(locale="fr")
    yield alpha
    Tenant.objects.filter(pk=alpha.tenant.pk).update(locale="en")


def two_drivers(fixture, language: str) -> tuple[int, int]:
    """The fixture's driver (speaking `language`) and a second driver with no language of
    their own, each with a route today: their users' ids."""
    with schema_context(fixture.tenant.schema_name):
        first = fixture.user_ids[fixture.driver_email]
        day = solved_day("lang", first)
        User.objects.filter(pk=first).update(language=language)
        second = user_create(email=SECOND_DRIVER, password=PASSWORD, role="driver")
        day.other.driver.user_id = second.pk
        day.other.driver.save(update_fields=["user"])
    return first, second.pk


def worker_config(client) -> tuple[dict, str]:
    response = client.get("/driver/sw.js")
    assert response.status_code == 200
    text = response.content.decode()
    return json.loads(text.split("const CONFIG = ")[1].split(";\n")[0]), text


@pytest.mark.django_db
def test_the_driver_app_is_in_the_drivers_language_else_the_business(french_business):
    alpha = french_business
    two_drivers(alpha, "de")
    german = login_client(alpha.host, alpha.driver_email).get("/driver/")
    assert german.status_code == 200
    page = german.content.decode()
    assert '<html lang="de">' in page
    assert '<script src="/jsi18n/de/"></script>' in page
    assert "/jsi18n/fr/" not in page
    assert german["Content-Language"] == "de"

    unset = login_client(alpha.host, SECOND_DRIVER).get("/driver/")
    assert unset.status_code == 200
    page = unset.content.decode()
    assert '<html lang="fr">' in page  # the business's language
    assert '<script src="/jsi18n/fr/"></script>' in page
    assert "/jsi18n/de/" not in page


@pytest.mark.django_db
def test_the_worker_keeps_the_catalog_of_the_drivers_language(french_business):
    alpha = french_business
    two_drivers(alpha, "fi")
    finnish, finnish_text = worker_config(login_client(alpha.host, alpha.driver_email))
    assert finnish["language"] == "fi" and finnish["catalog"] == "/jsi18n/fi/"
    assert "/jsi18n/fi/" in finnish["shell"]  # kept when the worker installs
    assert "/static/js/driver.js" in finnish["shell"]
    # cache.addAll refuses a list with a file twice: the worker would never install
    assert len(set(finnish["shell"])) == len(finnish["shell"])
    assert not any(url.startswith("/jsi18n/") and url != "/jsi18n/fi/" for url in finnish["shell"])
    # its cache is named for the language, and the catalog is answered from it
    assert '"driver-shell-" + CONFIG.schema + "-" + CONFIG.language' in finnish_text
    assert "url.pathname === CONFIG.catalog" in finnish_text

    french, _text = worker_config(login_client(alpha.host, SECOND_DRIVER))
    assert french["language"] == "fr" and "/jsi18n/fr/" in french["shell"]
    assert french["version"] != finnish["version"]  # a new worker, so a new cache

    # the catalog the worker keeps is the one of that language
    catalog = host_client(alpha.host).get(finnish["catalog"])
    assert catalog.status_code == 200 and catalog["Content-Language"] == "fi"
    assert b"django.gettext" in catalog.content


@pytest.mark.django_db
def test_a_driver_who_changes_language_gets_a_new_worker(alpha):
    first, _second = two_drivers(alpha, "es")
    client = login_client(alpha.host, alpha.driver_email)
    before, _text = worker_config(client)
    with schema_context(alpha.tenant.schema_name):
        User.objects.filter(pk=first).update(language="de")
    after, _text = worker_config(client)
    assert (before["language"], after["language"]) == ("es", "de")
    assert after["version"] != before["version"]
    assert "/jsi18n/de/" in after["shell"] and "/jsi18n/es/" not in after["shell"]
    # the same language again: the same worker (phones do not reinstall it for nothing)
    assert worker_config(client)[0]["version"] == after["version"]


@pytest.mark.django_db
def test_the_worker_fetched_without_a_session_is_in_the_business_language(french_business):
    config, _text = worker_config(host_client(french_business.host))
    assert config["language"] == "fr" and "/jsi18n/fr/" in config["shell"]


@pytest.mark.django_db
def test_the_worker_offline_page_and_the_manifest_speak_the_language(alpha):
    two_drivers(alpha, "de")
    config, text = worker_config(login_client(alpha.host, alpha.driver_email))
    # the page a phone shows offline before the route was ever loaded: words from the
    # server in the driver's language, nothing English left in the worker's own text
    english = {
        "title": "Offline",
        "heading": "No network",
        "text": "Your route opens here once it has been loaded with a network. "
        "Try again when you have signal.",
    }
    with translation.override("de"):
        german = {key: translation.gettext(words) for key, words in english.items()}
    assert german["heading"] != english["heading"]  # the shipped German catalog has them
    assert config["offline"] == german
    assert "No network" not in text.split("const CONFIG = ")[1].split(";\n", 1)[1]
    assert "<html lang='\" + escapeHtml(CONFIG.language)" in text
    # browsers fetch the manifest without cookies: the phone's own language
    manifest = host_client(alpha.host).get(
        "/driver/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"
    )
    assert manifest.json()["lang"] == "fr" and manifest["Content-Language"] == "fr"
    assert "Accept-Language" in manifest["Vary"]


@pytest.mark.django_db
def test_the_driver_picks_their_language_in_the_apps_more_tab(alpha):
    """The top bar's menu is not shown in the driver app: its More tab has the picker,
    which saves the driver's own language and comes back to the app in it."""
    first, _ = two_drivers(alpha, "")
    driver = login_client(alpha.host, alpha.driver_email)
    page = driver.get("/driver/").content.decode()
    assert '<html lang="en">' in page
    assert 'id="driver-language"' in page and '<option value="fi" lang="fi">Suomi</option>' in page
    back = driver.post("/account/language/", {"language": "fi", "next": "/driver/"})
    assert back.status_code == 302 and back["Location"] == "/driver/"
    assert '<html lang="fi">' in driver.get("/driver/").content.decode()
    with schema_context(alpha.tenant.schema_name):
        assert User.objects.get(pk=first).language == "fi"
