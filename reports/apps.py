from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from core.navigation import NavItem, register

        register(NavItem(_("Reports"), "dashboard:reports", order=40))
