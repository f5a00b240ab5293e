"""What every online store's intake shares, whatever the platform (Shopify, WooCommerce, a
third one): a signed webhook stored once per delivery id and applied in a job that is safe
to run twice, and an order from the store created, brought up to date or cancelled.

A platform module (dispatch.services.shopify, stores.services.sources.woocommerce) verifies its own
signatures and turns its own JSON into an `IncomingOrder`; everything after that is here.
Which store an order came from is the actor of its creation event (`<platform>:<store>`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from dispatch.models import Order, OrderStatus, WebhookEvent
from dispatch.models.orders import FINAL_STATUSES

# the module, not its names: dispatch.services.orders → .geocoding → dispatch.tasks → here
from dispatch.services import orders as order_services
from dispatch.services.order_input import UnreadDate, order_clean

logger = logging.getLogger(__name__)

PROCESSED, IGNORED, FAILED = (
    WebhookEvent.Status.PROCESSED,
    WebhookEvent.Status.IGNORED,
    WebhookEvent.Status.FAILED,
)
# A stored event still waiting after this long had its job lost (worker down, queue
# unreachable): the store's next retry of it queues it again.
REQUEUE_AFTER = dt.timedelta(minutes=2)

#: A topic's handler: applies the stored event in the tenant's schema, says what became of it.
Handler = Callable[[WebhookEvent], tuple[str, str]]


class WebhookRefused(Exception):
    """Not a genuine webhook of a store connected here: unknown store, missing or wrong
    signature (answer 401, nothing kept)."""


class WebhookMalformed(Exception):
    """Signed by the store, but not a JSON object we can keep (answer 400)."""


class WebhookQueueFailed(Exception):
    """Stored, but its job could not be queued (answer 503: the store retries, and the
    retry queues it again)."""


@dataclass(frozen=True)
class Receipt:
    event_id: str
    duplicate: bool


def actor(platform: str, store: str) -> str:
    """The actor of what a store does to its orders, which also names the store."""
    return f"{platform}:{store}"


def origin(order: Order) -> tuple[str, str] | None:
    """(platform, store) of the store that created `order`, from its creation event; None
    for orders that did not come from a store."""
    first = order.events.filter(from_status="").values_list("actor", flat=True).first()
    if not first or ":" not in first:
        return None
    platform, store = first.split(":", 1)
    return (platform, store) if platform == order.source else None


def store_orders(platform: str, store: str):
    """The orders a store created."""
    return Order.objects.filter(
        source=platform, events__from_status="", events__actor=actor(platform, store)
    )


# --- receiving ----------------------------------------------------------------------------


def event_store(
    *,
    source: str,
    event_id: str,
    topic: str,
    store: str,
    payload: dict[str, Any],
    body: bytes,
    queue: Callable[[str, int], None],
    triggered_at: dt.datetime | None = None,
) -> Receipt:
    """Keep a verified webhook once per delivery id (its body's digest when the store
    sends none) and queue `queue(schema, event_pk)` after the commit. A repeat answers a
    duplicate receipt and changes nothing (but queues again an event whose job was lost).
    `triggered_at`: when the store says the event happened, if it says."""
    event_id = (event_id or "").strip()[:100] or hashlib.sha256(body).hexdigest()
    schema = connection.schema_name
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                source=source,
                event_id=event_id,
                topic=topic.strip()[:100],
                shop_domain=store[:255],
                payload=payload,
                triggered_at=triggered_at,
            )
    except IntegrityError:
        stored = WebhookEvent.objects.filter(source=source, event_id=event_id).first()
        if (
            stored is not None
            and stored.status == WebhookEvent.Status.RECEIVED
            and stored.received_at < timezone.now() - REQUEUE_AFTER
        ):
            _queue_or_fail(queue, schema, stored.pk)
        return Receipt(event_id=event_id, duplicate=True)
    except DataError as exc:  # e.g. "\u0000" in a string, which jsonb cannot hold
        raise WebhookMalformed() from exc
    transaction.on_commit(lambda: _queue_or_fail(queue, schema, event.pk))
    return Receipt(event_id=event_id, duplicate=False)


def _queue_or_fail(queue: Callable[[str, int], None], schema: str, event_pk: int) -> None:
    try:
        queue(schema, event_pk)
    except Exception as exc:
        logger.exception("could not queue store webhook event %s in %s", event_pk, schema)
        raise WebhookQueueFailed() from exc


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{name}: {' '.join(m)}" for name, m in exc.message_dict.items())
    return "; ".join(exc.messages)


def event_process(event_pk: int, handlers: Mapping[str, Handler]) -> str:
    """Apply a stored webhook (in the current tenant schema) with its topic's handler and
    record what became of it (processed, ignored, failed, with a detail). Runs once per
    event even if queued twice; returns the event's status."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_pk).first()
        if event is None:
            return "missing"
        if event.status != WebhookEvent.Status.RECEIVED:
            return event.status
        handler = handlers.get(event.topic)
        try:
            with transaction.atomic():  # a failure undoes the handler's writes, not the record
                if handler is None:
                    status, detail = IGNORED, f"Topic {event.topic!r} is not used."
                else:
                    status, detail = handler(event)
        except ValidationError as exc:
            status, detail = FAILED, _describe(exc)
        except Exception as exc:  # kept on the event for the owner to see, and logged
            logger.exception("%s webhook event %s could not be applied", event.source, event_pk)
            status, detail = FAILED, f"Could not be applied ({type(exc).__name__})."
        event.status, event.detail = status, detail[:500]
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "detail", "processed_at", "payload"])
    return event.status


