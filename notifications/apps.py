from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from notifications import receivers  # noqa: F401 - connects the signal handlers

        register(
            NavItem(
                "Customer messages",
                "notification-settings",
                order=93,
                roles=("owner",),
                section="admin",
            )
        )
