from django.urls import include, path

from dispatch import views
from tracking import views as tracking_views

app_name = "dashboard"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("orders/", include("dispatch.views.orders_urls")),
    path("fleet/", include("dispatch.views.fleet_urls")),
    path("imports/", include("dispatch.views.csv_urls")),
    path("integrations/", include("dispatch.views.shopify_urls")),
    path("plans/", include("routing.urls")),
    path("reports/", include("reports.urls")),
    path("live/", tracking_views.live_map_view, name="live-map"),
]