# --- applying an order ----------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingOrder:
    """A store's order, in our order input's terms (`data`, as order_clean takes it, with
    `external_id`), and what the store said beside it."""

    external_id: str
    data: dict[str, Any]
    has_address: bool
    updated_at: dt.datetime | None = None
    date_given: bool = True  # else an update keeps the order's day instead of the default
    windows_given: bool = True  # else an update keeps the order's windows
    cancelled: bool = False
    cancel_reason: str = ""
    notes: list[str] = field(default_factory=list)  # for the event's detail


def _drop_bad_contact(data: dict[str, Any], *, country: str) -> list[str]:
    """A phone or email the store let through but we cannot use is left out rather than
    refusing the delivery; says what was left out."""
    contact = {k: data[k] for k in ("customer_phone", "customer_email") if data.get(k)}
    _, errors = order_clean(contact, default_country=country, partial=True)
    dropped = []
    for name in errors:
        dropped.append(f"{name.replace('_', ' ')} {data.pop(name)!r} left out (not valid)")
    return dropped


def _create(
    platform: str, data: dict[str, Any], *, by: str, updated_at: dt.datetime | None
) -> tuple[Order, bool]:
    """Create the order; (order, False) when another job created it meanwhile."""
    (result,) = order_services.orders_create([data], source=platform, actor=by)
    if result.status == "invalid":
        raise ValidationError(result.errors)
    if result.status == "exists":
        return Order.objects.get(pk=result.id), False
    # orders_create does not take the source's clock; set once, on the new row.
    Order.objects.filter(pk=result.id).update(source_updated_at=updated_at)
    return Order.objects.get(pk=result.id), True


def order_apply(
    incoming: IncomingOrder, *, platform: str, store: str, country: str
) -> tuple[str, str]:
    """Create the store's order, or bring it up to date unless the change is older than the
    one applied (or the parcel is on its way), and cancel it if the store did (a planned
    order leaves its route). Returns the event's status and detail."""
    by = actor(platform, store)
    if not incoming.external_id:
        return IGNORED, "The order has no id."
    order = Order.objects.filter(source=platform, external_id=incoming.external_id).first()
    if order is None and not incoming.has_address:
        return IGNORED, "The order has no shipping address (nothing to deliver)."
    data = dict(incoming.data)
    dropped = _drop_bad_contact(data, country=country)
    details: list[str] = []
    changed = created = False
    if order is None:
        order, created = _create(platform, data, by=by, updated_at=incoming.updated_at)
        changed = created
        if created:
            details = [f"Order {order.pk} created", *dropped, *incoming.notes]
    if not created:
        updated_at = incoming.updated_at
        if order.status in FINAL_STATUSES:
            return IGNORED, f"Order {order.pk} is already {order.status}."
        if order.status in (OrderStatus.EN_ROUTE, OrderStatus.ARRIVED):
            details = [f"Order {order.pk} is out for delivery: details not changed"]
        elif not incoming.has_address:
            details = [f"No shipping address: order {order.pk} not changed"]
        elif order.source_updated_at and updated_at and updated_at <= order.source_updated_at:
            details = [f"Older than what order {order.pk} already has"]
        else:
            data.pop("external_id", None)
            if not incoming.date_given:
                data.pop("delivery_date", None)  # keep the date it has, not the default again
            if not incoming.windows_given:
                data.pop("time_windows", None)
            order = order_services.order_update(
                order=order, data=data, actor=by, source_updated_at=updated_at
            )
            changed = True
            details = [f"Order {order.pk} updated", *dropped, *incoming.notes]
            if isinstance(data.get("delivery_date"), UnreadDate) and not order.needs_date:
                details.append(
                    f"its new date {data['delivery_date'].text!r} cannot be read: it kept "
                    f"{order.delivery_date:%Y-%m-%d}"
                )
    if changed and order.needs_date:
        details.append(f"it needs a date ({order.delivery_date_as_written!r} cannot be read)")
    if incoming.cancelled:
        if OrderStatus.CANCELLED in order_services.ALLOWED_TRANSITIONS[order.status]:
            order_services.order_transition(
                order=order,
                to=OrderStatus.CANCELLED,
                actor=by,
                reason=f"Cancelled in {Order.Source(platform).label} "
                f"({incoming.cancel_reason or 'no reason'})",
            )
            changed = True
            details.append(f"order {order.pk} cancelled")
        elif order.status != OrderStatus.CANCELLED:
            details.append(f"order {order.pk} is {order.status} and cannot be cancelled now")
    return (PROCESSED if changed else IGNORED), "; ".join(details) + "."
