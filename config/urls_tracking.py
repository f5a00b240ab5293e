"""URLs on a business's own tracking host (track.florist.example: a tenants.Domain marked
`is_tracking_host`, routed here by tenants.middleware.TenantMiddleware): the customer's
tracking page and what it loads, nothing of the dashboard. A link of another tenant is
not found here (tracking.views.customer.for_this_host); the page's websocket,
/ws/track/<token>/, is routed by config/websockets.py on every host."""

from django.urls import path

from core.i18n import catalog_urlpatterns
from proofs.views import customer_file_view
from tracking.views.customer import (
    for_this_host,
    tracking_logo_view,
    tracking_page_view,
    tracking_path_view,
    tracking_rating_view,
)

urlpatterns = [
    path("t/<str:token>", for_this_host(tracking_page_view), name="track"),
    path("t/<str:token>/path", for_this_host(tracking_path_view), name="track-path"),
    path("t/<str:token>/rating", for_this_host(tracking_rating_view), name="track-rating"),
    path(
        "t/<str:token>/proof/<int:proof_id>/<str:kind>",
        for_this_host(customer_file_view),
        name="track-proof",
    ),
    path(
        "t/<str:token>/logo/<str:digest>.png",
        for_this_host(tracking_logo_view),
        name="track-logo",
    ),
    *catalog_urlpatterns(),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
