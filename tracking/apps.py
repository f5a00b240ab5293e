from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from routing.services.routes import van_positions_from
        from tracking import receivers  # noqa: F401 - connects the status-change broadcast
        from tracking.api import schema  # noqa: F401 - the driver token in the OpenAPI schema
        from tracking.services.day import van_position

        van_positions_from(van_position)  # plans are timed from the phones' positions
        register(NavItem(_("Live map"), "dashboard:live-map", order=26))
        register(NavItem(_("Brand"), "brand-settings", order=94, roles=("owner",), section="admin"))
        register(NavItem(_("Learned times"), "dashboard:learning", order=92.7, section="admin"))
