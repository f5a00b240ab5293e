"""Writing the audit log. Who acts comes from the request being served (set by
AuditMiddleware, and by API-key authentication once it knows the key), else "system"
(a command, a job)."""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass, replace
from typing import Any

from accounts.net import client_ip
from audit.models import AuditEvent

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
    return Who(actor, client_ip(request),
               request.META.get("HTTP_USER_AGENT", "")[:200])  # fmt: skip


def acting(who: Who) -> contextvars.Token:
    return _who.set(who)


def acting_as(actor: str) -> None:
    """The request turned out to be made by `actor` (an API key, once authenticated)."""
    _who.set(replace(_who.get() or SYSTEM, actor=actor))


def done(token: contextvars.Token) -> None:
    _who.reset(token)


def record(action: str, *, target: str = "", actor: str | None = None, request=None,
           **detail: Any) -> AuditEvent:  # fmt: skip
    """Write one event in the current schema."""
    who = who_from_request(request) if request is not None else (_who.get() or SYSTEM)
    return AuditEvent.objects.create(
        action=action, actor=(actor or who.actor)[:200], target=str(target)[:300],
        ip=who.ip, user_agent=who.user_agent, detail=detail,
    )  # fmt: skip


def on_logged_in(sender, request, user, **kwargs) -> None:
    # how, when not by password: a view that signs in another way sets request.login_via
    via = getattr(request, "login_via", "")
    record(AuditEvent.Action.LOGIN, target=user.email, actor=f"user:{user.email}",
           request=request, **({"via": via} if via else {}))  # fmt: skip


def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(AuditEvent.Action.LOGOUT, target=user.email, actor=f"user:{user.email}",
               request=request)  # fmt: skip


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    from django.db import connection

    if connection.schema_name == "public" and request is None:
        return
    username = str(credentials.get("username", ""))[:300]
    record(AuditEvent.Action.LOGIN_FAILED, target=username, actor="anonymous", request=request)
