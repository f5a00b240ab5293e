from django.apps import AppConfig


class ProofsConfig(AppConfig):
    name = "proofs"
    verbose_name = "Proof of delivery"

    def ready(self) -> None:
        from config.navigation import NavItem, register
        from dispatch.signals import orders_redacted
        from proofs.services import on_orders_redacted

        orders_redacted.connect(on_orders_redacted, dispatch_uid="proofs-redact")

        register(
            NavItem("Proof of delivery", "proof-settings", order=94, roles=("owner",),
                    section="admin")
        )  # fmt: skip
