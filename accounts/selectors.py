"""Read-only queries about a tenant's users (run in the current tenant schema)."""

from django.db.models import QuerySet

from accounts.models import User


def users_for_team() -> QuerySet[User]:
    """Active people first, then by role and email, as the team page lists them."""
    return User.objects.order_by("-is_active", "role", "email")
