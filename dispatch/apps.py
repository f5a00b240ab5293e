from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        from config.navigation import NavItem, register

        register(NavItem("Overview", "dashboard:home", order=10))
