from django.apps import AppConfig

from core.navigation import NavItem, register


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "Dispatch"

    def ready(self) -> None:
        from audit.selectors import actor_kind_register
        from dispatch.selectors.fleet import driver_actor_names

        actor_kind_register("driver", driver_actor_names)
        register(NavItem("Overview", "dashboard:home", order=10, home=True))
        register(NavItem("Orders", "dashboard:order-list", order=20))
        register(
            NavItem(
                "Recurring",
                "dashboard:recurring-list",
                order=21,
                also=(
                    "dashboard:recurring-create",
                    "dashboard:recurring-detail",
                    "dashboard:recurring-edit",
                ),
            )
        )
        register(NavItem("Import", "dashboard:csv-import", order=30))
        register(NavItem("Depots", "dashboard:depot-list", order=40))
        register(NavItem("Vehicles", "dashboard:vehicle-list", order=41))
        register(NavItem("Drivers", "dashboard:driver-list", order=42))
        # Shopify's page (connecting by hand) is reached from the Stores page (stores.apps)
