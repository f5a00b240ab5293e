"""Sign-ins, sign-outs and failed sign-ins go into the audit log."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import connection
from django.dispatch import receiver

from audit.models import AuditEvent
from audit.services import record


@receiver(user_logged_in, dispatch_uid="audit-login")
def on_logged_in(sender, request, user, **kwargs) -> None:
    # how, when not by password: a view that signs in another way sets request.login_via
    via = getattr(request, "login_via", "")
    record(
        AuditEvent.Action.LOGIN,
        target=user.email,
        actor=f"user:{user.email}",
        request=request,
        **({"via": via} if via else {}),
    )


@receiver(user_logged_out, dispatch_uid="audit-logout")
def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        record(
            AuditEvent.Action.LOGOUT, target=user.email, actor=f"user:{user.email}", request=request
        )


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    if connection.schema_name == "public" and request is None:
        return
    username = str(credentials.get("username", ""))[:300]
    record(AuditEvent.Action.LOGIN_FAILED, target=username, actor="anonymous", request=request)
