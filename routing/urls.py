"""The planning pages under /plans/ of the dashboard."""

from django.urls import path

from routing.views import alerts as alert_views
from routing.views import board as board_views
from routing.views import labels as label_views
from routing.views import multi_day as multi_day_views
from routing.views import plans as views

urlpatterns = [
    path("", views.plan_list_view, name="plans"),
    path("alerts/seen", alert_views.alerts_seen_view, name="alerts-seen"),
    path("days/new", multi_day_views.multi_day_create_view, name="multi-day-new"),
    path("days/<int:multi_id>/", multi_day_views.multi_day_detail_view, name="multi-day-detail"),
    path(
        "days/<int:multi_id>/status",
        multi_day_views.multi_day_status_view,
        name="multi-day-status",
    ),
    path(
        "days/<int:multi_id>/publish",
        multi_day_views.multi_day_publish_view,
        name="multi-day-publish",
    ),
    path("<int:plan_id>/", views.plan_detail_view, name="plan-detail"),
    path("<int:plan_id>/status", views.plan_status_view, name="plan-status"),
    path("<int:plan_id>/board", board_views.board_view, name="board"),
    path("<int:plan_id>/board/state", board_views.board_state_view, name="board-state"),
    path("<int:plan_id>/board/drop", board_views.board_drop_view, name="board-drop"),
    path("<int:plan_id>/routes.csv", views.plan_csv_view, name="plan-csv"),
    path("<int:plan_id>/routes/<int:route_id>/sheet", views.route_sheet_view, name="route-sheet"),
    path("<int:plan_id>/labels.pdf", label_views.plan_labels_view, name="plan-labels"),
    path(
        "<int:plan_id>/routes/<int:route_id>/labels.pdf",
        label_views.route_labels_view,
        name="route-labels",
    ),
    path("<int:plan_id>/<slug:action>", views.plan_action_view, name="plan-action"),
]
