from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Online stores"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from stores import receivers  # noqa: F401 - connects the signal handlers
        from stores.services.sources import registry

        registry.load()
        register(NavItem(_("Stores"), "stores", order=93, roles=("owner",), section="admin"))
