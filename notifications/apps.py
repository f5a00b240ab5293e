from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from notifications import receivers  # noqa: F401 - connects the signal handlers

        # customers' texts and the answers (the board also counts the unread ones)
        register(NavItem(_("Conversations"), "conversation-inbox", order=21))
        register(
            NavItem(
                _("Customer messages"),
                "notification-settings",
                order=93,
                roles=("owner",),
                section="admin",
            )
        )

        register(
            NavItem(
                _("Masked calls"),
                "calls-settings",
                order=95,
                roles=("owner",),
                section="admin",
            )
        )
