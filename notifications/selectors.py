"""Read-only queries of notifications: the conversations with customers (their texts and
the dispatchers' answers), as the order page, the inbox and the board's badge show them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, CharField, Count, F, Max, Q, QuerySet, Value, When

from dispatch.models import Order
from notifications.models import CustomerMessage, SmsOptOut

_UNREAD = Q(direction=CustomerMessage.Direction.INBOUND, read_at__isnull=True)


def unread_count() -> int:
    """The tenant's customer texts nobody has read yet (on an order or not)."""
    return CustomerMessage.objects.filter(_UNREAD).count()


def order_thread(*, order: Order) -> QuerySet[CustomerMessage]:
    """The order's conversation, oldest first, with who answered."""
    return CustomerMessage.objects.filter(order=order).select_related("sent_by")


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


def inbox_rows() -> QuerySet:
    """One row per conversation (an order's, or the texts of a number that matched no
    order): its last message's id, unread and total counts; unread ones first, then the
    newest first. Sorted and counted in the database, so the inbox pages through every
    thread however many there are."""
    return (
        CustomerMessage.objects.annotate(
            thread_phone=Case(
                When(order__isnull=True, then=F("phone")),
                default=Value(""),
                output_field=CharField(),
            )
        )
        .values("order_id", "thread_phone")
        .annotate(last_id=Max("id"), unread=Count("id", filter=_UNREAD), count=Count("id"))
        .annotate(all_read=Case(When(unread=0, then=Value(1)), default=Value(0)))
        .order_by("all_read", "-last_id")  # ids grow with time
    )


def inbox_threads(rows: Iterable[dict]) -> list[Thread]:
    """The inbox's lines for `rows` of `inbox_rows` (one page of them): two queries."""
    rows = list(rows)
    lasts = CustomerMessage.objects.in_bulk([row["last_id"] for row in rows])
    orders = Order.objects.in_bulk([row["order_id"] for row in rows if row["order_id"]])
    return [
        Thread(
            order=orders.get(row["order_id"]),
            phone=lasts[row["last_id"]].phone,
            last=lasts[row["last_id"]],
            unread=row["unread"],
            count=row["count"],
        )
        for row in rows
    ]
