"""Users of a tenant: create, change role, deactivate. Runs in the current tenant schema."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import record
from core.i18n import is_shipped


def _other_active_owners(user: User) -> bool:
    return User.objects.filter(role=User.Role.OWNER, is_active=True).exclude(pk=user.pk).exists()


def credential_errors(*, email: str, password: str, name: str = "") -> dict[str, list[str]]:
    """Field errors of a new user's email and password (Django's password validators)."""
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError as exc:
        errors["email"] = list(exc.messages)
    try:
        validate_password(password, user=User(email=email, name=name))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    return errors


@transaction.atomic
def user_create(
    *, email: str, password: str, role: str, name: str = "", language: str = ""
) -> User:
    """Add a user to the current tenant. Emails are unique per tenant, case-insensitively.
    `language`: of their pages ("": the business's)."""
    email = email.strip().lower()
    errors = credential_errors(email=email, password=password, name=name)
    if language and not is_shipped(language):
        errors["language"] = [_("Choose one of the languages offered.")]
    if "email" not in errors and User.objects.filter(email__iexact=email).exists():
        errors["email"] = ["A user with this email already exists."]
    if role not in User.Role.values:
        errors["role"] = [f"Choose one of: {', '.join(User.Role.values)}."]
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(
        email, password, name=name.strip(), role=role, language=language
    )

    record("user.created", target=email, role=role)
    return user


@transaction.atomic
def user_change_role(*, user: User, role: str, acting_user: User) -> User:
    """Change a user's role. A tenant always keeps at least one active owner."""
    if role not in User.Role.values:
        raise ValidationError({"role": [f"Choose one of: {', '.join(User.Role.values)}."]})
    if user.pk == acting_user.pk and role != user.role:
        raise ValidationError({"role": ["You cannot change your own role."]})
    if user.role == User.Role.OWNER and role != User.Role.OWNER and not _other_active_owners(user):
        raise ValidationError({"role": ["The account needs at least one owner."]})
    if role != user.role:
        record("user.role_changed", target=user.email, before=user.role, after=role)
    user.role = role
    user.save(update_fields=["role"])
    return user


@transaction.atomic
def user_update(
    *, user: User, acting_user: User, role: str | None = None, is_active: bool | None = None
) -> User:
    """Change role and/or active state together: both apply, or neither does."""
    if role is not None:
        user_change_role(user=user, role=role, acting_user=acting_user)
    if is_active is not None:
        user_set_active(user=user, is_active=is_active, acting_user=acting_user)
    return user


@transaction.atomic
def user_set_active(*, user: User, is_active: bool, acting_user: User) -> User:
    """Deactivate (or re-activate) a user; deactivated users cannot sign in or use the API."""
    if not is_active:
        if user.pk == acting_user.pk:
            raise ValidationError({"is_active": ["You cannot deactivate yourself."]})
        if user.role == User.Role.OWNER and not _other_active_owners(user):
            raise ValidationError({"is_active": ["The account needs at least one owner."]})
    if is_active != user.is_active:
        record("user.reactivated" if is_active else "user.deactivated", target=user.email)
    user.is_active = is_active
    user.save(update_fields=["is_active"])
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """The language of `user`'s pages: a shipped code, or "" for the business's language.
    Saving the same language again changes nothing."""
    language = (language or "").strip()
    if language and not is_shipped(language):
        raise ValidationError({"language": [_("Choose one of the languages offered.")]})
    if language != user.language:
        user.language = language
        user.save(update_fields=["language"])
    return user
