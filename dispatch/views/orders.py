"""The dispatcher's order pages: the filtered table, create / edit, detail with history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import dispatcher_required
from core.forms import flash_service_errors
from dispatch.forms import OrderActionForm, OrderForm
from dispatch.models import Order, OrderStatus
from dispatch.selectors.codes import label_code
from dispatch.selectors.locations import order_pin
from dispatch.selectors.orders import (
    OrderFilter,
    order_history,
    orders_list,
    orders_needing_date_count,
)
from dispatch.services import orders as order_services
from dispatch.services.pairs import partner_of

PAGE_SIZE = 50
#: How a day is written in a message ("Monday 07 December"), in the page's language.
LONG_DAY = "l d F"


@dispatcher_required
def order_list_view(request: HttpRequest) -> HttpResponse:
    # the filter form sends every field, "Any" as empty: an empty one filters nothing (a
    # status "" is otherwise "not one of the available choices")
    data = request.GET.copy()
    for name in [name for name, values in data.lists() if values == [""]]:
        del data[name]
    filters = OrderFilter(data, queryset=orders_list())
    queryset = filters.qs if filters.is_valid() else orders_list().none()
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dispatch/orders/list.html",
        {
            "filters": filters,
            "page": page,
            "statuses": OrderStatus.choices,
            "query": query.urlencode(),
            "needs_date_count": orders_needing_date_count(),
        },
    )


@dispatcher_required
def order_create_view(request: HttpRequest) -> HttpResponse:
    form = OrderForm(request.POST or None, address_search_url=reverse("dashboard:address-search"))
    if request.method == "POST" and form.is_valid():
        try:
            order = order_services.order_create(form.to_order_data(), source=Order.Source.DASHBOARD)
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        except order_services.OrderConflict as conflict:
            form.add_error(
                "external_id",
                _("Order #%(id)s already has this reference.") % {"id": conflict.order_id},
            )
        else:
            messages.success(
                request,
                _("Order #%(id)s for %(name)s created.")
                % {"id": order.pk, "name": order.customer_name},
            )
            return redirect("dashboard:order-detail", order_id=order.pk)
    return render(request, "dispatch/orders/form.html", {"form": form, "order": None})


@dispatcher_required
def order_edit_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    form = OrderForm(
        request.POST or None,
        initial=OrderForm.initial_from(order),
        address_search_url=reverse("dashboard:address-search"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            order_services.order_update(order=order, data=form.to_order_data())
        except ValidationError as exc:
            form.add_service_errors(exc.message_dict)
        else:
            messages.success(request, _("Order saved."))
            return redirect("dashboard:order-detail", order_id=order.pk)
    return render(request, "dispatch/orders/form.html", {"form": form, "order": order})


@dispatcher_required
def order_detail_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    return render(
        request,
        "dispatch/orders/detail.html",
        {
            "order": order,
            "label_code": label_code(order),
            "events": order_history(order=order),
            "notifications": order.notifications.prefetch_related("attempts_made"),
            "proofs": order.proofs.select_related("driver"),
            "pin": order_pin(order=order),
            "map_settings": {"RESET_VIEW": False},
            # a pickup-and-delivery pair: the other end, linked from this one
            "partner": partner_of(order),
        },
    )


@dispatcher_required
@require_POST
def order_cancel_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    form = OrderActionForm(request.POST)
    if not form.is_valid():
        flash_service_errors(request, ValidationError(form.errors.as_data()))
        return redirect("dashboard:order-detail", order_id=order.pk)
    try:
        order_services.order_transition(
            order=order,
            to=OrderStatus.CANCELLED,
            reason=form.cleaned_data["reason"][:300],
        )
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        messages.success(request, _("Order #%(id)s is cancelled.") % {"id": order.pk})
    return redirect("dashboard:order-detail", order_id=order.pk)


@dispatcher_required
@require_POST
def order_reschedule_view(request: HttpRequest, order_id: int) -> HttpResponse:
    """Another day (and window) for an order: a failed delivery tried again, or a
    customer's request. The customer is told."""
    order = get_object_or_404(Order, pk=order_id)
    form = OrderActionForm(request.POST)
    if not form.is_valid():
        flash_service_errors(request, ValidationError(form.errors.as_data()))
        return redirect("dashboard:order-detail", order_id=order.pk)
    values = form.cleaned_data
    start, end = values["window_start"], values["window_end"]
    try:
        order = order_services.order_reschedule(
            order=order,
            delivery_date=values["delivery_date"],
            time_windows=[{"start": start, "end": end}] if start or end else [],
            reason=values["reason"][:300],
        )
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        day = date_format(order.delivery_date, LONG_DAY)
        messages.success(
            request, _("Order #%(id)s is booked for %(day)s.") % {"id": order.pk, "day": day}
        )
    return redirect("dashboard:order-detail", order_id=order.pk)


@dispatcher_required
@require_POST
def order_set_date_view(request: HttpRequest, order_id: int) -> HttpResponse:
    """A date for an order that needs one (the store's could not be read), from the
    order list: it joins that day's pool, keeps its windows, and its customer is told.
    Back to the orders still needing a date."""
    order = get_object_or_404(Order, pk=order_id)
    form = OrderActionForm(request.POST)
    back = f"{reverse('dashboard:order-list')}?needs_date=true"
    if not form.is_valid():
        flash_service_errors(request, ValidationError(form.errors.as_data()))
        return redirect(back)
    try:
        order = order_services.order_reschedule(
            order=order,
            delivery_date=form.cleaned_data["delivery_date"],
            reason="date given by the dispatcher",
        )
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        day = date_format(order.delivery_date, LONG_DAY)
        messages.success(
            request, _("Order #%(id)s is booked for %(day)s.") % {"id": order.pk, "day": day}
        )
    return redirect(back)
