from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from audit import services
        from config.navigation import NavItem, register

        user_logged_in.connect(services.on_logged_in, dispatch_uid="audit-login")
        user_logged_out.connect(services.on_logged_out, dispatch_uid="audit-logout")
        user_login_failed.connect(services.on_login_failed, dispatch_uid="audit-login-failed")
        register(NavItem("Audit log", "audit-log", order=96, roles=("owner",), section="admin"))
