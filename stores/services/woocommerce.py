"""WooCommerce stores: connecting one (its address, REST API keys and webhook secret), its
signed webhooks kept once and applied in a job, and its order JSON read as our order input,
with the delivery date and slot the common delivery-date plugins write in the order's meta.

A webhook is checked (base64 HMAC-SHA256 of the raw body with the webhook's secret, in
constant time) before anything is parsed or stored. Orders are applied by
dispatch.services.store_intake, like every store's; their external id is
"<woocommerce id>@<store>" (stores.services.sources.woocommerce.external_id).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from core.i18n import normalize_language
from dispatch.models import Order, OrderStatus, WebhookEvent
from dispatch.services import orders as order_services
from dispatch.services import store_intake
from dispatch.services.order_input import UnreadDate, input_field, order_clean
from dispatch.services.parsing import DateReader, date_reader, time_window
from dispatch.services.phones import phone_e164
from dispatch.services.shopify import parse_json_object
from stores import tasks
from stores.models import WooCommerceStore
from stores.services import writeback
from stores.services.sources.base import PermanentError, RetryLater
from stores.services.sources.woocommerce import WooCommerceApi, external_id
from tenants.selectors import current_tenant
from tenants.tasks import enqueue_for_tenant

PLATFORM = Order.Source.WOOCOMMERCE
TOPICS = ("order.created", "order.updated", "order.deleted", "order.restored")
#: What WooCommerce POSTs when a webhook is saved: it disables the webhook unless answered 2xx.
PING = re.compile(rb"webhook_id=\d+\s*")
SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
MAX_SECRET = WooCommerceStore._meta.get_field("webhook_secret").max_length
MAX_URL = WooCommerceStore._meta.get_field("url").max_length

PROCESSED, IGNORED = WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED


WebhookRefused = store_intake.WebhookRefused
WebhookMalformed = store_intake.WebhookMalformed
WebhookQueueFailed = store_intake.WebhookQueueFailed
Receipt = store_intake.Receipt


# --- connecting a store -------------------------------------------------------------------


def url_normalise(value: str) -> str:
    """A store's address as we keep it: scheme and host lower case, no default port, no
    trailing slash ("HTTPS://Shop.Example.com/" → "https://shop.example.com"); a WordPress
    in a folder keeps its plain path ("https://example.com/shop"). Raises ValueError for
    anything else (credentials, a query, "..", odd characters)."""
    text = (value or "").strip()
    if not text or len(text) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in text):
        raise ValueError("empty or too long")
    parts = urlsplit(text)
    port = parts.port  # raises ValueError for a bad port
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not HOST.fullmatch(host):
        raise ValueError("not an http(s) address with a host name")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError("credentials, a query or a fragment")
    segments = [s for s in parts.path.split("/") if s]
    if any(not SEGMENT.fullmatch(s) or s in (".", "..") for s in segments):
        raise ValueError("a path with odd characters")
    if port and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}" + "".join(f"/{s}" for s in segments)


def _url_errors(url: str) -> tuple[str, list[str]]:
    try:
        clean = url_normalise(url)
    except ValueError:
        return "", [gettext("Use the store's address, like https://shop.example.com.")]
    if settings.STORE_REQUIRE_HTTPS and not clean.startswith("https://"):
        return clean, [gettext("The store must use https: its API keys are sent with every call.")]
    return clean, []


def _key_errors(name: str, value: str, prefix: str) -> list[str]:
    if not value:
        return []
    if not value.startswith(prefix) or not re.fullmatch(r"[A-Za-z0-9_]{8,255}", value):
        if name == "consumer_key":
            message = gettext("A WooCommerce consumer key starts with %(prefix)s.")
        else:
            message = gettext("A WooCommerce consumer secret starts with %(prefix)s.")
        return [message % {"prefix": prefix}]
    return []


@transaction.atomic
def store_save(
    *, url: str, consumer_key: str = "", consumer_secret: str = "", webhook_secret: str = ""
) -> WooCommerceStore:
    """Connect a store, change its keys or secret, or reconnect it (create or update by
    its normalised address). An empty key or secret keeps the saved one. The webhook
    secret is needed (it proves the webhooks); the REST API keys (read/write) are needed
    to write progress back, and go together."""
    clean, url_errors = _url_errors(url)
    errors: dict[str, list[str]] = {"url": url_errors} if url_errors else {}
    store = (
        WooCommerceStore.objects.select_for_update().filter(url=clean).first() if clean else None
    )
    given = {
        "consumer_key": (consumer_key or "").strip(),
        "consumer_secret": (consumer_secret or "").strip(),
        "webhook_secret": (webhook_secret or "").strip(),
    }
    for name, prefix in (("consumer_key", "ck_"), ("consumer_secret", "cs_")):
        if found := _key_errors(name, given[name], prefix):
            errors[name] = found
    secret = given["webhook_secret"]
    if not secret and not (store and store.webhook_secret):
        errors["webhook_secret"] = [gettext("Paste the secret of the store's webhooks.")]
    elif len(secret) > MAX_SECRET:
        errors["webhook_secret"] = [gettext("At most %(most)d characters.") % {"most": MAX_SECRET}]
    key = given["consumer_key"] or (store.consumer_key if store else "")
    secret_key = given["consumer_secret"] or (store.consumer_secret if store else "")
    if bool(key) != bool(secret_key) and not errors.keys() & {"consumer_key", "consumer_secret"}:
        missing = "consumer_secret" if key else "consumer_key"
        errors[missing] = [gettext("The consumer key and secret go together.")]
    if errors:
        raise ValidationError(errors)
    store = store or WooCommerceStore(url=clean)
    for name, value in given.items():
        if value:
            setattr(store, name, value)
    store.is_active = True
    store.last_error, store.last_error_at = "", None
    try:
        with transaction.atomic():
            store.save()
    except IntegrityError as exc:  # the same store connected at the same moment
        raise ValidationError({"url": [gettext("This store is being connected already.")]}) from exc
    return store


@transaction.atomic
def store_disconnect(*, store: WooCommerceStore) -> WooCommerceStore:
    """Stop taking the store's webhooks (they answer 401) and drop what was still to be
    written back; its keys are kept for a reconnect, its orders and events stay."""
    store.is_active = False
    store.save(update_fields=["is_active", "updated_at"])
    writeback.cancel_pending(platform=PLATFORM, store=store.url)
    return store


def store_check(*, store: WooCommerceStore) -> tuple[bool, str]:
    """Try the store's API keys with a read (GET /orders?per_page=1): (worked, what the
    store answered, for the owner). Write access shows on the first write-back."""
    try:
        WooCommerceApi(store).call("GET", "/orders?per_page=1")
    except (PermanentError, RetryLater) as exc:
        return False, str(exc)
    except requests.RequestException as exc:
        return False, gettext("The store could not be reached (%(why)s).") % {
            "why": type(exc).__name__
        }
    return True, gettext("The store answered: its keys can read orders.")


# --- receiving ----------------------------------------------------------------------------


def signature_valid(*, secret: str, body: bytes, signature: str) -> bool:
    """WooCommerce signs the raw body: base64(HMAC-SHA256(webhook secret, body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.strip().encode())


def _store_of(source: str) -> WooCommerceStore | None:
    """The active store that `X-WC-Webhook-Source` (WordPress's home URL) names; the other
    scheme too, as the owner may have typed http for an https site or the reverse."""
    try:
        url = url_normalise(source)
    except ValueError:
        return None
    scheme, rest = url.split("://", 1)
    other = f"{'https' if scheme == 'http' else 'http'}://{rest}"
    found = {
        s.url: s for s in WooCommerceStore.objects.filter(url__in=[url, other], is_active=True)
    }
    return found.get(url) or found.get(other)


def webhook_receive(*, headers: Mapping[str, str], body: bytes) -> Receipt | None:
    """Verify, store once and queue a webhook of this tenant's store; None for the ping
    WooCommerce sends when a webhook is saved (nothing is kept).

    Raises WebhookRefused (unknown or disconnected store, missing or wrong signature) or
    WebhookMalformed (signed, but not a JSON object) before anything is stored. The event
    id is the delivery id with a digest of the body: WooCommerce makes delivery ids from
    the webhook and the second, so two changes within one second would share one.
    """
    topic = headers.get("X-WC-Webhook-Topic", "").strip()
    signature = headers.get("X-WC-Webhook-Signature", "")
    if not topic and not signature and PING.fullmatch(body):
        return None
    store = _store_of(headers.get("X-WC-Webhook-Source", ""))
    if (
        store is None
        or not store.webhook_secret
        or not signature
        or not signature_valid(secret=store.webhook_secret, body=body, signature=signature)
    ):
        raise WebhookRefused()
    payload = parse_json_object(body)
    delivery = headers.get("X-WC-Webhook-Delivery-ID", "").strip()[:60]
    return store_intake.event_store(
        source=PLATFORM,
        event_id=f"{delivery}:{hashlib.sha256(body).hexdigest()[:32]}" if delivery else "",
        topic=topic,
        store=store.url,
        payload=payload,
        body=body,
        queue=_queue,
    )


def _queue(schema_name: str, event_pk: int) -> None:
    enqueue_for_tenant(
        tasks.woocommerce_webhook_process,
        event_pk,
        schema_name=schema_name,
        task_name="woocommerce_webhook",
    )


def webhook_event_process(event_pk: int) -> str:
    """Apply a stored webhook (in the current tenant schema), once; returns its status."""
    return store_intake.event_process(event_pk, HANDLERS)


# --- delivery date and slot from the plugins' order meta (pure) ----------------------------


def _key(name: Any) -> str:
    """A meta key compared loosely: "_delivery_date", "Delivery-Date", "delivery date"."""
    return re.sub(r"[\s_-]+", " ", str(name or "")).strip().lower()


#: Iconic WooCommerce Delivery Slots: the day as digits.
YMD_KEYS = ("jckwds date ymd",)
#: Unix times of the day: Order Delivery Date (Tyche, pro and lite) and Iconic.
TIMESTAMP_KEYS = ("orddd timestamp", "orddd lite timestamp", "jckwds timestamp")
#: Dates as the shop displays them, best first: Iconic's, then Order Delivery Date's
#: "Delivery Date" label, CodeRockz's delivery_date, and the names shops give the field.
DATE_TEXT_KEYS = (
    "jckwds date",
    "orddd delivery date",
    "orddd lite delivery date",
    "delivery date",
    "delivery day",
    "date of delivery",
    "order delivery date",
    "preferred delivery date",
    "requested delivery date",
)
WINDOW_KEYS = (
    "jckwds timeslot",
    "orddd time slot",
    "orddd lite time slot",
    "time slot",
    "delivery time",
    "delivery time slot",
    "delivery slot",
    "delivery window",
    "time window",
    "timeslot",
)
#: CodeRockz's customer pickup: the customer collects, nothing is delivered.
PICKUP_KEYS = ("pickup date", "pickup time", "pickup location")


@dataclass(frozen=True)
class DeliveryMeta:
    date: str = ""  # ISO, or "" when none was given (or none understood)
    date_as_written: str = ""  # a date given that could not be read: the order needs one
    windows: list[dict[str, str]] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # given but not understood
    pickup: bool = False  # collected by the customer


def _meta_pairs(meta_data: Any) -> dict[str, str]:
    """The order's meta as loose key → text (the first of a key; objects and lists, which
    some plugins keep there, are left out)."""
    pairs: dict[str, str] = {}
    for entry in meta_data if isinstance(meta_data, list) else []:
        if not isinstance(entry, Mapping):
            continue
        value = entry.get("value")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            continue
        text = str(value).strip()
        if text:
            pairs.setdefault(_key(entry.get("key")), text)
    return pairs


def _timestamp_day(value: str, zone: dt.tzinfo) -> dt.date | None:
    """The day a plugin's unix time names, in the shop's zone. Plugins store the local
    midnight of the day, or UTC midnight (PHP runs in UTC under WordPress): a UTC midnight
    that is not a local one is read as the UTC date, else the local date is the day."""
    try:
        seconds = int(float(value))
    except (ValueError, OverflowError):
        return None
    if seconds > 10**11:  # milliseconds
        seconds //= 1000
    if not 946_684_800 <= seconds <= 4_102_444_800:  # 2000 to 2100
        return None
    local = dt.datetime.fromtimestamp(seconds, zone)
    if local.time() != dt.time(0) and seconds % 86_400 == 0:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).date()
    return local.date()


