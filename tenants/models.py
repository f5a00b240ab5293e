"""Tenants, their hosts and their API keys. These tables live in the public schema."""

from __future__ import annotations

import zoneinfo

import phonenumbers
from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"'{value}' is not a known IANA time zone.")


def validate_country(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"'{value}' is not an ISO 3166-1 alpha-2 country code.")


def validate_locale(value: str) -> None:
    if value.lower() not in LANG_INFO:
        raise ValidationError(f"'{value}' is not a supported locale (for example en, en-gb, de).")


class RoadProfile(models.TextChoices):
    CAR = "car", "Car or van"
    BICYCLE = "bicycle", "Bicycle or cargo bike"
    FOOT = "foot", "On foot"


class Tenant(TenantMixin):
    """A delivery business. Its data lives in the PostgreSQL schema `schema_name`."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=40, unique=True, help_text="The first label of the host.")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    country = models.CharField(
        max_length=2, validators=[validate_country], help_text="ISO 3166-1 alpha-2, upper case."
    )
    locale = models.CharField(max_length=16, default="en", validators=[validate_locale])
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    suspended_reason = models.CharField(max_length=200, blank=True)
    location_retention_days = models.PositiveIntegerField(
        default=30, help_text="Drivers' GPS history older than this many days is deleted."
    )
    road_region = models.CharField(
        max_length=63,
        blank=True,
        help_text="The road region its travel times, paths and addresses come from "
        "(built with manage.py roads_import); empty: straight lines.",
    )
    road_profile = models.CharField(
        max_length=16,
        choices=RoadProfile.choices,
        default=RoadProfile.CAR,
        help_text="How its drivers travel.",
    )
    rush_hours = models.JSONField(
        default=list,
        blank=True,
        help_text='Travel slower at some hours: [{"days": [0, 1, 2, 3, 4], "start": "07:00", '
        '"end": "09:00", "factor": 1.3}, ...]; days 0 = Monday; local times.',
    )
    use_learned_times = models.BooleanField(
        default=True,
        help_text="Plans and ETAs use the travel and door times learned from this business's "
        "own drivers (where enough data backs them).",
    )
    auto_dispatch = models.BooleanField(
        default=False,
        help_text="An order that arrives for today is put at once on the published route "
        "where it costs least (else it waits in the pool and the dispatcher is alerted).",
    )
    auto_plan_at = models.TimeField(
        null=True,
        blank=True,
        help_text="Each day at this local time, tomorrow is planned and published. "
        "Empty: the dispatcher plans.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Schemas are made by tenants.services.provisioning (cloned from a template), not on save.
    auto_create_schema = False
    auto_drop_schema = True

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended"]), name="tenant_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Domain(DomainMixin):
    """A host name that resolves to a tenant (or to the public schema). A tenant's
    tracking host (`is_tracking_host`, at most one per tenant) is the business's own host
    name for its customers' tracking pages (e.g. track.florist.example, a CNAME to the
    platform): it serves only the tracking pages (config/urls_tracking.py)."""

    is_tracking_host = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.domain


class ApiKey(models.Model):
    """An API key of one tenant. Only a SHA-256 digest of the secret is stored.

    The key is shown once when created: ``dsp_<prefix>_<secret>``. The prefix is stored in
    clear so the key can be found and named in logs; the digest is compared in constant time.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read only"
        READ_WRITE = "read_write", "Read and write"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_sha256 = models.CharField(max_length=64)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.READ_WRITE)
    created_by_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=["read", "read_write"]), name="api_key_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (dsp_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.READ_WRITE


class TrackingLink(models.Model):
    """The public tracking link of one order: a random token (256 bits) that tells
    nothing about the tenant, resolved here in the public schema to the tenant and order."""

    token = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    order_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "order_id"], name="tracking_link_per_order"),
        ]

    def __str__(self) -> str:
        return f"Tracking link of order {self.order_id} ({self.tenant_id})"


class LoginHandover(models.Model):
    """A one-time sign-in on a tenant's own host, for the owner who has just signed up on
    the public host (whose session cannot cross hosts). Only a SHA-256 digest of the token
    is stored; the row is spent by its first use and dies HANDOVER_LIFETIME (ten minutes)
    after it was made (tenants.services.handover)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    token_sha256 = models.CharField(max_length=64, unique=True)
    user_id = models.BigIntegerField(help_text="The user, in the tenant's own schema.")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Sign-in handover to {self.tenant_id} (user {self.user_id})"


class StoreShop(models.Model):
    """Which tenants a store installed through the platform's app belongs, or belonged,
    to: one row per (store, tenant), with when it was last installed there and, once it
    was uninstalled (or moved to another tenant), when. The app's webhooks (orders,
    app/uninstalled, the compliance topics) and its OAuth callback come to the public host
    and name only the shop, so the shop is looked up here: the order topics go to the
    tenant holding it now (the one row not uninstalled; at most one, by constraint), the
    compliance topics to every tenant that ever held it, each of which has its own
    customers' data of that store to erase or report."""

    platform = models.CharField(max_length=16, default="shopify")
    shop = models.CharField(max_length=255, help_text="<name>.myshopify.com")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    installed_at = models.DateTimeField(default=timezone.now)
    uninstalled_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the tenant holding the store now."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "shop", "tenant"], name="store_shop_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["platform", "shop"],
                condition=models.Q(uninstalled_at__isnull=True),
                name="store_shop_one_holder",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.shop} → {self.tenant_id}"


class StoreInstall(models.Model):
    """An app install under way: the `state` sent to the store with the authorization
    request (only its SHA-256 digest is kept), which the callback must bring back, spent by
    its first use and dead ten minutes after it was made."""

    platform = models.CharField(max_length=16, default="shopify")
    state_sha256 = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    shop = models.CharField(max_length=255)
    user_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.platform} install of {self.shop} for {self.tenant_id}"
