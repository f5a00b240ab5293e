"""Shopify intake: the store's webhooks become orders, exactly once, in the right tenant.

A webhook is checked (HMAC-SHA256 of the raw body with the app's client secret, compared in
constant time) before anything is parsed or stored; it is stored once per event id (so
Shopify's retries and parallel deliveries are harmless) and processed in a background
job, which is itself safe to run twice.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from dispatch.models import Order, OrderStatus, ShopifyIntegration, WebhookEvent
from dispatch.models.orders import FINAL_STATUSES
from dispatch.services.orders import order_transition, order_update, orders_create
from dispatch.services.parsing import calendar_date, time_window
from tenants.selectors import current_tenant

logger = logging.getLogger(__name__)

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com$")
TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "customers/redact", "shop/redact")
DATE_KEYS = {"delivery date", "delivery day", "delivery-date", "delivery_date", "date"}
WINDOW_KEYS = {"delivery time", "delivery window", "time window", "time_window", "delivery slot"}
ACTOR = "shopify:{shop}"


class WebhookRefused(Exception):
    """The request is not a genuine webhook of this tenant's store (answer 401)."""


class WebhookMalformed(Exception):
    """Signed by the store, but not JSON (answer 400)."""


# --- the integration ----------------------------------------------------------------


@transaction.atomic
def integration_save(*, shop_domain: str, client_secret: str = "") -> ShopifyIntegration:
    """Connect a store (or change its secret). An empty secret keeps the stored one."""
    shop_domain = shop_domain.strip().lower().removeprefix("https://").rstrip("/")
    errors: dict[str, list[str]] = {}
    if not SHOP_DOMAIN.match(shop_domain):
        errors["shop_domain"] = ["Use the store's address, like your-store.myshopify.com."]
    integration = ShopifyIntegration.objects.filter(shop_domain=shop_domain).first()
    secret = client_secret.strip()
    if not secret and integration is None:
        errors["client_secret"] = ["Paste the app's client secret (API secret key)."]
    elif secret and len(secret) < 16:
        errors["client_secret"] = ["That is too short to be a Shopify client secret."]
    if errors:
        raise ValidationError(errors)
    integration = integration or ShopifyIntegration(shop_domain=shop_domain)
    if secret:
        integration.client_secret = secret
    integration.is_active = True
    integration.save()
    return integration


def integration_deactivate(*, integration: ShopifyIntegration) -> ShopifyIntegration:
    integration.is_active = False
    integration.save(update_fields=["is_active", "updated_at"])
    return integration


# --- receiving ----------------------------------------------------------------------


def signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


@dataclass(frozen=True)
class Receipt:
    event_id: str
    duplicate: bool


def webhook_receive(*, headers: Mapping[str, str], body: bytes) -> Receipt:
    """Verify, store once, and queue a webhook delivery. Raises WebhookRefused before
    storing anything when the store or signature is wrong."""
    shop = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    signature = headers.get("X-Shopify-Hmac-Sha256", "")
    integration = (
        ShopifyIntegration.objects.filter(shop_domain=shop, is_active=True).first()
        if shop
        else None
    )
    if (
        integration is None
        or not signature
        or not signature_valid(secret=integration.client_secret, body=body, signature=signature)
    ):
        raise WebhookRefused()
    topic = headers.get("X-Shopify-Topic", "").strip()
    event_id = headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or ""
    event_id = event_id.strip()[:100] or hashlib.sha256(body).hexdigest()
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise WebhookMalformed() from exc
    if not isinstance(payload, dict):
        raise WebhookMalformed()
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                source="shopify", event_id=event_id, topic=topic, shop_domain=shop, payload=payload
            )
    except IntegrityError:
        return Receipt(event_id=event_id, duplicate=True)
    schema = connection.schema_name
    transaction.on_commit(lambda: _queue(schema, event.pk))
    return Receipt(event_id=event_id, duplicate=False)


def _queue(schema_name: str, event_pk: int) -> None:
    from tenants.tasks import enqueue_for_tenant

    enqueue_for_tenant(
        "dispatch.services.shopify.webhook_event_process",
        event_pk,
        schema_name=schema_name,
        task_name="shopify_webhook",
    )


