"""URLs on the public host: sign-up (page and API), the operators' admin, the API schema,
tracking pages, and the Shopify app's callback and webhooks."""

import django.contrib.auth.admin  # noqa: F401 - registers Group
import django_q.admin  # noqa: F401 - background jobs, for operators
from csp.decorators import csp_exempt
from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

import accounts.admin  # noqa: F401
import tenants.admin  # noqa: F401
from core.i18n import catalog_urlpatterns
from proofs.views import customer_file_view
from stores.views import shopify_public
from tenants.api.views import SignupApi
from tenants.views import signup_view
from tracking.views.customer import (
    tracking_logo_view,
    tracking_page_view,
    tracking_path_view,
    tracking_rating_view,
)

urlpatterns = [
    path("", signup_view, name="signup"),
    path("admin/", admin.site.urls),
    path("t/<str:token>", tracking_page_view, name="track"),
    path("t/<str:token>/path", tracking_path_view, name="track-path"),
    path("t/<str:token>/rating", tracking_rating_view, name="track-rating"),
    path("t/<str:token>/proof/<int:proof_id>/<str:kind>", customer_file_view, name="track-proof"),
    path("t/<str:token>/logo/<str:digest>.png", tracking_logo_view, name="track-logo"),
    path("api/v1/signup", SignupApi.as_view(), name="api-signup"),
    # the JavaScript catalog (gettext in scripts), one address per language
    *catalog_urlpatterns(),
    # the Shopify app's addresses, as its shopify.app.toml declares them
    path("shopify/callback", shopify_public.callback_view, name="shopify-app-callback"),
    path(
        "shopify/webhooks",
        shopify_public.AppWebhookApi.as_view(),
        name="shopify-app-webhooks",
    ),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(urlconf="config.urls_public"),
        name="public-api-schema",
    ),
    path(
        "api/docs/",
        csp_exempt()(SpectacularSwaggerView.as_view(url_name="public-api-schema")),
        name="public-api-docs",
    ),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
