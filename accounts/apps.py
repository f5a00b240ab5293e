from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from core.navigation import NavItem, register

        register(NavItem("Team", "accounts:team", order=90, roles=("owner",), section="admin"))
        register(NavItem("Audit log", "audit-log", order=96, roles=("owner",), section="admin"))
