"""The planning pages under /plans/ of the dashboard."""

from django.urls import path

from routing import views

urlpatterns = [
    path("", views.plan_list_view, name="plans"),
    path("<int:plan_id>/", views.plan_detail_view, name="plan-detail"),
    path("<int:plan_id>/status", views.plan_status_view, name="plan-status"),
    path("<int:plan_id>/routes.csv", views.plan_csv_view, name="plan-csv"),
    path("<int:plan_id>/routes/<int:route_id>/sheet", views.route_sheet_view, name="route-sheet"),
    path("<int:plan_id>/<slug:action>", views.plan_action_view, name="plan-action"),
]
