"""API routes for orders (under /api/v1/)."""

from django.urls import path

from dispatch.api import orders

urlpatterns = [
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
]
