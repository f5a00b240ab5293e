"""The dashboard's navigation. Each app registers its pages in its AppConfig.ready().

    from django.utils.translation import gettext_lazy as _
    from core.navigation import NavItem, register
    register(NavItem(_("Orders"), "dispatch:orders", order=20))

A page is listed for a user whose role is in `roles`; the current page is marked. The
page registered with `home=True` for a role is that role's home: where signing in lands
and where the brand in the top bar leads.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse

DISPATCH_ROLES = ("owner", "dispatcher")


@dataclass(frozen=True)
class NavItem:
    label: str  # or a lazy translation (gettext_lazy): shown in the page's language
    url_name: str
    order: int = 50
    roles: tuple[str, ...] = DISPATCH_ROLES
    section: str = "main"  # "main" (left of the bar) or "admin" (the owner's menu)
    home: bool = False  # the home page of `roles`
    also: tuple[str, ...] = ()  # other pages that mark this item as the current one


_items: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    _items[item.url_name] = item


def items_for(request: HttpRequest) -> list[dict[str, object]]:
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user and user.is_authenticated else None
    if role is None or getattr(request, "tenant", None) is None:
        return []
    current = getattr(getattr(request, "resolver_match", None), "view_name", None)
    entries = []
    for item in sorted(_items.values(), key=lambda i: (i.order, i.label)):
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:  # the page is not routed on this host
            continue
        entries.append(
            {
                # a label marked with gettext_lazy in the app's ready() reads in the page's language
                "label": str(item.label),
                "url": url,
                "section": item.section,
                "active": current == item.url_name or current in item.also,
            }
        )
    return entries


def home_url(role: str | None) -> str:
    """The home page of `role` on this host (the dashboard's overview for owners and
    dispatchers, the driver app for drivers); settings.LOGIN_REDIRECT_URL for a role
    without one, "/" where neither is routed (the public host)."""
    for item in sorted(_items.values(), key=lambda i: (i.order, i.label)):
        if item.home and role in item.roles:
            try:
                return reverse(item.url_name)
            except NoReverseMatch:
                continue
    try:
        return resolve_url(settings.LOGIN_REDIRECT_URL)
    except NoReverseMatch:
        return "/"


def navigation(request: HttpRequest) -> dict[str, object]:
    """Template context processor: `nav_items` and the user's `home_url` for the base layout."""
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user and user.is_authenticated else None
    return {
        "nav_items": items_for(request),
        "current_tenant": getattr(request, "tenant", None),
        "home_url": home_url(role) if role else "/",
        # the language menu: each language by its own name, whatever the page's language
        "shipped_languages": settings.LANGUAGES,
    }


def csp_nonce(request) -> dict:
    """The page's Content-Security-Policy nonce, under the name django-htmx looks for."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
