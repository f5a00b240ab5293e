from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts.selectors import user_actor_names
        from audit.selectors import actor_kind_register
        from core.navigation import NavItem, register

        actor_kind_register("user", user_actor_names)

        register(NavItem(_("Team"), "accounts:team", order=90, roles=("owner",), section="admin"))
        register(NavItem(_("Audit log"), "audit-log", order=96, roles=("owner",), section="admin"))
