"""Writing the audit log. Who acts comes from the request being served (set by
AuditMiddleware, and by API-key authentication once it knows the key), else "system"
(a command, a job)."""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass, replace
from typing import Any

from audit.models import AuditEvent
from core.http import client_ip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Who:
    actor: str = "system"
    ip: str | None = None
    user_agent: str = ""


_who: contextvars.ContextVar[Who | None] = contextvars.ContextVar("audit_who", default=None)
SYSTEM = Who()


def who_from_request(request) -> Who:
    user = getattr(request, "user", None)
    actor = f"user:{user.email}" if user is not None and user.is_authenticated else "anonymous"
    return Who(actor, client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:200])


def acting(who: Who) -> contextvars.Token:
    return _who.set(who)


def acting_as(actor: str) -> None:
    """The request turned out to be made by `actor` (an API key, once authenticated)."""
    _who.set(replace(_who.get() or SYSTEM, actor=actor))


def current_actor() -> str:
    """Who is acting, as histories record it: `user:<email>` or `api_key:<prefix>` in a
    request (AuditMiddleware, then API-key authentication), "system" outside one (a
    command, a job)."""
    return (_who.get() or SYSTEM).actor


def done(token: contextvars.Token) -> None:
    _who.reset(token)


def record(
    action: str, *, target: str = "", actor: str | None = None, request=None, **detail: Any
) -> AuditEvent:
    """Write one event in the current schema."""
    who = who_from_request(request) if request is not None else (_who.get() or SYSTEM)
    return AuditEvent.objects.create(
        action=action,
        actor=(actor or who.actor)[:200],
        target=str(target)[:300],
        ip=who.ip,
        user_agent=who.user_agent,
        detail=detail,
    )