def _valid_window(value: str) -> dict[str, str] | None:
    window = time_window(value)
    if window is None:
        return None
    clean, errors = order_clean({"time_windows": [window]}, default_country="", partial=True)
    return None if errors else clean["time_windows"][0]


def delivery_meta(meta_data: Any, *, zone: dt.tzinfo, reader: DateReader) -> DeliveryMeta:
    """The delivery day and slot in a WooCommerce order's `meta_data` ([{id, key, value}]),
    as Order Delivery Date (Tyche), Iconic Delivery Slots, CodeRockz Delivery & Pickup and
    hand-made checkout fields write them. Machine values come first (Iconic's
    jckwds_date_ymd, then the plugins' unix times read in `zone`); else the displayed date,
    read by `reader` (the tenant's locale). A date given that none of those reads is
    returned as written, never guessed."""
    pairs = _meta_pairs(meta_data)
    day: dt.date | None = None
    for name in YMD_KEYS:
        if name in pairs and day is None:
            day = reader.read(pairs[name]) if re.fullmatch(r"\d{8}", pairs[name]) else None
    for name in TIMESTAMP_KEYS:
        if name in pairs and day is None:
            day = _timestamp_day(pairs[name], zone)
    unread = ""
    for name in DATE_TEXT_KEYS:
        if name in pairs and day is None:
            day = reader.read(pairs[name])
            unread = unread or ("" if day else pairs[name])
    windows: list[dict[str, str]] = []
    remarks: list[str] = []
    for name in WINDOW_KEYS:
        if name in pairs and not windows:
            window = _valid_window(pairs[name])
            if window:
                windows, remarks = [window], []
            elif not remarks:
                remarks = [f"WooCommerce delivery time {pairs[name]!r} not understood."]
    delivery_type = _key(pairs.get("delivery type"))
    pickup = delivery_type == "pickup" or (
        delivery_type != "delivery"
        and any(name in pairs for name in PICKUP_KEYS)
        and not any(name in pairs for name in (*YMD_KEYS, *TIMESTAMP_KEYS, *DATE_TEXT_KEYS))
    )
    return DeliveryMeta(
        date=day.isoformat() if day else "",
        date_as_written="" if day else unread,
        windows=windows,
        remarks=remarks,
        pickup=pickup,
    )


