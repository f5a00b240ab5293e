from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from dispatch.signals import (
            order_rescheduled,
            order_status_changed,
            orders_created,
            orders_redacted,
        )
        from notifications import services
        from routing.signals import route_version_created

        order_status_changed.connect(services.on_status_changed, dispatch_uid="notify-status")
        orders_created.connect(services.on_orders_created, dispatch_uid="notify-created")
        order_rescheduled.connect(services.on_rescheduled, dispatch_uid="notify-rescheduled")
        orders_redacted.connect(services.on_orders_redacted, dispatch_uid="notify-redact")
        route_version_created.connect(services.on_route_version, dispatch_uid="notify-version")
        register(
            NavItem("Customer messages", "notification-settings", order=93, roles=("owner",),
                    section="admin")
        )  # fmt: skip
