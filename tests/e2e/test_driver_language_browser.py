"""The driver app in the driver's own language, on a phone (headless Chromium): a driver
whose language is Finnish gets the page in Finnish (`<html lang="fi">`, Finnish's JavaScript
catalog driving the script's gettext), the service worker keeps that catalog, and offline
the app still opens in Finnish, its own times written the Finnish way by Intl."""

from __future__ import annotations

import re

from django_tenants.utils import schema_context

from tests.e2e.conftest import wait_until
from tests.e2e.test_driver_app_browser import driver_day, open_app, phone

CATALOG_LOADED = """() => typeof django === "object" && typeof window.gettext === "function"
    && window.gettext === django.gettext && window.ngettext === django.ngettext
    && window.interpolate === django.interpolate"""


def language_of(page) -> dict:
    return page.evaluate(
        """() => ({
            lang: document.documentElement.lang,
            catalogs: [...document.querySelectorAll("script[src*='/jsi18n/']")]
                .map((s) => new URL(s.src).pathname),
        })"""
    )


def test_a_finnish_driver_gets_the_app_in_finnish_online_and_offline(
    live_server_url, django_db_blocker, browser
):
    from accounts.models import User

    day = driver_day(django_db_blocker, live_server_url, "drvfinnish")
    with django_db_blocker.unblock(), schema_context(day.tenant.schema):
        User.objects.filter(email="driver@drvfinnish.test").update(language="fi")
    with phone(browser) as context:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_app(page, day)  # signs in (the sign-in page follows the browser: English)

        assert language_of(page) == {"lang": "fi", "catalogs": ["/jsi18n/fi/"]}
        assert page.evaluate(CATALOG_LOADED), "the script's gettext is not the catalog's"
        # the worker keeps Finnish's catalog, in a cache named for the language
        kept = page.evaluate(
            """async () => {
                const names = await caches.keys();
                const shell = names.find((n) => n.startsWith("driver-shell-"));
                const hit = shell && await (await caches.open(shell)).match("/jsi18n/fi/");
                return {shell, catalog: hit ? await hit.text() : null};
            }"""
        )
        assert kept["shell"].startswith(f"driver-shell-{day.tenant.schema}-fi-"), kept["shell"]
        assert kept["catalog"] and "django.gettext" in kept["catalog"]

        # no network: the kept page, with the kept catalog, still in Finnish
        context.set_offline(True)
        page.reload()
        page.locator(f"#driver-stop-{day.orders[0]}").wait_for()
        assert language_of(page) == {"lang": "fi", "catalogs": ["/jsi18n/fi/"]}
        assert page.evaluate(CATALOG_LOADED), "offline, the catalog did not load from the worker"
        # what the script writes is the catalog's word for it (Finnish once translated:
        # then also assert it differs from the English)
        connection = page.locator("#connection")
        wait_until(lambda: connection.inner_text() == page.evaluate("() => gettext('Offline')"))

        # an action kept offline: its time in the outbox is Finnish ("14.05", not "14:05")
        stop = page.locator(f"#driver-stop-{day.orders[0]}")
        if not stop.locator(".act-en_route").is_visible():
            stop.locator(".stop-head").click()
        stop.locator(".act-en_route").click()
        note = page.evaluate("() => gettext('Waiting to be sent')")
        wait_until(lambda: stop.locator(".pending").inner_text() == note)
        page.locator("#tab-button-more").click()
        line = page.locator("#outbox-list li").first
        line.wait_for()
        assert re.match(r"^\d{1,2}\.\d{2} · ", line.inner_text()), line.inner_text()
        assert errors == []
