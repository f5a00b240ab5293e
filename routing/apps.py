from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from routing import receivers  # noqa: F401 - connects the signal handlers

        register(NavItem(_("Board"), "dashboard:day-board", order=15, also=("dashboard:board",)))
        register(NavItem(_("Plans"), "dashboard:plans", order=25))
        register(NavItem(_("My route"), "driver:route", order=10, roles=("driver",), home=True))
