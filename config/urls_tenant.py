"""URLs on a tenant's host (<slug>.<TENANT_BASE_DOMAIN>): dashboard, API, websockets' HTTP side."""

from csp.decorators import csp_exempt
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from config.api import api_not_found
from core.i18n import catalog_urlpatterns
from dispatch import urls as dispatch_urls
from notifications import urls as notifications_urls
from proofs import urls as proofs_urls
from routing.views import board as board_views
from tenants.views import handover_view
from tracking import urls as tracking_urls
from tracking.views import overview

# The dashboard's pages, one namespace over the apps that serve them.
dashboard_patterns = [
    path("", overview.overview_view, name="home"),  # the operations overview of today
    *dispatch_urls.urlpatterns,
    path("plans/", include("routing.urls")),
    path("board/", board_views.day_board_view, name="day-board"),
    path("reports/", include("reports.urls")),
    *tracking_urls.dashboard_patterns,
    path("settings/learning/", include(tracking_urls.learning_patterns)),
]
# The driver's app: the day's pages and the proof form.
driver_patterns = [
    *tracking_urls.driver_patterns,
    *proofs_urls.driver_patterns,
    *notifications_urls.driver_patterns,
]

urlpatterns = [
    path("login/", account_views.TenantLoginView.as_view(), name="login"),
    path("logout/", account_views.logout_view, name="logout"),
    # the signed-in person's own language (the top bar's menu)
    path("account/language/", account_views.language_view, name="language"),
    # the one-time sign-in a new owner is sent to from the sign-up (tenants.services.handover)
    path("login/handover/<str:token>", handover_view, name="login-handover"),
    path("", include((dashboard_patterns, "dashboard"))),
    path("team/", include("accounts.urls")),
    path("settings/messages/", include(notifications_urls.settings_patterns)),
    path("conversations/", include(notifications_urls.conversation_patterns)),
    path("settings/calls/", include(notifications_urls.calls_patterns)),
    path("", include(proofs_urls.urlpatterns)),
    path("settings/webhooks/", include("webhooks.urls")),
    path("settings/stores/", include("stores.urls")),
    path("settings/audit/", account_views.audit_log_view, name="audit-log"),
    path("settings/brand/", include(tracking_urls.brand_patterns)),
    path("settings/", include("tenants.urls")),
    path("driver/", include((driver_patterns, "driver"))),
    path("notifications/", include("notifications.urls")),
    path("api/v1/", include("tenants.api.urls")),
    path("api/v1/", include("dispatch.api.urls")),
    path("api/v1/", include("routing.api.urls")),
    path("api/v1/", include("tracking.api.urls")),
    path("api/v1/", include("proofs.api.urls")),
    path("api/v1/", include("webhooks.api.urls")),
    path("api/v1/", include("stores.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI starts itself with an inline script: the one page without the CSP
    path(
        "api/docs/",
        csp_exempt()(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    # the JavaScript catalog (gettext in scripts), one address per language
    *catalog_urlpatterns(),
    re_path(r"^api/", api_not_found, name="api-not-found"),  # last: any other /api/ path
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
