from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from webhooks import receivers  # noqa: F401 - connects the signal handlers

        register(
            NavItem(_("Webhooks"), "webhook-settings", order=95, roles=("owner",), section="admin")
        )
