"""URLs on a tenant's host (<slug>.<TENANT_BASE_DOMAIN>): dashboard, API, websockets' HTTP side."""

from csp.decorators import csp_exempt
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from config.api import api_not_found
from tenants.views import handover_view

urlpatterns = [
    path("login/", account_views.TenantLoginView.as_view(), name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    # the one-time sign-in a new owner is sent to from the sign-up (tenants.handover)
    path("login/handover/<str:token>", handover_view, name="login-handover"),
    path("", include("dispatch.urls")),
    path("team/", include("accounts.urls")),
    path("settings/messages/", include("notifications.urls_dashboard")),
    path("", include("proofs.urls_dashboard")),
    path("settings/webhooks/", include("webhooks.urls_dashboard")),
    path("settings/audit/", include("audit.urls")),
    path("settings/", include("tenants.urls")),
    path("driver/", include("routing.driver_urls")),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("dispatch.api.urls")),
    path("api/v1/", include("routing.api.urls")),
    path("api/v1/", include("tracking.api.urls")),
    path("api/v1/", include("proofs.api_urls")),
    path("api/v1/", include("webhooks.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI starts itself with an inline script: the one page without the CSP
    path(
        "api/docs/",
        csp_exempt()(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    re_path(r"^api/", api_not_found, name="api-not-found"),  # last: any other /api/ path
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
