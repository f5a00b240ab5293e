"""The audit log: security-relevant actions, in the schema they concern (a tenant's own
actions in its schema; the platform's, such as a tenant's deletion, in the public one)."""

from __future__ import annotations

from django.db import models


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        LOGIN = "login.succeeded", "Signed in"
        LOGIN_FAILED = "login.failed", "Sign-in failed"
        LOGOUT = "logout", "Signed out"
        USER_CREATED = "user.created", "User added"
        ROLE_CHANGED = "user.role_changed", "Role changed"
        USER_DEACTIVATED = "user.deactivated", "User deactivated"
        USER_REACTIVATED = "user.reactivated", "User reactivated"
        KEY_CREATED = "api_key.created", "API key created"
        KEY_REVOKED = "api_key.revoked", "API key revoked"
        DATA_EXPORTED = "data.exported", "All data exported"
        ORDERS_EXPORTED = "orders.exported", "Orders exported"
        SETTINGS_CHANGED = "settings.changed", "Settings changed"
        ROADS_CHANGED = "settings.roads_changed", "Road settings changed"
        LOCATION_CORRECTED = "order.location_corrected", "Order location corrected"
        WEBHOOK_CREATED = "webhook.created", "Webhook added"
        WEBHOOK_UPDATED = "webhook.updated", "Webhook changed"
        WEBHOOK_DELETED = "webhook.deleted", "Webhook removed"
        TENANT_DELETED = "tenant.deleted", "Business deleted"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True)
    actor = models.CharField(max_length=200, help_text="user:<email>, api_key:<prefix>, system")
    target = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.target}"
