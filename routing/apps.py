from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from dispatch.signals import order_rescheduled, order_status_changed
        from routing.services.live import on_order_rescheduled, on_order_status_changed

        order_status_changed.connect(on_order_status_changed, dispatch_uid="routing-drop-stop")
        order_rescheduled.connect(on_order_rescheduled, dispatch_uid="routing-rescheduled")
        register(NavItem("Plans", "dashboard:plans", order=25))
        register(NavItem("My route", "driver:route", order=10, roles=("driver",), home=True))