# --- processing ---------------------------------------------------------------------


def webhook_event_process(event_pk: int) -> str:
    """Apply a stored webhook (in the current tenant schema). Runs once per event even if
    queued twice; returns the event's final status."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        if event.status != WebhookEvent.Status.RECEIVED:
            return event.status
        handler = HANDLERS.get(event.topic)
        try:
            status, detail = (
                handler(event) if handler else ("ignored", f"Topic {event.topic!r} is not used.")
            )
        except ValidationError as exc:
            status, detail = "ignored", "; ".join(exc.messages)[:500]
        event.status, event.detail = status, detail[:500]
        event.processed_at = timezone.now()
        event.save(update_fields=["status", "detail", "processed_at"])
    return event.status


def _next_day(tz_name: str) -> str:
    return (dt.datetime.now(zoneinfo.ZoneInfo(tz_name)).date() + dt.timedelta(days=1)).isoformat()


def _delivery_hints(payload: Mapping[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """A delivery date and window from note attributes ("Delivery Date", "Delivery Time")
    or tags ("delivery:2026-12-01", "window:09:00-12:00"), as apps like Zapiet write them."""
    date, windows = "", []
    attributes = payload.get("note_attributes") or []
    pairs = [
        (str(a.get("name", "")).strip().lower(), str(a.get("value", "")).strip())
        for a in attributes
        if isinstance(a, Mapping)
    ]
    for tag in str(payload.get("tags") or "").split(","):
        name, _, value = tag.partition(":")
        pairs.append((name.strip().lower(), value.strip()))
    for name, value in pairs:
        if not value:
            continue
        if name in DATE_KEYS or name == "delivery":
            date = date or calendar_date(value)
        elif name in WINDOW_KEYS or name == "window":
            window = time_window(value)
            if window and not windows:
                windows = [window]
    return date, windows


def shopify_order_to_order_data(payload: Mapping[str, Any], *, tenant_tz: str) -> dict[str, Any]:
    """Shopify's order JSON (REST Admin API) → our order input, for order_clean."""
    address = payload.get("shipping_address") or {}
    customer = payload.get("customer") or {}
    name = (
        address.get("name")
        or " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p)
        or " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    )
    line_items = [i for i in payload.get("line_items") or [] if isinstance(i, Mapping)]
    shipped = [i for i in line_items if i.get("requires_shipping", True)] or line_items
    grams = sum((i.get("quantity") or 0) * (i.get("grams") or 0) for i in shipped)
    date, windows = _delivery_hints(payload)
    data = {
        "external_id": str(payload.get("id", "")),
        "customer_name": (name or payload.get("email") or "").strip(),
        "customer_phone": address.get("phone") or payload.get("phone") or customer.get("phone"),
        "customer_email": payload.get("email") or payload.get("contact_email") or "",
        "address_line1": address.get("address1") or "",
        "address_line2": address.get("address2") or "",
        "city": address.get("city") or "",
        "postcode": address.get("zip") or "",
        "region": address.get("province") or "",
        "country": address.get("country_code") or "",
        "delivery_date": date or _next_day(tenant_tz),
        "time_windows": windows,
        "weight_kg": round(grams / 1000, 2),
        "items": sum(i.get("quantity") or 0 for i in shipped) or 1,
        "notes": str(payload.get("note") or "")[:2000],
    }
    if address.get("latitude") is not None and address.get("longitude") is not None:
        data["lat"], data["lng"] = address["latitude"], address["longitude"]
    return data


def _updated_at(payload: Mapping[str, Any]) -> dt.datetime | None:
    value = payload.get("updated_at")
    return parse_datetime(value) if isinstance(value, str) else None


def _apply_order(event: WebhookEvent) -> tuple[str, str]:
    payload = event.payload
    if not payload.get("shipping_address"):
        return "ignored", "The order has no shipping address (nothing to deliver)."
    actor = ACTOR.format(shop=event.shop_domain)
    data = shopify_order_to_order_data(payload, tenant_tz=current_tenant().time_zone)
    updated_at = _updated_at(payload)
    order = Order.objects.filter(
        source=Order.Source.SHOPIFY, external_id=data["external_id"]
    ).first()
    if order is None:
        (result,) = orders_create([data], source=Order.Source.SHOPIFY, actor=actor)
        if result.status == "invalid":
            raise ValidationError([f"{k}: {' '.join(v)}" for k, v in result.errors.items()])
        order = Order.objects.get(pk=result.id)
        Order.objects.filter(pk=order.pk).update(source_updated_at=updated_at)
        outcome = ("processed", f"Order {order.pk} created.")
    elif order.status in FINAL_STATUSES:
        return "ignored", f"Order {order.pk} is {order.status}."
    else:
        if order.source_updated_at and updated_at and updated_at <= order.source_updated_at:
            return "ignored", f"Older than what order {order.pk} already has."
        data.pop("external_id")
        order_update(order=order, data=data, actor=actor, source_updated_at=updated_at)
        outcome = ("processed", f"Order {order.pk} updated.")
    if payload.get("cancelled_at"):
        order_transition(
            order=order, to=OrderStatus.CANCELLED, actor=actor,
            reason=f"Cancelled in Shopify ({payload.get('cancel_reason') or 'no reason'})",
        )  # fmt: skip
    return outcome


def _cancel_order(event: WebhookEvent) -> tuple[str, str]:
    external_id = str(event.payload.get("id", ""))
    order = Order.objects.filter(source=Order.Source.SHOPIFY, external_id=external_id).first()
    if order is None:
        return "ignored", f"No order with Shopify id {external_id}."
    if order.status in FINAL_STATUSES:
        return "ignored", f"Order {order.pk} is already {order.status}."
    order_transition(
        order=order,
        to=OrderStatus.CANCELLED,
        actor=ACTOR.format(shop=event.shop_domain),
        reason=f"Cancelled in Shopify ({event.payload.get('cancel_reason') or 'no reason'})",
    )
    return "processed", f"Order {order.pk} cancelled."


REDACTED = {
    "customer_name": "Redacted",
    "customer_phone": "",
    "customer_email": "",
    "address_line1": "",
    "address_line2": "",
    "notes": "",
}


def _redact(orders) -> int:
    # Coordinates go too: with them an address can be found again.
    return orders.update(**REDACTED, lat=None, lng=None, geocode_status="failed",
                         geocode_error="Redacted at the store's request.")  # fmt: skip


def _redact_customer(event: WebhookEvent) -> tuple[str, str]:
    """customers/redact: forget a customer's personal data on this shop's orders."""
    customer = event.payload.get("customer") or {}
    order_ids = [str(i) for i in event.payload.get("orders_to_redact") or []]
    matches = Order.objects.filter(source=Order.Source.SHOPIFY, external_id__in=order_ids)
    email = str(customer.get("email") or "").strip().lower()
    if email:
        matches = matches | Order.objects.filter(source=Order.Source.SHOPIFY, customer_email=email)
    count = _redact(Order.objects.filter(pk__in=matches.values("pk")))
    # The stored webhook bodies of those orders hold the same personal data.
    raw_ids = [i for i in event.payload.get("orders_to_redact") or [] if isinstance(i, int)]
    WebhookEvent.objects.filter(
        source="shopify", shop_domain=event.shop_domain, payload__id__in=raw_ids
    ).update(payload={})
    return "processed", f"{count} orders redacted."


def _redact_shop(event: WebhookEvent) -> tuple[str, str]:
    """shop/redact (48 h after uninstall): disconnect and forget the store's customers."""
    ShopifyIntegration.objects.filter(shop_domain=event.shop_domain).update(
        is_active=False, client_secret=""
    )
    count = _redact(Order.objects.filter(source=Order.Source.SHOPIFY))
    WebhookEvent.objects.filter(shop_domain=event.shop_domain).exclude(pk=event.pk).update(
        payload={}
    )
    return "processed", f"Store disconnected, {count} orders redacted."


HANDLERS = {
    "orders/create": _apply_order,
    "orders/updated": _apply_order,
    "orders/cancelled": _cancel_order,
    "customers/redact": _redact_customer,
    "shop/redact": _redact_shop,
}
