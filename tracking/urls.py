"""The day's pages. config/urls_tenant.py mounts `driver_patterns` under /driver/ (the
"driver" namespace, with proofs' stop-completion page), `dashboard_patterns` in the
dashboard, `learning_patterns` under /settings/learning/ (in the dashboard's namespace) and
`brand_patterns` under /settings/brand/; the customer's page is on the
public host (config/urls_public.py) and on a business's own tracking host
(config/urls_tracking.py)."""

from django.urls import path

from tracking.views import brand, dispatch, driver, learning

driver_patterns = [
    path("", driver.driver_route_view, name="route"),
    path("version", driver.driver_version_view, name="version"),
    path("path", driver.driver_path_view, name="path"),
    path("duty", driver.duty_view, name="duty"),
    path("stops", driver.stop_view, name="stop"),
    path("scans", driver.scan_view, name="scan"),
    path("settings", driver.settings_view, name="settings"),
    path("token", driver.token_view, name="token"),
    path("manifest.webmanifest", driver.manifest_view, name="manifest"),
    path("sw.js", driver.service_worker_view, name="service-worker"),
]

#: The owner's Brand page and the logo on the tenant's host, under /settings/brand/.
brand_patterns = [
    path("", brand.brand_settings_view, name="brand-settings"),
    path("logo/<str:digest>.png", brand.brand_logo_view, name="brand-logo"),
]

#: The Learned times page, under /settings/learning/ in the dashboard's namespace.
learning_patterns = [
    path("", learning.learning_view, name="learning"),
    path("switch", learning.learning_switch_view, name="learning-switch"),
    path("run", learning.learning_run_view, name="learning-run"),
]

dashboard_patterns = [
    path("live/", dispatch.live_map_view, name="live-map"),
]
