"""Read-only queries of notifications: the conversations with customers (their texts and
the dispatchers' answers), as the order page, the inbox and the board's badge show them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Q, QuerySet

from dispatch.models import Order
from notifications.models import CustomerMessage, SmsOptOut

_UNREAD = Q(direction=CustomerMessage.Direction.INBOUND, read_at__isnull=True)


def unread_count() -> int:
    """The tenant's customer texts nobody has read yet (on an order or not)."""
    return CustomerMessage.objects.filter(_UNREAD).count()


def order_thread(*, order: Order) -> QuerySet[CustomerMessage]:
    """The order's conversation, oldest first, with who answered."""
    return CustomerMessage.objects.filter(order=order).select_related("sent_by")


def phone_thread(*, phone: str) -> QuerySet[CustomerMessage]:
    """The texts of a number that matched no order, oldest first."""
    return CustomerMessage.objects.filter(order__isnull=True, phone=phone).select_related("sent_by")


def sms_opted_out(*, phone: str) -> bool:
    """Whether the number answered STOP (and not START since)."""
    return bool(phone) and SmsOptOut.objects.filter(phone=phone).exists()


@dataclass(frozen=True)
class Thread:
    """One line of the inbox: an order's conversation, or a number's texts that matched no
    order (`order` None)."""

    order: Order | None
    phone: str
    last: CustomerMessage
    unread: int
    count: int


def inbox_threads(*, limit: int = 500) -> list[Thread]:
    """Every conversation, unread ones first, then the newest first (at most `limit`)."""
    by_order = (
        CustomerMessage.objects.filter(order__isnull=False)
        .values("order_id")
        .annotate(last_id=Max("id"), unread=Count("id", filter=_UNREAD), count=Count("id"))
    )
    by_phone = (
        CustomerMessage.objects.filter(order__isnull=True)
        .values("phone")
        .annotate(last_id=Max("id"), unread=Count("id", filter=_UNREAD), count=Count("id"))
    )
    rows = sorted(
        [*by_order, *by_phone],
        key=lambda row: (row["unread"] == 0, -row["last_id"]),  # ids grow with time
    )[:limit]
    lasts = CustomerMessage.objects.in_bulk([row["last_id"] for row in rows])
    orders = Order.objects.in_bulk([row["order_id"] for row in rows if row.get("order_id")])
    threads = []
    for row in rows:
        last = lasts[row["last_id"]]
        order = orders.get(row.get("order_id"))
        threads.append(
            Thread(
                order=order,
                phone=last.phone,
                last=last,
                unread=row["unread"],
                count=row["count"],
            )
        )
    return threads
