"""Handing a new owner's sign-in over from the public host to their tenant's own host.

Sign-up happens on the public host; the dashboard lives on `<slug>.<base domain>`, whose
sessions (cookie and table) are the tenant's own, so nothing of the sign-up's session can
follow. Instead sign-up makes a handover: a random token (256 bits) whose SHA-256 digest
is kept in the public schema with the tenant and the user it signs in. It is good for
HANDOVER_LIFETIME, on that tenant's host only, once:

- `handover_create` (the sign-up) makes it and returns the token for the link;
- `handover_check` (GET of the link) says whether it would still work, without spending
  it, so that a link previewer or a prefetch cannot use it up;
- `handover_redeem` (the owner's POST from that page) spends it and returns the user,
  whom the view signs in.

A token that is unknown (mistyped, tampered with) or made for another tenant's host is
refused like one that never existed; a spent or expired one is refused as gone.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from tenants.models import LoginHandover, Tenant

#: From sign-up to the owner's "Continue": long enough to read the page (or come back to
#: it) before pressing it, short for a link that signs an owner in. Single use, hashed,
#: spent only by a POST with its CSRF token, on its own host: the rest of the defence.
HANDOVER_LIFETIME = timedelta(minutes=10)
#: A token is secrets.token_urlsafe(32): 43 characters. Longer input is not looked up.
TOKEN_MAX_LENGTH = 64


class HandoverRefused(Exception):
    """The handover cannot sign anyone in. `status` is the HTTP status to answer with."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


NOT_VALID = "not_valid"  # unknown, tampered with, another tenant's, or its user is gone
SPENT = "spent"
EXPIRED = "expired"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def handover_create(*, tenant: Tenant, email: str) -> str:
    """Make a handover signing `email` (a user of `tenant`) in on the tenant's host; return
    its token, which is not stored and cannot be recovered."""
    with schema_context(tenant.schema_name):
        user_id = User.objects.values_list("pk", flat=True).get(email__iexact=email.strip())
    now = timezone.now()
    # Handovers are worth nothing once expired: old ones go when new ones are made.
    LoginHandover.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    token = secrets.token_urlsafe(32)
    LoginHandover.objects.create(
        tenant=tenant,
        token_sha256=_digest(token),
        user_id=user_id,
        expires_at=now + HANDOVER_LIFETIME,
    )
    return token


@dataclass(frozen=True)
class Handover:
    """A handover that can still be used, and whom it signs in."""

    pk: int
    user: User


def _usable(*, tenant: Tenant, token: str, lock: bool) -> Handover:
    """The handover `token` names on `tenant`'s host, if it can still be used; raises
    HandoverRefused otherwise. Run in the tenant's schema (its request's)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise HandoverRefused(NOT_VALID, 404)
    rows = LoginHandover.objects.filter(token_sha256=_digest(token), tenant_id=tenant.pk)
    handover = (rows.select_for_update() if lock else rows).first()
    if handover is None:
        raise HandoverRefused(NOT_VALID, 404)
    if handover.used_at is not None:
        raise HandoverRefused(SPENT, 410)
    if handover.expires_at <= timezone.now():
        raise HandoverRefused(EXPIRED, 410)
    user = User.objects.filter(pk=handover.user_id, is_active=True).first()
    if user is None:
        raise HandoverRefused(NOT_VALID, 404)
    return Handover(handover.pk, user)


def handover_check(*, tenant: Tenant, token: str) -> User:
    """Whom the handover would sign in on `tenant`'s host; it is not spent."""
    return _usable(tenant=tenant, token=token, lock=False).user


@transaction.atomic
def handover_redeem(*, tenant: Tenant, token: str) -> User:
    """Spend the handover and return the user it signs in on `tenant`'s host. Two requests
    with the same token cannot both succeed: the row is locked until this one is done."""
    handover = _usable(tenant=tenant, token=token, lock=True)
    LoginHandover.objects.filter(pk=handover.pk).update(used_at=timezone.now())
    return handover.user
