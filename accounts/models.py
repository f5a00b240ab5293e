"""Users. This table exists in every tenant schema (and in public, for the operators).

Because each tenant has its own user table, an account, its password and its sessions
belong to exactly one tenant: a login can never cross tenants.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.i18n import validate_language


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True, role=User.Role.OWNER)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        DISPATCHER = "dispatcher", "Dispatcher"
        DRIVER = "driver", "Driver"

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DISPATCHER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Operators only: may use Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)
    # blank: the business's language (core.i18n.user_language); codes of settings.LANGUAGES
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        default="",
        validators=[validate_language],
        help_text=_("The language of this person's pages; blank: the business's language."),
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["owner", "dispatcher", "driver"]),
                name="user_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return (self.name.split() or [self.email])[0]

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER

    @property
    def can_dispatch(self) -> bool:
        """Owners and dispatchers run the dashboard; drivers use the driver app."""
        return self.role in (self.Role.OWNER, self.Role.DISPATCHER)
