from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        import tracking.schema  # noqa: F401 - registers the driver token with drf-spectacular
        from config.navigation import NavItem, register
        from dispatch.signals import order_status_changed
        from tracking.signals import on_order_status_changed

        order_status_changed.connect(on_order_status_changed, dispatch_uid="tracking-broadcast")
        register(NavItem("Live map", "dashboard:live-map", order=26))
