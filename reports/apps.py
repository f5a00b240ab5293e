from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from core.navigation import NavItem, register

        register(NavItem("Reports", "dashboard:reports", order=40))
