"""Queries of orders for the API and the dashboard."""

from __future__ import annotations

import django_filters
from django.db.models import F, Q, QuerySet

from dispatch.models import Order, OrderEvent, OrderStatus


class OrderFilter(django_filters.FilterSet):
    """The filters of the order list, shared by the API and the dashboard's table."""

    delivery_date = django_filters.DateFilter()
    date_from = django_filters.DateFilter(field_name="delivery_date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="delivery_date", lookup_expr="lte")
    needs_date = django_filters.BooleanFilter(
        field_name="delivery_date",
        lookup_expr="isnull",
        label="Needs a date (its date could not be read): true or false",
    )
    flexible = django_filters.BooleanFilter(
        method="filter_flexible",
        label="May go on a later day than its delivery date (a `latest_date`): true or false",
    )
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    source = django_filters.ChoiceFilter(choices=Order.Source.choices)
    kind = django_filters.ChoiceFilter(
        choices=Order.Kind.choices, label="delivery, or pickup (the first half of a pair)"
    )
    geocode_status = django_filters.ChoiceFilter(choices=Order.GeocodeStatus.choices)
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    search = django_filters.CharFilter(method="filter_search", max_length=100)

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_flexible(self, queryset: QuerySet[Order], name: str, value: bool) -> QuerySet[Order]:
        later = Q(latest_date__gt=F("delivery_date"))
        return queryset.filter(later) if value else queryset.exclude(later)

    def filter_search(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(customer_name__icontains=value)
            | Q(external_id__iexact=value)
            | Q(customer_email__icontains=value)
            | Q(customer_phone__contains=value)
            | Q(address_line1__icontains=value)
            | Q(postcode__iexact=value)
            | Q(city__icontains=value)
        )


def orders_list() -> QuerySet[Order]:
    # both ends of a pickup-and-delivery pair are shown with each order
    return Order.objects.select_related("pair_as_delivery__pickup", "pair_as_pickup__delivery")


def orders_needing_date_count() -> int:
    """How many open orders wait for the dispatcher to give them a date."""
    return Order.objects.filter(delivery_date__isnull=True, status=OrderStatus.UNASSIGNED).count()


def order_history(*, order: Order) -> QuerySet[OrderEvent]:
    return OrderEvent.objects.filter(order=order).order_by("created_at", "id")
