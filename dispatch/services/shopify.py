"""Shopify intake: the store's webhooks become orders, exactly once, in the right tenant.

A webhook is checked (HMAC-SHA256 of the raw body with the app's client secret, compared in
constant time) before anything is parsed or stored; it is stored once per event id (so
Shopify's retries and parallel deliveries are harmless) and processed in a background
job, which is itself safe to run twice.

Which store an order came from is not a column of Order: it is the actor of the order's
creation event (`shopify:<shop>`), which is what scopes the compliance redactions to
one store when a tenant connects several.

A store connected through the platform's app (mode `app`, stores.services.shopify_app)
sends its webhooks to the public host, signed with the app's secret; they are verified
there and handed to `webhook_keep` in the shop's tenant. The tenant host's endpoint
(`webhook_receive`) takes only stores connected as custom apps, with their own secret.
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
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import serializers
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from core.i18n import normalize_language
from dispatch import tasks
from dispatch.models import Order, ShopifyIntegration, WebhookEvent

# the module, not its names: dispatch.services.orders → .geocoding → dispatch.tasks → here
from dispatch.services import store_intake
from dispatch.services.order_input import UnreadDate, input_field, order_clean
from dispatch.services.parsing import DateReader, date_reader, time_window
from dispatch.services.phones import phone_e164
from dispatch.signals import orders_redacted, store_disconnected
from tenants.models import StoreShop
from tenants.selectors import current_tenant
from tenants.tasks import enqueue_for_tenant

logger = logging.getLogger(__name__)

SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}\.myshopify\.com$")
TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "customers/redact", "shop/redact")
# Note attribute and tag names, compared once lower-cased with "-", "_" and spaces as one
# space: "Delivery-Date", "delivery_date" and "Delivery Date" are the same name. Local
# delivery apps write "Delivery-Date" (Zapiet), "Delivery Date", "Local Delivery Date",
# "Order Delivery Date", "Delivery Day"; a leading "_" (hidden attributes) is ignored.
DATE_KEYS = {
    "delivery date",
    "delivery day",
    "date",
    "delivery",
    "local delivery date",
    "order delivery date",
    "requested delivery date",
    "preferred delivery date",
    "delivery date selected",
}
WINDOW_KEYS = {
    "delivery time",
    "delivery window",
    "time window",
    "delivery slot",
    "time slot",
    "delivery time slot",
    "window",
}
ACTOR = "shopify:{shop}"
MAX_SECRET_LENGTH = ShopifyIntegration._meta.get_field("client_secret").max_length
# A stored event still waiting after this long had its job lost (worker down, queue
# unreachable): the store's next retry of it queues it again.
REQUEUE_AFTER = dt.timedelta(minutes=2)
PROCESSED, IGNORED, FAILED = (
    WebhookEvent.Status.PROCESSED,
    WebhookEvent.Status.IGNORED,
    WebhookEvent.Status.FAILED,
)


# Shared with every store's intake (dispatch.services.store_intake).
WebhookRefused = store_intake.WebhookRefused
WebhookMalformed = store_intake.WebhookMalformed
WebhookQueueFailed = store_intake.WebhookQueueFailed
Receipt = store_intake.Receipt


# --- the integration ----------------------------------------------------------------


ADMIN_URL = re.compile(r"^admin\.shopify\.com/store/([a-z0-9][a-z0-9-]{0,59})(?:/.*)?$")
SHOP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def _shop_domain(value: str) -> str:
    """The store's `<name>.myshopify.com` from what an owner may paste: that address (with
    or without https://), the store's admin URL (admin.shopify.com/store/<name>/...), or
    the bare name."""
    value = (value or "").strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    value = value.rstrip("/")
    if admin := ADMIN_URL.match(value):
        return f"{admin.group(1)}.myshopify.com"
    return f"{value}.myshopify.com" if SHOP_NAME.match(value) else value


@transaction.atomic
def integration_save(*, shop_domain: str, client_secret: str = "") -> ShopifyIntegration:
    """Connect a store, or change its secret, or reconnect it (create or update by its
    domain). An empty secret keeps the stored one."""
    shop_domain = _shop_domain(shop_domain)
    errors: dict[str, list[str]] = {}
    if not SHOP_DOMAIN.match(shop_domain):
        errors["shop_domain"] = [gettext("Use the store's address, like your-store.myshopify.com.")]
    integration = (
        ShopifyIntegration.objects.select_for_update().filter(shop_domain=shop_domain).first()
    )
    if integration and integration.mode == ShopifyIntegration.Mode.APP and integration.is_active:
        raise ValidationError(
            {
                "shop_domain": [
                    gettext("This store is connected through the app: disconnect it first.")
                ]
            }
        )
    secret = (client_secret or "").strip()
    if not secret and (integration is None or not integration.client_secret):
        errors["client_secret"] = [gettext("Paste the app's client secret (API secret key).")]
    elif secret and len(secret) < 16:
        errors["client_secret"] = [gettext("That is too short to be a Shopify client secret.")]
    elif len(secret) > MAX_SECRET_LENGTH:
        errors["client_secret"] = [
            gettext("At most %(most)d characters.") % {"most": MAX_SECRET_LENGTH}
        ]
    if errors:
        raise ValidationError(errors)
    integration = integration or ShopifyIntegration(shop_domain=shop_domain)
    if secret:
        integration.client_secret = secret
    # an uninstalled app's store connected by hand from now on: no token, no write-back
    integration.mode, integration.access_token = ShopifyIntegration.Mode.CUSTOM, None
    integration.is_active = True
    try:
        with transaction.atomic():
            integration.save()
    except IntegrityError as exc:  # the same store connected at the same moment
        raise ValidationError(
            {"shop_domain": [gettext("This store is being connected already.")]}
        ) from exc
    return integration


@transaction.atomic
def integration_deactivate(*, integration: ShopifyIntegration) -> ShopifyIntegration:
    """Stop taking the store's webhooks (they answer 401); its secret is kept for a
    reconnect, its orders and events stay. A store installed through the app is refused
    (ValidationError, field `shop_domain`): erasing our token here would leave the app
    installed at Shopify; the Stores page's Disconnect removes it there too
    (stores.services.shopify_app.uninstall, which dispatch does not reach)."""
    if integration.mode == ShopifyIntegration.Mode.APP:
        if not integration.is_active:
            return integration  # uninstalled already: nothing to stop
        raise ValidationError(
            {
                "shop_domain": [
                    gettext(
                        "This store is connected through the Shopify app: disconnect it on "
                        "Settings → Stores, which removes the app from the store too."
                    )
                ]
            }
        )
    integration.is_active = False
    integration.save(update_fields=["is_active", "updated_at"])
    return integration


# --- receiving ----------------------------------------------------------------------


def signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    """Shopify signs the raw body: base64(HMAC-SHA256(client secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # PostgreSQL's jsonb refuses NaN and Infinity


def parse_json_object(body: bytes) -> dict[str, Any]:
    """A webhook's body, which must be a JSON object (WebhookMalformed otherwise)."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise WebhookMalformed() from exc
    if not isinstance(payload, dict):
        raise WebhookMalformed()
    return payload


def webhook_receive(*, headers: Mapping[str, str], body: bytes) -> Receipt:
    """Verify, store once, and queue a webhook delivery of this tenant's store (connected
    as a custom app: signed with its own client secret).

    Raises WebhookRefused (unknown store, missing or wrong signature) or WebhookMalformed
    (signed, but not a JSON object) before anything is stored. A repeated event id answers
    a duplicate receipt and changes nothing.
    """
    shop = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    signature = headers.get("X-Shopify-Hmac-Sha256", "")
    # A store installed through the app signs with the platform's secret and sends to the
    # public host (stores.views.shopify_public): here, only custom apps' own secrets.
    integration = (
        ShopifyIntegration.objects.filter(
            shop_domain=shop, is_active=True, mode=ShopifyIntegration.Mode.CUSTOM
        ).first()
        if shop
        else None
    )
    if (
        integration is None
        or not integration.client_secret
        or not signature
        or not signature_valid(secret=integration.client_secret, body=body, signature=signature)
    ):
        raise WebhookRefused()
    return webhook_keep(headers=headers, body=body, shop=shop)


def webhook_keep(*, headers: Mapping[str, str], body: bytes, shop: str) -> Receipt:
    """Store once and queue a webhook whose signature was checked (by the custom app's
    secret or by the platform app's)."""
    payload = parse_json_object(body)
    return store_intake.event_store(
        source="shopify",
        event_id=headers.get("X-Shopify-Event-Id") or headers.get("X-Shopify-Webhook-Id") or "",
        topic=headers.get("X-Shopify-Topic", ""),
        store=shop,
        payload=payload,
        body=body,
        queue=_queue,
        triggered_at=triggered_at(headers),
    )


def triggered_at(headers: Mapping[str, str]) -> dt.datetime | None:
    """When Shopify says the event happened (`X-Shopify-Triggered-At`, ISO 8601 with up to
    nanoseconds); None when absent or unreadable."""
    value = (headers.get("X-Shopify-Triggered-At") or "").strip()
    try:
        parsed = parse_datetime(value) if value else None
    except ValueError:
        return None
    return parsed if parsed and timezone.is_aware(parsed) else None


def _queue(schema_name: str, event_pk: int) -> None:
    enqueue_for_tenant(
        tasks.shopify_webhook_process,
        event_pk,
        schema_name=schema_name,
        task_name="shopify_webhook",
    )


# --- processing ---------------------------------------------------------------------


def webhook_event_process(event_pk: int) -> str:
    """Apply a stored webhook (in the current tenant schema) and record what became of it
    (processed, ignored, failed, with a detail). Runs once per event even if queued twice;
    returns the event's status."""
    return store_intake.event_process(event_pk, HANDLERS)


# --- mapping Shopify's order JSON (pure) ----------------------------------------------


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _amount(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)
    return number if number.is_finite() and number > 0 else Decimal(0)


def _key(name: Any) -> str:
    return re.sub(r"[\s_-]+", " ", str(name or "")).strip().lower()


def _valid_window(value: str) -> dict[str, str] | None:
    """The window written in `value`, if the order input schema takes it."""
    window = time_window(value)
    if window is None:
        return None
    clean, errors = order_clean({"time_windows": [window]}, default_country="", partial=True)
    return None if errors else clean["time_windows"][0]


#: How dates are read when the caller does not say: day first, as in Britain.
DEFAULT_READER = date_reader(locale="en", country="GB")


@dataclass(frozen=True)
class DeliveryHints:
    date: str  # ISO, or "" when none was given (or none understood)
    windows: list[dict[str, str]]
    remarks: list[str]  # values given but not understood, for the dispatcher to see
    date_as_written: str = ""  # a date given that could not be read: the order needs one


def delivery_hints(
    payload: Mapping[str, Any], *, reader: DateReader = DEFAULT_READER
) -> DeliveryHints:
    """A delivery date and window from note attributes ("Delivery Date", "Delivery Time")
    or tags ("delivery:2026-12-01", "window:09:00-12:00"), as local-delivery apps write
    them. Dates: whatever `reader` (the tenant's locale) reads (2026/12/06, 06/12/2026,
    "December 6, 2026"…); windows: "09:00-12:00" or "9:00 AM - 12:00 PM"."""
    pairs = [
        (_key(a.get("name")), str(a.get("value") or "").strip())
        for a in payload.get("note_attributes") or []
        if isinstance(a, Mapping)
    ]
    tags = payload.get("tags")
    for tag in tags.split(",") if isinstance(tags, str) else []:
        name, _, value = tag.partition(":")
        pairs.append((_key(name), value.strip()))
    date, unread, windows, remarks = "", "", [], []
    for name, value in pairs:
        if not value:
            continue
        if name in DATE_KEYS and not date:
            day = reader.read(value)
            if day is None:
                unread = unread or value
            else:
                date, unread = day.isoformat(), ""
        elif name in WINDOW_KEYS and not windows:
            window = _valid_window(value)
            if window:
                windows = [window]
            else:
                remarks.append(f"Shopify delivery time {value!r} not understood.")
    return DeliveryHints(date=date, windows=windows, remarks=remarks, date_as_written=unread)


def _next_day(tz_name: str) -> str:
    try:
        zone = zoneinfo.ZoneInfo(tz_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return (dt.datetime.now(zone).date() + dt.timedelta(days=1)).isoformat()


def _phone(candidates: list[Any], region: str) -> str:
    """The first of the order's phones that reads as a number (national numbers in the
    destination's country); else the first given, for order_clean to judge."""
    given = [str(c).strip() for c in candidates if c and str(c).strip()]
    for text in given:
        try:
            return phone_e164(text, region=region)
        except ValidationError:
            continue
    return given[0] if given else ""


def shopify_order_to_order_data(
    payload: Mapping[str, Any], *, tenant_tz: str, reader: DateReader = DEFAULT_READER
) -> dict[str, Any]:
    """Shopify's order JSON (REST Admin API) → our order input, for order_clean.

    Items that need no shipping (gift cards, digital goods) are not counted. Without a
    delivery date the order is for the next day in the tenant's time zone; with one that
    `reader` cannot read, it needs a date (an UnreadDate), never a guessed day.
    """
    address = _obj(payload.get("shipping_address"))
    billing = _obj(payload.get("billing_address"))
    customer = _obj(payload.get("customer"))

    def full_name(*parts: Any) -> str:
        return " ".join(str(p).strip() for p in parts if p and str(p).strip())

    name = (
        full_name(address.get("name"))
        or full_name(address.get("first_name"), address.get("last_name"))
        or full_name(customer.get("first_name"), customer.get("last_name"))
        or full_name(billing.get("name"))
        or full_name(payload.get("email"), payload.get("contact_email"))
        or f"Shopify order {payload.get('name') or payload.get('id') or ''}".strip()
    )
    line_items = [i for i in payload.get("line_items") or [] if isinstance(i, Mapping)]
    shipped = [i for i in line_items if i.get("requires_shipping", True) is not False]
    grams = sum((_amount(i.get("quantity")) * _amount(i.get("grams")) for i in shipped), Decimal(0))
    items = int(sum((_amount(i.get("quantity")) for i in shipped), Decimal(0)))
    hints = delivery_hints(payload, reader=reader)
    country = str(address.get("country_code") or "").strip().upper()
    phones = [address, payload, customer, billing]  # where Shopify may hold a phone, best first
    notes = "\n".join(p for p in (str(payload.get("note") or "").strip(), *hints.remarks) if p)
    data = {
        "external_id": str(payload.get("id") or ""),
        "customer_name": name[: input_field("customer_name").max_length],
        "customer_phone": _phone([p.get("phone") for p in phones], country),
        "customer_email": str(payload.get("email") or payload.get("contact_email") or ""),
        "address_line1": address.get("address1") or "",
        "address_line2": address.get("address2") or "",
        "city": address.get("city") or "",
        "postcode": address.get("zip") or "",
        "region": address.get("province") or "",
        "country": country,
        "delivery_date": _delivery_date(hints, tenant_tz),
        "time_windows": hints.windows,
        "weight_kg": (grams / 1000).quantize(Decimal("0.01")),
        "items": items or 1,
        "notes": notes[: input_field("notes").max_length],
    }
    coordinates = _coordinates(address.get("latitude"), address.get("longitude"))
    if coordinates:
        data["lat"], data["lng"] = coordinates
    # the checkout's language ("fr-CA" is "fr"); none, or one we do not ship: the business's
    if language := normalize_language(payload.get("customer_locale")):
        data["language"] = language
    return data


def _delivery_date(hints: DeliveryHints, tenant_tz: str) -> str | UnreadDate:
    if hints.date:
        return hints.date
    if hints.date_as_written:
        return UnreadDate(hints.date_as_written)
    return _next_day(tenant_tz)


def _coordinates(lat: Any, lng: Any) -> tuple[float, float] | None:
    """Shopify's own geocoding of the address, when it has one; unusable ones are left
    out (the order is geocoded instead)."""
    try:
        lat, lng = float(lat), float(lng)
    except (TypeError, ValueError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat, lng) == (0.0, 0.0):
        return None
    return lat, lng


# --- applying the order topics ----------------------------------------------------------


def _updated_at(payload: Mapping[str, Any]) -> dt.datetime | None:
    value = payload.get("updated_at")
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed and timezone.is_aware(parsed) else None


def incoming_order(
    payload: Mapping[str, Any], *, reader: DateReader = DEFAULT_READER, cancel: bool = False
) -> store_intake.IncomingOrder:
    """Shopify's order JSON as a store's order for store_intake."""
    tenant = current_tenant()
    data = shopify_order_to_order_data(payload, tenant_tz=tenant.time_zone, reader=reader)
    hints = delivery_hints(payload, reader=reader)
    return store_intake.IncomingOrder(
        external_id=str(payload.get("id") or "").strip(),
        data=data,
        has_address=bool(_obj(payload.get("shipping_address"))),
        updated_at=_updated_at(payload),
        date_given=bool(hints.date or hints.date_as_written),
        windows_given=bool(hints.windows),
        cancelled=cancel or bool(payload.get("cancelled_at")),
        cancel_reason=str(payload.get("cancel_reason") or ""),
    )


def _apply_order(event: WebhookEvent, *, cancel: bool = False) -> tuple[str, str]:
    """orders/create, orders/updated, orders/cancelled: create the order, or bring it up to
    date unless the change is older than the one applied, and cancel it if Shopify did."""
    tenant = current_tenant()
    reader = date_reader(locale=tenant.locale, country=tenant.country)
    incoming = incoming_order(event.payload, reader=reader, cancel=cancel)
    return store_intake.order_apply(
        incoming, platform=Order.Source.SHOPIFY, store=event.shop_domain, country=tenant.country
    )


def _cancel_order(event: WebhookEvent) -> tuple[str, str]:
    """orders/cancelled (its body is the whole order): cancel it, creating it first if the
    cancellation overtook the creation."""
    return _apply_order(event, cancel=True)


# --- compliance (GDPR) topics -----------------------------------------------------------

REDACTED = {
    "customer_name": "Redacted",
    "customer_phone": "",
    "customer_email": "",
    "address_line1": "",
    "address_line2": "",
    "notes": "",
    # Coordinates go too: with them the address can be found again.
    "lat": None,
    "lng": None,
    "geocode_status": Order.GeocodeStatus.FAILED,
    "geocode_error": "Redacted at the store's request.",
}


def _shop_orders(shop: str) -> QuerySet[Order]:
    """The orders this store created (the actor of their first event)."""
    return store_intake.store_orders(Order.Source.SHOPIFY, shop)


def _redact(orders: QuerySet[Order]) -> int:
    ids = list(orders.values_list("pk", flat=True))
    # update() skips auto_now: set updated_at so API clients syncing changes see it.
    count = Order.objects.filter(pk__in=ids).update(**REDACTED, updated_at=timezone.now())
    # what other apps keep of these customers (messages, proof of delivery, tracking links)
    orders_redacted.send(sender=Order, order_ids=ids)
    return count


def _forget_payloads(shop: str, external_ids: list[str]) -> None:
    """The stored webhook bodies of those orders hold the same personal data."""
    ids: list[Any] = [*external_ids, *(int(i) for i in external_ids if i.isdigit())]
    if ids:
        WebhookEvent.objects.filter(source="shopify", shop_domain=shop, payload__id__in=ids).update(
            payload={}
        )


def _customer_orders(shop: str, customer: Mapping[str, Any], named: list[str]) -> QuerySet[Order]:
    """This store's orders of a customer: the orders named, and any with the customer's
    email or phone."""
    match = Q(external_id__in=named)
    email = str(customer.get("email") or "").strip().lower()
    if email:
        match |= Q(customer_email=email)
    try:
        phone = phone_e164(customer.get("phone"), region=current_tenant().country)
    except ValidationError:
        phone = ""
    if phone:
        match |= Q(customer_phone=phone)
    return _shop_orders(shop).filter(match)


def _named_ids(value: Any) -> list[str]:
    return [str(i) for i in value if isinstance(i, int | str)] if isinstance(value, list) else []


def _redact_customer(event: WebhookEvent) -> tuple[str, str]:
    """customers/redact: forget a customer's personal data on this store's orders (the
    orders named, and any with the customer's email or phone)."""
    payload = event.payload
    customer = _obj(payload.get("customer"))
    named = _named_ids(payload.get("orders_to_redact"))
    orders = _customer_orders(event.shop_domain, customer, named)
    external_ids = sorted({*named, *orders.values_list("external_id", flat=True)})
    count = _redact(orders)
    _forget_payloads(event.shop_domain, external_ids)
    # The request itself names the customer: keep only the ids.
    event.payload = {"customer": {"id": customer.get("id")}, "orders_to_redact": named}
    return PROCESSED, f"{count} orders redacted."


#: Shopify sends shop/redact this long after the app was uninstalled.
SHOP_REDACT_DELAY = dt.timedelta(hours=48)


def _event_time(event: WebhookEvent) -> dt.datetime:
    """When the event happened: as Shopify says, else when it was received."""
    return event.triggered_at or event.received_at


def _uninstalled_before(shop: str, when: dt.datetime) -> dt.datetime:
    """The uninstall a shop/redact triggered at `when` is about: the store's last
    uninstall at or before then, in any tenant (the public index keeps them all); if
    none is known, Shopify's 48 hours before it."""
    last = (
        StoreShop.objects.filter(platform="shopify", shop=shop, uninstalled_at__lte=when)
        .order_by("-uninstalled_at")
        .values_list("uninstalled_at", flat=True)
        .first()
    )
    return last or when - SHOP_REDACT_DELAY


def _redact_shop(event: WebhookEvent) -> tuple[str, str]:
    """shop/redact (48 h after the app is uninstalled; sent to every tenant that held the
    store): disconnect the store and forget its customers' personal data; other stores of
    the tenant keep theirs. An app connection installed after that uninstall (the store
    installed again, here or since moved here) is left running, with the orders it took
    in: only what came before it is forgotten. The shop's entry in the public index goes
    too (it was kept for this request to find the tenant), unless the tenant holds the
    store again."""
    shop = event.shop_domain
    uninstalled = _uninstalled_before(shop, _event_time(event))
    live = ShopifyIntegration.objects.filter(
        shop_domain=shop,
        mode=ShopifyIntegration.Mode.APP,
        is_active=True,
        installed_at__gt=uninstalled,
    ).first()
    orders, events = (
        _shop_orders(shop),
        WebhookEvent.objects.filter(source="shopify", shop_domain=shop),
    )
    if live is not None:
        orders = orders.filter(created_at__lt=live.installed_at)
        events = events.filter(received_at__lt=live.installed_at)
    else:
        ShopifyIntegration.objects.filter(shop_domain=shop).update(
            is_active=False,
            client_secret="",
            access_token=None,
            refresh_token=None,
            token_expires_at=None,
            refresh_token_expires_at=None,
            updated_at=timezone.now(),
        )
        StoreShop.objects.filter(
            platform="shopify", shop=shop, tenant_id=current_tenant().pk
        ).delete()
    count = _redact(orders)
    events.exclude(pk=event.pk).update(payload={})
    if live is not None:
        return PROCESSED, (
            f"{count} orders from before the store was installed again redacted; "
            "the store stays connected."
        )
    return PROCESSED, f"Store disconnected, {count} orders redacted."


def _data_request(event: WebhookEvent) -> tuple[str, str]:
    """customers/data_request: the store asks what we hold about one of its customers.
    The matching orders are recorded on the event; the owner downloads them from the
    Stores page (data_request_export) and sends them to the store, which answers the
    customer (Shopify gives 30 days)."""
    payload = event.payload
    customer = _obj(payload.get("customer"))
    named = _named_ids(payload.get("orders_requested"))
    ids = sorted(_customer_orders(event.shop_domain, customer, named).values_list("pk", flat=True))
    event.payload = {**payload, "matched_order_ids": ids}
    return PROCESSED, (
        f"{len(ids)} orders hold this customer's data: download them from the Stores page "
        "and send them to the store."
    )


def data_requests() -> QuerySet[WebhookEvent]:
    """The stores' customers/data_request events of this tenant, newest first."""
    return WebhookEvent.objects.filter(source="shopify", topic="customers/data_request").order_by(
        "-received_at"
    )


def data_request_export(event: WebhookEvent) -> dict[str, Any]:
    """What we hold about the customer of a customers/data_request, as JSON for the store:
    their orders from that store with every field (as they are now: a redaction since
    shows) and each order's history."""
    payload = event.payload or {}
    ids = payload.get("matched_order_ids") or []
    orders = _shop_orders(event.shop_domain).filter(pk__in=ids).order_by("pk").distinct()
    return {
        "shop": event.shop_domain,
        "data_request_id": _obj(payload.get("data_request")).get("id"),
        "customer": {k: _obj(payload.get("customer")).get(k) for k in ("id", "email", "phone")},
        "received_at": event.received_at.isoformat(),
        "orders": [
            {
                # every field kept of the order, as the tenant export writes it (Django's
                # serializer), not a hand-picked list that a new field would miss
                **serializers.serialize("python", [order])[0]["fields"],
                "id": order.pk,
                "history": [
                    {"status": e.to_status, "at": e.created_at.isoformat(), "reason": e.reason}
                    for e in order.events.order_by("created_at", "pk")
                ],
            }
            for order in orders
        ],
    }


# --- the app's own topics -----------------------------------------------------------------


def app_uninstalled(*, shop_domain: str, at: dt.datetime | None = None) -> bool:
    """The app is no longer installed on the store (app/uninstalled, or the owner
    disconnected it): nothing more is taken in or written back, the token is erased, and
    the tenant's entry in the public index is marked uninstalled. Orders and events stay
    (shop/redact, 48 h later, forgets the customers). `at`: when the uninstall happened
    (the webhook's time); an install made after it is a reinstall and is left running.
    Returns whether an app-installed store was stopped."""
    now = timezone.now()
    installed = ShopifyIntegration.objects.filter(
        shop_domain=shop_domain, mode=ShopifyIntegration.Mode.APP
    )
    if at is not None:
        installed = installed.filter(Q(installed_at__isnull=True) | Q(installed_at__lte=at))
    found = installed.update(
        is_active=False,
        access_token=None,
        refresh_token=None,
        token_expires_at=None,
        refresh_token_expires_at=None,
        uninstalled_at=now,
        webhooks_subscribed_at=None,
        updated_at=now,
    )
    if found:
        StoreShop.objects.filter(
            platform="shopify",
            shop=shop_domain,
            tenant_id=current_tenant().pk,
            uninstalled_at__isnull=True,
        ).update(uninstalled_at=now)
        store_disconnected.send(sender=ShopifyIntegration, platform="shopify", store=shop_domain)
    return bool(found)


def _app_uninstalled(event: WebhookEvent) -> tuple[str, str]:
    """app/uninstalled: the shop removed the app. One that happened before the store's
    current install (a late delivery, or a job run after the owner installed it again)
    changes nothing."""
    if not app_uninstalled(shop_domain=event.shop_domain, at=_event_time(event)):
        if ShopifyIntegration.objects.filter(
            shop_domain=event.shop_domain, mode=ShopifyIntegration.Mode.APP
        ).exists():
            return IGNORED, "The app was installed again after this uninstall."
        return IGNORED, "No store installed through the app by this address."
    return PROCESSED, "App uninstalled: the store is disconnected."


HANDLERS = {
    "orders/create": _apply_order,
    "orders/updated": _apply_order,
    "orders/cancelled": _cancel_order,
    "customers/redact": _redact_customer,
    "customers/data_request": _data_request,
    "shop/redact": _redact_shop,
    "app/uninstalled": _app_uninstalled,
}
