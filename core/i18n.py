"""Languages: which one each page, message and catalog is in, decided in one place.

The rules (issue 26):

- a language code is one of settings.LANGUAGES (the shipped ones);
- a tenant's default language is the primary subtag of `Tenant.locale` if shipped, else "en";
- an order's language is `Order.language` if set, else its tenant's;
- a user's language is `User.language` if set, else their tenant's.

`LanguageMiddleware` activates, per request: the signed-in user's language (dashboard,
driver app), the visitor's Accept-Language among the shipped ones on public pages
(sign-up, operators' pages), English on the REST API (machine clients). The JavaScript
catalog's address carries its language (`/jsi18n/<lang>/`), so that it can be cached per
language (the driver app's service worker keeps it for offline use) and so that a page
rendered in an order's language (the customer's tracking page) loads that language's
catalog, not the visitor's.

This module is in `core`, below every app: it reads `tenant.locale`, `order.language` and
`user.language` as plain attributes and imports none of the models.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import path
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.views.i18n import JavaScriptCatalog

DEFAULT_LANGUAGE = "en"
#: The REST API's language: its messages are read by programs and their developers.
API_LANGUAGE = "en"


def shipped_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def normalize_language(value: object) -> str | None:
    """The shipped language `value` names ("fr", "fr-CA", "fr_ca", "FR"), or None."""
    if not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-").lower()
    if not tag:
        return None
    shipped = shipped_languages()
    if tag in shipped:
        return tag
    primary = tag.split("-", 1)[0]
    return primary if primary in shipped else None


def is_shipped(code: object) -> bool:
    return isinstance(code, str) and code in shipped_languages()


def validate_language(value: str) -> None:
    """A model field's validator: blank (the default language) or a shipped code."""
    if value and not is_shipped(value):
        raise ValidationError(
            _("%(value)s is not a language we ship; use one of: %(codes)s."),
            code="invalid_language",
            params={"value": value, "codes": ", ".join(shipped_languages())},
        )


def tenant_language(tenant: Any) -> str:
    """The tenant's default language: its locale's primary subtag if shipped, else English.
    The public schema's pseudo-tenant and a missing tenant get English."""
    return normalize_language(getattr(tenant, "locale", None)) or DEFAULT_LANGUAGE


def order_language(order: Any, tenant: Any = None) -> str:
    """The language an order's customer is written to in: `order.language` if set (and
    shipped), else the tenant's default. `tenant` defaults to the current connection's."""
    own = normalize_language(getattr(order, "language", None))
    if own:
        return own
    return tenant_language(tenant if tenant is not None else _current_tenant())


def user_language(user: Any, tenant: Any = None) -> str:
    """The language a user's pages are in: `user.language` if set, else the tenant's."""
    own = normalize_language(getattr(user, "language", None))
    if own:
        return own
    return tenant_language(tenant if tenant is not None else _current_tenant())


def _current_tenant() -> Any:
    # django-tenants keeps the tenant of the current schema on the connection
    from django.db import connection

    return getattr(connection, "tenant", None)


def language_choices(*, automatic: str | None = None) -> list[tuple[str, str]]:
    """(code, native name) of each shipped language, for a form's select; with `automatic`,
    a first blank choice of that label (e.g. "Automatic (the business's language)")."""
    choices = [(code, str(name)) for code, name in settings.LANGUAGES]
    return [("", automatic), *choices] if automatic is not None else choices


# --- per request ------------------------------------------------------------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _is_catalog(request: HttpRequest) -> bool:
    return request.path_info.startswith("/jsi18n/")


def request_language(request: HttpRequest) -> str:
    """The language of this request's page (see the module's rules)."""
    if _is_api(request):
        return API_LANGUAGE
    tenant = getattr(request, "tenant", None)
    is_tenant_host = tenant is not None and getattr(tenant, "schema_name", "public") != "public"
    user = getattr(request, "user", None)
    if is_tenant_host and user is not None and user.is_authenticated:
        return user_language(user, tenant)
    # public pages and a tenant's sign-in page: what the visitor's browser asks for; a
    # browser that says nothing gets the business's language on its host
    asks = request.headers.get("Accept-Language") or request.COOKIES.get(
        settings.LANGUAGE_COOKIE_NAME
    )
    if not asks:
        return tenant_language(tenant) if is_tenant_host else DEFAULT_LANGUAGE
    return translation.get_language_from_request(request, check_path=False)


class BrowserLanguageMiddleware:
    """Before the tenant is known (placed before TenantMiddleware): the pages answered
    there (an unknown host, a suspended account) are in the visitor's browser's language.
    LanguageMiddleware decides again once the tenant and the user are known."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request) or _is_catalog(request):
            return self.get_response(request)
        translation.activate(translation.get_language_from_request(request, check_path=False))
        try:
            return self.get_response(request)
        finally:
            translation.deactivate()


class LanguageMiddleware:
    """Activates the request's language (after AuthenticationMiddleware: it reads the user)
    and says which one the response is in."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_catalog(request):
            # the catalog's language is in its address, and it is the same for everyone:
            # what read the session on the way (the audit's and axes' look at the user)
            # must not make SessionMiddleware add "Vary: Cookie" to a response that
            # browsers and the driver app's service worker keep by its address
            response = self.get_response(request)
            session = getattr(request, "session", None)
            if session is not None and not session.modified:
                session.accessed = False
            return response
        language = request_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        response.headers.setdefault("Content-Language", language)
        if not _is_api(request) and not (
            getattr(request, "user", None) is not None and request.user.is_authenticated
        ):
            # an anonymous page follows Accept-Language: caches must keep one per language
            patch_vary_headers(response, ("Accept-Language",))
        return response


# --- the JavaScript catalog -------------------------------------------------------------

#: How long browsers and the service worker may use a catalog before asking again (they
#: then get 304 when nothing changed: the ETag is the catalog's own digest).
CATALOG_MAX_AGE_S = 3600


def javascript_catalog_view(request: HttpRequest, lang: str | None = None) -> HttpResponse:
    """Django's JavaScriptCatalog (gettext, ngettext, interpolate, formats) for `lang`,
    whatever the visitor's own language is."""
    language = lang or translation.get_language() or DEFAULT_LANGUAGE
    if not is_shipped(language):
        raise Http404("No such language.")
    with translation.override(language):
        response = JavaScriptCatalog.as_view()(request)
    etag = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    response["ETag"] = etag
    response["Content-Language"] = language
    patch_cache_control(response, public=True, max_age=CATALOG_MAX_AGE_S)
    return response


def _catalog_route() -> str:
    return f"jsi18n/{translation.get_language() or DEFAULT_LANGUAGE}/"


def catalog_urlpatterns() -> list:
    """The catalog's URLs, for both URL confs. `{% url 'javascript-catalog' %}` gives the
    address of the active language's catalog (a route computed per language, as Django's
    translated URLs are): a page rendered inside `translation.override("fi")` loads
    `/jsi18n/fi/`. Any shipped language's catalog is served at `/jsi18n/<lang>/`."""
    return [
        path("jsi18n/<str:lang>/", javascript_catalog_view, name="javascript-catalog-lang"),
        # reversed only (the route above answers first): its address follows the language
        path(lazy(_catalog_route, str)(), javascript_catalog_view, name="javascript-catalog"),
    ]
