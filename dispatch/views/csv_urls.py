"""Dashboard routes for CSV import and export (in the "dashboard" namespace)."""

from django.urls import path

from dispatch.views import csv_io

urlpatterns = [
    path("", csv_io.csv_import_view, name="csv-import"),
    path("export/", csv_io.orders_export_view, name="orders-export"),
    path("<int:import_id>/", csv_io.csv_import_detail_view, name="csv-import-detail"),
    path("<int:import_id>/import/", csv_io.csv_import_commit_view, name="csv-import-commit"),
]
