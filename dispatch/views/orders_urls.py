"""Dashboard routes for orders (in the "dashboard" namespace)."""

from django.urls import path

from dispatch.views import orders

urlpatterns = [
    path("", orders.order_list_view, name="order-list"),
    path("new/", orders.order_create_view, name="order-create"),
    path("<int:order_id>/", orders.order_detail_view, name="order-detail"),
    path("<int:order_id>/edit/", orders.order_edit_view, name="order-edit"),
    path("<int:order_id>/cancel/", orders.order_cancel_view, name="order-cancel"),
    path("<int:order_id>/reschedule/", orders.order_reschedule_view, name="order-reschedule"),
]
