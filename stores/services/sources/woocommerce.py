"""WooCommerce as an order source: which store an order came from, and its progress
written back through the store's REST API (wc/v3).

Calls authenticate with HTTP Basic (the store's consumer key and secret) over https. With
STORE_REQUIRE_HTTPS off (development, tests) a store on plain http is called the same way;
a real WooCommerce refuses Basic over http (it wants OAuth 1.0a there), so plain http is
for local fakes only. Keys never go in a query string and are never logged; redirects are
not followed and the connection's address is checked (no private or loopback addresses
unless WEBHOOK_ALLOW_LOOPBACK, as for outgoing webhooks).

Write-backs are idempotent: every note we add ends with a reference ("ref D12-out-1": our
order 12, its first setting off), and before adding one the order's notes are read and
ours is not added twice.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from core.outbound import InvalidIPAddress, public_session
from dispatch.models import Order, OrderStatus
from notifications.services.sending import tracking_url
from stores.models import WooCommerceStore, WriteBack
from stores.services import deadline
from stores.services.sources.base import PermanentError, RetryLater, StoreSource
from stores.services.sources.registry import register

API_PREFIX = "/wp-json/wc/v3"
EXTERNAL_ID_MAX = Order._meta.get_field("external_id").max_length
#: Store statuses an order must not be moved out of by our "completed".
CLOSED_STATUSES = frozenset({"completed", "cancelled", "refunded", "failed", "trash"})


# --- which store, which order -------------------------------------------------------------


def store_ref(url: str) -> str:
    """How a store is named inside our external ids: its URL without the scheme
    ("shop.example.com", "example.com/shop"); a digest when that is too long to fit."""
    ref = url.split("://", 1)[-1]
    if len(ref) > EXTERNAL_ID_MAX - 22:  # room for an order id and "@"
        ref = hashlib.sha256(url.encode()).hexdigest()[:20]
    return ref


def external_id(woo_id: Any, url: str) -> str:
    """Our external id of the store's order `woo_id`: "<id>@<store>", because two stores of
    one tenant both have an order 1001 (external ids are unique per source)."""
    return f"{woo_id}@{store_ref(url)}"


def woo_order_id(order: Order) -> str:
    """The store's own id of `order` (the part of its external id before "@")."""
    return order.external_id.split("@", 1)[0]


# --- the REST API -------------------------------------------------------------------------


def _session() -> requests.Session:
    """requests with an address filter on the connection itself and no redirects."""
    return public_session(read_timeout_s=settings.STORE_TIMEOUT_S, user_agent="dispatch-stores/1")


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (a number, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - timezone.now()).total_seconds(), 0.0)


def _store_message(response: requests.Response) -> str:
    """WooCommerce's own error code and message (never anything of ours)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    code, message = str(body.get("code") or ""), str(body.get("message") or "")
    return f" ({code}: {message})"[:200] if code or message else ""


class WooCommerceApi:
    """The REST API of one store, as its keys allow."""

    def __init__(self, store: WooCommerceStore) -> None:
        if not (store.consumer_key and store.consumer_secret):
            raise PermanentError("The store has no REST API keys: add them on the Stores page.")
        if settings.STORE_REQUIRE_HTTPS and urlsplit(store.url).scheme != "https":
            raise PermanentError("The store's address must be https to send it the API keys.")
        self.base = store.url + API_PREFIX
        self.auth = (store.consumer_key, store.consumer_secret)

    def call(self, method: str, path: str, body: dict | None = None) -> Any:
        """One call; its JSON answer. Raises PermanentError, RetryLater, or requests'
        own errors (a store that cannot be reached: tried again with backoff). Not
        started once a write-back's try ran out of time (stores.services.deadline)."""
        deadline.check()
        try:
            with _session() as session:
                response = session.request(
                    method,
                    self.base + path,
                    json=body,
                    auth=self.auth,
                    headers={"Accept": "application/json"},
                )
        except InvalidIPAddress:
            raise PermanentError(
                "The store's address leads to a private or loopback address: not called."
            ) from None
        status = response.status_code
        if status in (401, 403):
            raise PermanentError(
                f"The store refused the API keys ({status}): the keys were revoked or lack "
                f"write access{_store_message(response)}."
            )
        if status == 404:
            raise PermanentError(
                f"Not found in the store (404): the order was deleted there, or the store's "
                f"address is wrong{_store_message(response)}."
            )
        if status == 429:
            raise RetryLater(
                "The store asked us to slow down (429).",
                after=_retry_after(response.headers.get("Retry-After")),
                counts=False,
            )
        if status >= 500:
            raise RetryLater(f"The store answered {status}.")
        if 300 <= status < 400:
            where = response.headers.get("Location", "")[:200]
            raise PermanentError(
                f"The store redirects ({status}) to {where or 'another address'}: save the "
                f"store's address as it redirects to."
            )
        if status >= 400:
            raise PermanentError(f"The store answered {status}{_store_message(response)}.")
        try:
            return response.json()
        except ValueError:
            raise RetryLater(f"The store answered {status} without JSON.") from None

    def order(self, woo_id: str) -> dict:
        return self.call("GET", f"/orders/{woo_id}")

    def notes(self, woo_id: str) -> list[dict]:
        found = self.call("GET", f"/orders/{woo_id}/notes")
        return [n for n in found if isinstance(n, dict)] if isinstance(found, list) else []

    def note_once(self, woo_id: str, text: str, ref: str, *, to_customer: bool) -> int | None:
        """Add a note ending with `ref` (`to_customer`: one WooCommerce emails to the
        customer; else private, for the shop), unless one is there already; its id."""
        for note in self.notes(woo_id):
            if ref in str(note.get("note") or ""):
                return note.get("id")
        added = self.call(
            "POST",
            f"/orders/{woo_id}/notes",
            {"note": f"{text} ({ref})", "customer_note": to_customer},
        )
        return added.get("id") if isinstance(added, dict) else None

    def status_set(self, woo_id: str, status: str) -> str:
        """Set the order's status unless it is closed already; the status it has."""
        current = str(self.order(woo_id).get("status") or "")
        if current in CLOSED_STATUSES:
            return current
        answer = self.call("PUT", f"/orders/{woo_id}", {"status": status})
        return str(answer.get("status") or status) if isinstance(answer, dict) else status


