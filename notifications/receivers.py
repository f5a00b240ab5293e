"""What notifications does when orders and routes change: the work goes to jobs
(notifications.tasks) once the change is committed."""

from __future__ import annotations

from django.db import connection, transaction
from django.dispatch import receiver
from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.models.orders import FINAL_STATUSES
from dispatch.signals import (
    order_rescheduled,
    order_status_changed,
    orders_created,
    orders_redacted,
)
from notifications import tasks
from notifications.models import Notification
from notifications.services.masking import sessions_close_for_order
from routing.models import PlanStop
from routing.signals import plan_published, route_version_created
from tenants.models import TrackingLink
from tenants.selectors import current_tenant
from tenants.tasks import enqueue_after_commit


@receiver(order_status_changed, dispatch_uid="notify-status")
def on_status_changed(sender, *, order, from_status, to_status, **kwargs) -> None:
    """Receiver of `order_status_changed`: the work goes to a job after the commit."""
    if to_status not in ("en_route", "delivered", "failed"):
        return
    enqueue_after_commit(
        tasks.on_order_status, order.pk, str(to_status), task_name=f"notify-{to_status}-{order.pk}"
    )


@receiver(order_status_changed, dispatch_uid="masked-sessions-close")
def on_order_finished(sender, *, order, to_status, **kwargs) -> None:
    """Receiver of `order_status_changed`: a delivered, failed or cancelled order's masked
    sessions close once that is committed (the check at call time stays the authority)."""
    if to_status not in FINAL_STATUSES:
        return
    schema, order_id = connection.schema_name, order.pk

    def close() -> None:
        with schema_context(schema):
            sessions_close_for_order(order_id=order_id)

    transaction.on_commit(close)


@receiver(orders_created, dispatch_uid="notify-created")
def on_orders_created(sender, *, order_ids, **kwargs) -> None:
    """Receiver of `orders_created`: one job confirms the whole batch. An order that
    needs a date hears nothing yet: it is confirmed when it gets its day."""
    dated = list(
        Order.objects.filter(pk__in=order_ids, delivery_date__isnull=False).values_list(
            "pk", flat=True
        )
    )
    if dated:
        enqueue_after_commit(tasks.notify_orders, dated, "confirmed", task_name="notify-confirmed")


@receiver(route_version_created, dispatch_uid="notify-version")
def on_route_version(sender, *, version, **kwargs) -> None:
    """Receiver of `route_version_created` (a stop moved, an urgent order, a failed stop):
    the route's customers are checked against what they were promised, after the commit."""
    enqueue_after_commit(
        tasks.route_watch_by_id, version.route_id, task_name=f"route-watch-{version.route_id}"
    )


@receiver(order_rescheduled, dispatch_uid="notify-rescheduled")
def on_rescheduled(sender, *, order, old_date=None, notify_customer=True, **kwargs) -> None:
    """Receiver of `order_rescheduled`: the customer hears the new day and window, once
    per new day and window; an order that needed a date is confirmed on its first day.
    A rebooking made without telling the customer (a draft multi-day plan's choice of day:
    publishing it tells them) sends nothing."""
    if not notify_customer:
        return
    if old_date is None:
        enqueue_after_commit(
            tasks.notify_orders, [order.pk], "confirmed", task_name="notify-confirmed"
        )
        return
    enqueue_after_commit(
        tasks.notify_rescheduled, order.pk, task_name=f"notify-rescheduled-{order.pk}"
    )


#: Who rebooks an order for the day a multi-day plan chose (routing.services.multi_day).
MULTI_DAY_ACTOR = "system:multi-day"


@receiver(plan_published, dispatch_uid="notify-multi-day-published")
def on_plan_published(sender, *, plan, routes, **kwargs) -> None:
    """Receiver of `plan_published`: the customers whose order a multi-day plan moved to
    this day (silently, while it was a draft) hear of their day and window now; once per
    day and window, as any rescheduling. Any plan of the day, not only the multi-day
    plan's own: a dispatcher who discards the draft and plans the day again still
    publishes the day the order was moved to. One query; `notify_rescheduled` sends
    nothing new to a customer already told this day and window."""
    moved = (
        PlanStop.objects.filter(
            route__in=routes,
            order__events__actor=MULTI_DAY_ACTOR,
            order__delivery_date=plan.date,
        )
        .values_list("order_id", flat=True)
        .distinct()
    )
    for order_id in moved:
        enqueue_after_commit(
            tasks.notify_rescheduled, order_id, task_name=f"notify-rescheduled-{order_id}"
        )


@receiver(orders_redacted, dispatch_uid="notify-redact")
def on_orders_redacted(sender, *, order_ids, **kwargs) -> None:
    """Receiver of `orders_redacted`: the messages' addresses and texts (which hold the
    customer's name, number and links) are forgotten, and the tracking links stop working."""
    Notification.objects.filter(order_id__in=order_ids).update(to="", body="[redacted]")
    TrackingLink.objects.filter(tenant=current_tenant(), order_id__in=order_ids).delete()
