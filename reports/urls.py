"""The reports pages under /reports/."""

from django.urls import path

from reports import views

urlpatterns = [
    path("", views.reports_view, name="reports"),
    path("<str:table>.csv", views.reports_csv_view, name="reports-csv"),
]
