"""Read-only queries about a tenant's users (run in the current tenant schema)."""

from urllib.parse import urlsplit

from django.db.models import QuerySet
from django.urls import Resolver404, resolve

from accounts.models import User
from core.navigation import home_url


def users_for_team() -> QuerySet[User]:
    """Active people first, then by role and email, as the team page lists them."""
    return User.objects.order_by("-is_active", "role", "email")


def may_open(user: User, url: str) -> bool:
    """Whether `url` (a path on this host) is a page `user`'s role may open: one whose view
    names the role (`role_required`). Pages that name no role (sign-in, sign-out, the
    API) are not somewhere to land."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return False
    return user.role in getattr(match.func, "allowed_roles", ())


def landing_url(*, user: User, next_url: str = "") -> str:
    """Where `user` lands after signing in: `next_url` (already checked to be on this
    host) when their role may open it, else their role's home: a driver asked to go to a
    dispatcher's page gets the driver app, not a 403."""
    if next_url and may_open(user, next_url):
        return next_url
    return home_url(user.role)


def user_actor_names(emails: set[str]) -> dict[str, str]:
    """Users named in histories ("user:<email>"): "Maria Lind (dispatcher)", in one query
    (audit.selectors)."""
    users = User.objects.filter(email__in=emails).only("email", "name", "role")
    return {u.email: f"{u.get_full_name()} ({u.get_role_display().lower()})" for u in users}
