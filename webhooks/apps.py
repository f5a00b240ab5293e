from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from webhooks import receivers

        receivers.connect()
        register(
            NavItem("Webhooks", "webhook-settings", order=95, roles=("owner",), section="admin")
        )
