from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from django.core.checks import Tags
        from django.core.checks import register as check_register
        from django_q.signals import post_execute

        import tenants.api.schema  # noqa: F401 - registers the API key scheme with drf-spectacular
        from audit.selectors import actor_kind_register
        from core.navigation import NavItem, register
        from core.startup import unsafe_configuration_check
        from tenants.selectors import api_key_actor_names
        from tenants.tasks import job_finished

        actor_kind_register("api_key", api_key_actor_names)
        check_register(unsafe_configuration_check, Tags.security, deploy=True)

        post_execute.connect(job_finished, dispatch_uid="tenants.job_finished")

        register(
            NavItem(_("API keys"), "tenants:api-keys", order=91, roles=("owner",), section="admin")
        )
        register(
            NavItem(_("Settings"), "tenants:settings", order=92, roles=("owner",), section="admin")
        )
        register(
            NavItem(_("Roads"), "tenants:roads", order=92.5, roles=("owner",), section="admin")
        )
