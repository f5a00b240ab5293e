"""The language menu of the top bar, in a browser (headless Chromium): a dispatcher picks
Finnish, lands back on the same page in Finnish (its `<html lang>`, Finnish's JavaScript
catalog loaded first and allowed by the Content-Security-Policy), then goes back to the
business's language."""

from __future__ import annotations

from tests.e2e.conftest import live_tenant, sign_in, wait_until

CATALOG = """() => ({
    lang: document.documentElement.lang,
    first: document.querySelector("script[src]").getAttribute("src"),
    gettext: typeof django === "object" && window.gettext === django.gettext,
})"""


def test_a_dispatcher_picks_finnish_from_the_top_bar_and_back(
    live_server_url, django_db_blocker, page
):
    tenant = live_tenant(
        django_db_blocker, live_server_url, "langmenu", users=(("d@langmenu.test", "dispatcher"),)
    )
    sign_in(page, tenant, "d@langmenu.test")
    page.goto(f"{tenant.url}/orders/")
    page.wait_for_load_state()
    assert page.evaluate(CATALOG) == {"lang": "en", "first": "/jsi18n/en/", "gettext": True}

    page.locator(".account summary").click()
    page.select_option("#topbar-language", "fi")
    page.locator(".language-menu button[type=submit]").click()
    wait_until(lambda: page.evaluate("document.documentElement.lang") == "fi")
    page.wait_for_load_state()
    assert page.url.endswith("/orders/")  # back where it was
    assert page.evaluate(CATALOG) == {"lang": "fi", "first": "/jsi18n/fi/", "gettext": True}

    page.locator(".account summary").click()
    page.select_option("#topbar-language", "")
    page.locator(".language-menu button[type=submit]").click()
    wait_until(lambda: page.evaluate("document.documentElement.lang") == "en")
    page.wait_for_load_state()
    assert page.evaluate(CATALOG) == {"lang": "en", "first": "/jsi18n/en/", "gettext": True}
