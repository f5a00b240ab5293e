from django.apps import AppConfig


class ProofsConfig(AppConfig):
    name = "proofs"
    verbose_name = "Proof of delivery"

    def ready(self) -> None:
        from config.navigation import NavItem, register

        register(
            NavItem("Proof of delivery", "proof-settings", order=94, roles=("owner",),
                    section="admin")
        )  # fmt: skip
