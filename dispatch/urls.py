"""The dashboard's intake pages (config/urls_tenant.py puts them in the "dashboard" namespace,
beside its home, tracking's operations overview): orders, the fleet (`<kind>-list`,
`-create`, `-edit`, `-deactivate`, `-reactivate` for depots, vehicles and drivers), CSV
import and export, integrations, and where addresses are (the type-ahead's search, an
order's pin, a location picked in a review)."""

from django.urls import path

from dispatch.views import csv_io, fleet, locations, orders, recurring, shopify

urlpatterns = [
    # orders
    path("orders/", orders.order_list_view, name="order-list"),
    path("orders/new/", orders.order_create_view, name="order-create"),
    path("orders/<int:order_id>/", orders.order_detail_view, name="order-detail"),
    path("orders/<int:order_id>/edit/", orders.order_edit_view, name="order-edit"),
    path("orders/<int:order_id>/cancel/", orders.order_cancel_view, name="order-cancel"),
    path(
        "orders/<int:order_id>/reschedule/",
        orders.order_reschedule_view,
        name="order-reschedule",
    ),
    path("orders/<int:order_id>/date/", orders.order_set_date_view, name="order-set-date"),
    path("orders/<int:order_id>/location/", locations.order_locate_view, name="order-locate"),
    # recurring orders
    path("recurring/", recurring.recurring_list_view, name="recurring-list"),
    path("recurring/new/", recurring.recurring_create_view, name="recurring-create"),
    path("recurring/preview/", recurring.recurring_preview_view, name="recurring-preview"),
    path("recurring/<int:pk>/", recurring.recurring_detail_view, name="recurring-detail"),
    path("recurring/<int:pk>/edit/", recurring.recurring_edit_view, name="recurring-edit"),
    path("recurring/<int:pk>/cancel/", recurring.recurring_cancel_view, name="recurring-cancel"),
    path(
        "recurring/<int:pk>/exceptions/",
        recurring.recurring_exception_view,
        name="recurring-exception",
    ),
    path(
        "recurring/<int:pk>/exceptions/<str:date>/remove/",
        recurring.recurring_exception_remove_view,
        name="recurring-exception-remove",
    ),
    # where addresses are (type-ahead, corrections)
    path("addresses/search/", locations.address_search_view, name="address-search"),
    path("addresses/locations/", locations.location_remember_view, name="location-remember"),
    # CSV import and export
    path("imports/", csv_io.csv_import_view, name="csv-import"),
    path("imports/export/", csv_io.orders_export_view, name="orders-export"),
    path("imports/<int:import_id>/", csv_io.csv_import_detail_view, name="csv-import-detail"),
    path(
        "imports/<int:import_id>/import/",
        csv_io.csv_import_commit_view,
        name="csv-import-commit",
    ),
    # integrations
    path("integrations/shopify/", shopify.shopify_view, name="shopify"),
    path(
        "integrations/shopify/<int:pk>/disconnect/",
        shopify.shopify_deactivate_view,
        name="shopify-disconnect",
    ),
]
for kind, plural in (("depot", "depots"), ("vehicle", "vehicles"), ("driver", "drivers")):
    urlpatterns += [
        path(f"fleet/{plural}/", fleet.fleet_list_view, {"kind": kind}, name=f"{kind}-list"),
        path(f"fleet/{plural}/new/", fleet.fleet_form_view, {"kind": kind}, name=f"{kind}-create"),
        path(
            f"fleet/{plural}/<int:pk>/",
            fleet.fleet_form_view,
            {"kind": kind},
            name=f"{kind}-edit",
        ),
        path(
            f"fleet/{plural}/<int:pk>/deactivate/",
            fleet.fleet_active_view,
            {"kind": kind, "is_active": False},
            name=f"{kind}-deactivate",
        ),
        path(
            f"fleet/{plural}/<int:pk>/reactivate/",
            fleet.fleet_active_view,
            {"kind": kind, "is_active": True},
            name=f"{kind}-reactivate",
        ),
    ]
