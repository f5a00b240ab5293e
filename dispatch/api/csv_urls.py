"""API routes for CSV import and export (under /api/v1/)."""

from django.urls import path

from dispatch.api import csv_io

urlpatterns = [
    path("imports", csv_io.CsvImportListApi.as_view(), name="api-imports"),
    path("imports/<int:import_id>", csv_io.CsvImportDetailApi.as_view(), name="api-import"),
    path(
        "imports/<int:import_id>/mapping",
        csv_io.CsvImportMappingApi.as_view(),
        name="api-import-mapping",
    ),
    path(
        "imports/<int:import_id>/preview",
        csv_io.CsvImportPreviewApi.as_view(),
        name="api-import-preview",
    ),
    path(
        "imports/<int:import_id>/commit",
        csv_io.CsvImportCommitApi.as_view(),
        name="api-import-commit",
    ),
    path("orders/export.csv", csv_io.OrderExportApi.as_view(), name="api-orders-export"),
]