# --- the order JSON (REST API v3 shape, as the webhooks send it) ---------------------------

#: Not yet an order to deliver: taken once it is processing.
WAITING_STATUSES = frozenset({"pending", "on-hold", "checkout-draft", "draft", "auto-draft"})
#: Cancelled in the store: the order leaves its route.
CANCEL_STATUSES = frozenset({"cancelled", "refunded", "failed", "trash"})
#: Shipping methods where the customer collects.
PICKUP_METHODS = frozenset({"local_pickup", "local_pickup_plus", "pickup_location"})


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _phone(candidates: Iterable[Any], region: str) -> str:
    """The first phone that reads as a number; else the first given, for order_clean."""
    given = [t for t in (_text(c) for c in candidates) if t]
    for text in given:
        try:
            return phone_e164(text, region=region)
        except ValidationError:
            continue
    return given[0] if given else ""


def _next_day(zone: dt.tzinfo) -> str:
    return (dt.datetime.now(zone).date() + dt.timedelta(days=1)).isoformat()


def _zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _updated_at(payload: Mapping[str, Any]) -> dt.datetime | None:
    """date_modified_gmt ("2026-12-01T10:00:00", UTC without a zone)."""
    value = payload.get("date_modified_gmt")
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


def _addresses(payload: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(where to deliver, billing): the shipping address; the billing one when the order
    has no shipping address but a shipping method (shops that ship to the billing address)."""
    shipping, billing = _obj(payload.get("shipping")), _obj(payload.get("billing"))
    if _text(shipping.get("address_1")):
        return shipping, billing
    if payload.get("shipping_lines") and _text(billing.get("address_1")):
        return billing, billing
    return {}, billing


#: Where multilingual plugins keep the language an order was placed in (WooCommerce has
#: none of its own): WPML's WooCommerce Multilingual, Polylang, TranslatePress, and a
#: hand-made checkout field. Compared as `_key` does.
LANGUAGE_KEYS = ("wpml language", "pll language", "trp language", "language", "locale")


def order_language(payload: Mapping[str, Any]) -> str:
    """The shipped language (core.i18n) the order was placed in, from its meta; "" (the
    business's language) when none is written or it is one we do not ship."""
    pairs = _meta_pairs(payload.get("meta_data"))
    for key in LANGUAGE_KEYS:
        if code := normalize_language(pairs.get(key)):
            return code
    return ""


def _is_pickup(payload: Mapping[str, Any], meta: DeliveryMeta) -> bool:
    lines = [_obj(line) for line in payload.get("shipping_lines") or []]
    methods = {_text(line.get("method_id")) for line in lines}
    return meta.pickup or bool(methods and methods <= PICKUP_METHODS)


def order_data(
    payload: Mapping[str, Any], *, url: str, zone: dt.tzinfo, reader: DateReader
) -> tuple[dict[str, Any], DeliveryMeta]:
    """A WooCommerce order (its JSON) → our order input, for order_clean. Without a
    delivery date in its meta the order is for the next day in `zone`; with one that
    cannot be read, it needs a date (an UnreadDate). Weights are not in the order's JSON."""
    address, billing = _addresses(payload)
    meta = delivery_meta(payload.get("meta_data"), zone=zone, reader=reader)

    def full_name(place: Mapping[str, Any]) -> str:
        return " ".join(t for t in (_text(place.get(k)) for k in ("first_name", "last_name")) if t)

    woo_id = _text(payload.get("id"))
    name = (
        full_name(address)
        or _text(address.get("company"))
        or full_name(billing)
        or _text(billing.get("email"))
        or f"WooCommerce order {_text(payload.get('number')) or woo_id}"
    )
    country = _text(address.get("country")).upper()
    items = sum(
        max(int(q), 0)
        for q in (_obj(i).get("quantity") for i in payload.get("line_items") or [])
        if isinstance(q, int | float) and not isinstance(q, bool)
    )
    if meta.date:
        delivery_date: str | UnreadDate = meta.date
    elif meta.date_as_written:
        delivery_date = UnreadDate(meta.date_as_written)
    else:
        delivery_date = _next_day(zone)
    notes = "\n".join(t for t in (_text(payload.get("customer_note")), *meta.remarks) if t)
    data = {
        "external_id": external_id(woo_id, url) if woo_id else "",
        "customer_name": name[: input_field("customer_name").max_length],
        "customer_phone": _phone((address.get("phone"), billing.get("phone")), country),
        "customer_email": _text(billing.get("email")),
        "address_line1": _text(address.get("address_1")),
        "address_line2": _text(address.get("address_2")),
        "city": _text(address.get("city")),
        "postcode": _text(address.get("postcode")),
        "region": _text(address.get("state")),
        "country": country,
        "delivery_date": delivery_date,
        "time_windows": meta.windows,
        "items": items or 1,
        "notes": notes[: input_field("notes").max_length],
    }
    if language := order_language(payload):
        data["language"] = language
    return data, meta


def incoming_order(
    payload: Mapping[str, Any], *, url: str, zone: dt.tzinfo, reader: DateReader
) -> store_intake.IncomingOrder:
    """A WooCommerce order as a store's order for store_intake."""
    data, meta = order_data(payload, url=url, zone=zone, reader=reader)
    status = _text(payload.get("status"))
    address, _ = _addresses(payload)
    return store_intake.IncomingOrder(
        external_id=data["external_id"],
        data=data,
        has_address=bool(address) and not _is_pickup(payload, meta),
        updated_at=_updated_at(payload),
        date_given=bool(meta.date or meta.date_as_written),
        windows_given=bool(meta.windows),
        cancelled=status in CANCEL_STATUSES,
        cancel_reason=f"status {status}" if status in CANCEL_STATUSES else "",
    )


# --- applying the topics ------------------------------------------------------------------


def _apply_order(event: WebhookEvent) -> tuple[str, str]:
    """order.created, order.updated, order.restored: create, update or cancel the order
    as its status says; pending and on-hold orders wait until they are processing."""
    payload = event.payload
    status = _text(payload.get("status"))
    tenant = current_tenant()
    zone, reader = (
        _zone(tenant.time_zone),
        date_reader(locale=tenant.locale, country=tenant.country),
    )
    incoming = incoming_order(payload, url=event.shop_domain, zone=zone, reader=reader)
    known = Order.objects.filter(source=PLATFORM, external_id=incoming.external_id).exists()
    if status in WAITING_STATUSES:
        return IGNORED, f"The order is {status} in the store: taken once it is processing."
    if not known and status == "completed":
        return IGNORED, "The order was completed in the store before it came here."
    meta = delivery_meta(payload.get("meta_data"), zone=zone, reader=reader)
    if not known and _is_pickup(payload, meta):
        return IGNORED, "The customer collects this order (pickup): nothing to deliver."
    return store_intake.order_apply(
        incoming, platform=PLATFORM, store=event.shop_domain, country=tenant.country
    )


def _delete_order(event: WebhookEvent) -> tuple[str, str]:
    """order.deleted (its body is only the id): the order is cancelled (and leaves its
    route) if it still may be."""
    woo_id = _text(event.payload.get("id"))
    ref = external_id(woo_id, event.shop_domain)
    order = Order.objects.filter(source=PLATFORM, external_id=ref).first() if woo_id else None
    if order is None:
        return IGNORED, "No order here has that id."
    if order.status == OrderStatus.CANCELLED:
        return IGNORED, f"Order {order.pk} is cancelled already."
    if OrderStatus.CANCELLED not in order_services.ALLOWED_TRANSITIONS[order.status]:
        return IGNORED, f"Order {order.pk} is {order.status} and cannot be cancelled now."
    order_services.order_transition(
        order=order,
        to=OrderStatus.CANCELLED,
        actor=store_intake.actor(PLATFORM, event.shop_domain),
        reason="Deleted in WooCommerce",
    )
    return PROCESSED, f"Order {order.pk} cancelled (deleted in the store)."


HANDLERS = {
    "order.created": _apply_order,
    "order.updated": _apply_order,
    "order.restored": _apply_order,
    "order.deleted": _delete_order,
}
