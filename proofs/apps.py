from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProofsConfig(AppConfig):
    name = "proofs"
    verbose_name = "Proof of delivery"

    def ready(self) -> None:
        from core.navigation import NavItem, register
        from proofs import receivers  # noqa: F401 - and services registers the proof rule

        register(
            NavItem(
                _("Proof of delivery"),
                "proof-settings",
                order=94,
                roles=("owner",),
                section="admin",
            )
        )
