from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Online stores"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from stores import receivers  # noqa: F401 - connects the signal handlers
        from stores.services.sources import registry

        registry.load()
        register(NavItem("Stores", "stores", order=93, roles=("owner",), section="admin"))
