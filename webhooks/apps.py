from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from webhooks import receivers  # noqa: F401 - connects the signal handlers

        register(
            NavItem("Webhooks", "webhook-settings", order=95, roles=("owner",), section="admin")
        )
