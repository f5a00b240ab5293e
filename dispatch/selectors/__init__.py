"""Read-only queries for the dispatcher's pages."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from tenants.models import ApiKey, Tenant


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    done: bool
    url_name: str


def setup_checklist(*, tenant: Tenant) -> list[ChecklistItem]:
    """What a new account still has to set up, from the data it has."""
    users = User.objects.filter(is_active=True)
    return [
        ChecklistItem(
            "Invite a dispatcher or a second owner",
            users.exclude(role=User.Role.DRIVER).count() > 1,
            "accounts:team",
        ),
        ChecklistItem(
            "Add your drivers", users.filter(role=User.Role.DRIVER).exists(), "accounts:team"
        ),
        ChecklistItem(
            "Connect your store with an API key",
            ApiKey.objects.filter(tenant=tenant, revoked_at__isnull=True).exists(),
            "tenants:api-keys",
        ),
    ]
