from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        from audit.selectors import actor_kind_register
        from dispatch.selectors.fleet import driver_actor_names

        actor_kind_register("driver", driver_actor_names)
        register(NavItem(_("Overview"), "dashboard:home", order=10, home=True))
        register(NavItem(_("Orders"), "dashboard:order-list", order=20))
        register(
            NavItem(
                _("Recurring"),
                "dashboard:recurring-list",
                order=21,
                also=(
                    "dashboard:recurring-create",
                    "dashboard:recurring-detail",
                    "dashboard:recurring-edit",
                ),
            )
        )
        register(NavItem(_("Import"), "dashboard:csv-import", order=30))
        register(NavItem(_("Depots"), "dashboard:depot-list", order=40))
        register(NavItem(_("Vehicles"), "dashboard:vehicle-list", order=41))
        register(NavItem(_("Drivers"), "dashboard:driver-list", order=42))
        # Shopify's page (connecting by hand) is reached from the Stores page (stores.apps)
