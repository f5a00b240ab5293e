"""Reading the audit log, and who acted as people read it.

Histories (the audit log, orders' status changes, route versions, webhooks) record the
actor as a string (`audit.services.current_actor`): "user:<email>", "api_key:<prefix>",
"driver:<id>", "shopify:<shop>", "system" or "system:<job>". `actor_names` turns the
strings of one page into names, with one query per kind of actor, whatever the number of
rows. The apps that own each kind register how to name it (`actor_kind_register("user",
resolver)` in their AppConfig.ready()), so this lowest layer imports none of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_events(*, action: str = "") -> QuerySet[AuditEvent]:
    """Newest first; only `action` when it names one (anything else: every event)."""
    events = AuditEvent.objects.all()
    if action in AuditEvent.Action.values:
        events = events.filter(action=action)
    return events


# --- who acted, by name ------------------------------------------------------------

#: A kind's resolver: the ids after "<kind>:" → their names (ids it does not know left out).
Resolver = Callable[[set[str]], dict[str, str]]

_resolvers: dict[str, Resolver] = {}

#: Actors that name no row: what people read for them.
_PLAIN = {"system": "System", "anonymous": "Someone not signed in", "": "—"}


def actor_kind_register(kind: str, resolver: Resolver) -> None:
    """`resolver` names the actors "<kind>:<id>"."""
    _resolvers[kind] = resolver


def _fallback(kind: str, ident: str) -> str:
    """An actor whose row is gone (or whose kind nobody registered), said plainly."""
    if kind == "system":
        return f"System: {ident.replace('_', ' ')}"
    if kind == "api_key":
        return f"API key {ident}"
    if kind == "driver":
        return f"Driver #{ident}"
    if kind == "user":
        return ident
    return f"{kind.replace('_', ' ').capitalize()}: {ident}"


def actor_names(actors: Iterable[str]) -> dict[str, str]:
    """Each actor string → the name people read: "Maria Lind (dispatcher)", "Anna Virtanen
    (driver)", "API key 'Shop'", "System: re-optimise". One query per kind present."""
    wanted: dict[str, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for actor in set(actors):
        actor = actor or ""
        if actor in _PLAIN:
            names[actor] = _PLAIN[actor]
            continue
        kind, sep, ident = actor.partition(":")
        if not sep:
            names[actor] = actor
        else:
            wanted[kind].add(ident)
    for kind, idents in wanted.items():
        resolver = _resolvers.get(kind)
        found = resolver(idents) if resolver else {}
        for ident in idents:
            names[f"{kind}:{ident}"] = found.get(ident) or _fallback(kind, ident)
    return names


def actor_name(actor: str) -> str:
    """One actor's name (a page with many uses `actor_names` once)."""
    return actor_names([actor])[actor or ""]
