"""The dispatch API's routes (config/urls_tenant.py mounts them under /api/v1/)."""

from django.urls import path

from dispatch.api.views import csv_io, fleet, locations, orders, recurring, shopify

urlpatterns = [
    # orders
    path("orders", orders.OrderListApi.as_view(), name="api-orders"),
    path("orders/bulk", orders.OrderBulkApi.as_view(), name="api-orders-bulk"),
    path("orders/<int:order_id>", orders.OrderDetailApi.as_view(), name="api-order"),
    path("orders/<int:order_id>/cancel", orders.OrderCancelApi.as_view(), name="api-order-cancel"),
    path(
        "orders/<int:order_id>/reschedule",
        orders.OrderRescheduleApi.as_view(),
        name="api-order-reschedule",
    ),
    path("orders/<int:order_id>/events", orders.OrderEventsApi.as_view(), name="api-order-events"),
    # recurring orders
    path("recurring-orders", recurring.RecurringOrderListApi.as_view(), name="api-recurring"),
    path(
        "recurring-orders/<int:pk>",
        recurring.RecurringOrderDetailApi.as_view(),
        name="api-recurring-order",
    ),
    path(
        "recurring-orders/<int:pk>/exceptions",
        recurring.RecurrenceExceptionListApi.as_view(),
        name="api-recurring-exceptions",
    ),
    path(
        "recurring-orders/<int:pk>/exceptions/<str:date>",
        recurring.RecurrenceExceptionDetailApi.as_view(),
        name="api-recurring-exception",
    ),
    # where addresses are
    path("addresses", locations.AddressSearchApi.as_view(), name="api-addresses"),
    # depots, vehicles, drivers
    path("depots", fleet.DepotListApi.as_view(), name="api-depots"),
    path("depots/<int:pk>", fleet.DepotDetailApi.as_view(), name="api-depot"),
    path("vehicles", fleet.VehicleListApi.as_view(), name="api-vehicles"),
    path("vehicles/<int:pk>", fleet.VehicleDetailApi.as_view(), name="api-vehicle"),
    path("drivers", fleet.DriverListApi.as_view(), name="api-drivers"),
    path("drivers/<int:pk>", fleet.DriverDetailApi.as_view(), name="api-driver"),
    # CSV import and export
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
    # Shopify
    path(
        "integrations/shopify/webhooks",
        shopify.ShopifyWebhookApi.as_view(),
        name="api-shopify-webhooks",
    ),
    path("integrations/shopify", shopify.ShopifyIntegrationApi.as_view(), name="api-shopify"),
    path(
        "integrations/shopify/<int:pk>",
        shopify.ShopifyIntegrationDetailApi.as_view(),
        name="api-shopify-store",
    ),
]