# --- the source ---------------------------------------------------------------------------


def _failure_reason(order: Order) -> str:
    reason = (
        order.events.filter(to_status=OrderStatus.FAILED)
        .order_by("-created_at", "-id")
        .values_list("reason", flat=True)
        .first()
    )
    return (reason or "").strip()


class WooCommerceSource(StoreSource):
    """A WooCommerce store, named by its normalised URL ("https://shop.example.com")."""

    key = Order.Source.WOOCOMMERCE
    label = "WooCommerce"

    def connection(self, store: str) -> WooCommerceStore | None:
        return WooCommerceStore.objects.filter(url=store, is_active=True).first()

    def can_write_back(self, store: str) -> bool:
        found = self.connection(store)
        return bool(found and found.consumer_key and found.consumer_secret)

    def write_back(self, action: str, order: Order, *, store: str, state: dict) -> dict:
        """Out for delivery: a customer note with the tracking link. Delivered: the order
        completed (unless the store closed it already; WooCommerce emails the customer its
        "order completed") and a private note, so the customer gets one email, not two.
        Failed: a customer note with the reason (the status is left to the shop). Returns
        the note ids."""
        found = self.connection(store)
        if found is None:
            raise PermanentError("The store is no longer connected.")
        api, woo_id, ref = WooCommerceApi(found), woo_order_id(order), f"ref D{order.pk}"
        if action == WriteBack.Action.SET_OFF:  # again when a rebooked order sets off again
            if "delivered_note_id" in state:
                # a failed set-off tried again after delivered was written: delivered is
                # the last word, the customer is not told "out for delivery" after it
                return {"note": "Delivered already: out for delivery not written after it."}
            earlier = list(state.get("set_off_note_ids") or [])
            text = f"Out for delivery — track it: {tracking_url(order)}"
            note = api.note_once(woo_id, text, f"{ref}-out-{len(earlier) + 1}", to_customer=True)
            return {"set_off_note_ids": [*earlier, note]}
        if action == WriteBack.Action.DELIVERED:
            status = api.status_set(woo_id, "completed")
            note = api.note_once(woo_id, "Delivered.", f"{ref}-delivered", to_customer=False)
            return {"delivered_note_id": note, "store_status": status}
        if action == WriteBack.Action.FAILED:
            earlier = list(state.get("failed_note_ids") or [])
            reason = _failure_reason(order)
            text = f"Delivery attempt failed{': ' + reason if reason else ''}."
            note = api.note_once(woo_id, text, f"{ref}-failed-{len(earlier) + 1}", to_customer=True)
            return {"failed_note_ids": [*earlier, note]}
        raise PermanentError(f"Nothing to write back for {action!r}.")

    def record_error(self, store: str, message: str) -> None:
        WooCommerceStore.objects.filter(url=store).update(
            last_error=message[:500], last_error_at=timezone.now()
        )


register(WooCommerceSource())
