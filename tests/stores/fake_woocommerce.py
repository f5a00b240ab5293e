"""A fake WooCommerce store for the tests: its REST API (wc/v3 orders and order notes, as
WooCommerce documents them) served by a real HTTP server on loopback, HTTP Basic auth
checked against its keys, failures scripted in turn (401, 404, 429 with Retry-After, 500),
and every request recorded. Also what the store sends us: its order JSON and its signed
webhooks."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONSUMER_KEY = "ck_" + "1" * 40
CONSUMER_SECRET = "cs_" + "2" * 40
WEBHOOK_SECRET = "wh-secret-Zq81!correct-horse"

ORDER_PATH = re.compile(r"^/wp-json/wc/v3/orders/(\d+)(/notes)?/?$")


def _now_gmt() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat()


@dataclass
class FakeWooCommerce:
    url: str = ""
    key: str = CONSUMER_KEY
    secret: str = CONSUMER_SECRET
    orders: dict[int, dict] = field(default_factory=dict)
    notes: dict[int, list[dict]] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    #: answers given in turn before any real one: (status, headers)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    next_note_id: int = 500

    def add_order(self, order: dict) -> dict:
        self.orders[order["id"]] = copy.deepcopy(order)
        self.notes.setdefault(order["id"], [])
        return order

    def fail(self, status: int, **headers: str) -> None:
        self.script.append((status, headers))

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        return [
            (r["method"], r["path"])
            for r in self.requests
            if method is None or r["method"] == method
        ]

    # --- the REST API --------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, Any]:
        if self.script:
            status, extra = self.script.pop(0)
            return status, extra, _error(status)
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if headers.get("Authorization") != expected:
            return 401, {}, _error(401)
        if path.split("?")[0].rstrip("/") == "/wp-json/wc/v3/orders" and method == "GET":
            return 200, {}, list(self.orders.values())[:1]
        match = ORDER_PATH.match(path.split("?")[0])
        if not match or int(match.group(1)) not in self.orders:
            return 404, {}, _error(404)
        woo_id, notes = int(match.group(1)), bool(match.group(2))
        order = self.orders[woo_id]
        data = json.loads(body) if body else {}
        if notes and method == "GET":
            return 200, {}, sorted(self.notes[woo_id], key=lambda n: -n["id"])  # newest first
        if notes and method == "POST":
            self.next_note_id += 1
            note = {
                "id": self.next_note_id,
                "author": "WooCommerce",
                "date_created": _now_gmt(),
                "date_created_gmt": _now_gmt(),
                "note": data["note"],
                "customer_note": bool(data.get("customer_note")),
                "added_by_user": False,
            }
            self.notes[woo_id].append(note)
            return 201, {}, note
        if method == "GET":
            return 200, {}, order
        if method in ("PUT", "POST"):
            order.update({k: v for k, v in data.items() if k in ("status", "customer_note")})
            order["date_modified_gmt"] = _now_gmt()
            return 200, {}, order
        return 405, {}, _error(405)


def _error(status: int) -> dict:
    code, message = {
        401: ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        404: ("woocommerce_rest_shop_order_invalid_id", "Invalid ID."),
        429: ("too_many_requests", "Too many requests."),
    }.get(status, ("internal_server_error", "There has been a critical error on this website."))
    return {"code": code, "message": message, "data": {"status": status}}


@contextmanager
def running_woocommerce(host: str = "127.0.0.1") -> Iterator[FakeWooCommerce]:
    store = FakeWooCommerce()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length", 0) or 0)
            body = self.rfile.read(length) if length else b""
            headers = dict(self.headers.items())
            with lock:
                store.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": headers,
                        "body": json.loads(body) if body else None,
                    }
                )
                status, extra, answer = store.answer(self.command, self.path, headers, body)
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in extra.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = do_PUT = _handle

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    store.url = f"http://{host}:{server.server_address[1]}"
    try:
        yield store
    finally:
        server.shutdown()
        server.server_close()


# --- what the store sends us ------------------------------------------------------------


def order(woo_id: int = 1001, *, status: str = "processing", meta=(), **extra) -> dict:
    """A WooCommerce order as its webhooks send it (REST API v3's shape)."""
    body = {
        "id": woo_id,
        "parent_id": 0,
        "number": str(woo_id),
        "order_key": f"wc_order_{woo_id}abc",
        "created_via": "checkout",
        "status": status,
        "currency": "GBP",
        "date_created": "2026-11-24T15:10:00",
        "date_created_gmt": "2026-11-24T15:10:00",
        "date_modified": "2026-11-24T15:15:00",
        "date_modified_gmt": "2026-11-24T15:15:00",
        "total": "42.50",
        "customer_id": 7,
        "customer_note": "Leave it with the neighbour",
        "billing": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "",
            "address_1": "1 Billing Road",
            "address_2": "",
            "city": "London",
            "state": "",
            "postcode": "N1 1AA",
            "country": "GB",
            "email": "ada@example.com",
            "phone": "020 7946 0018",
        },
        "shipping": {
            "first_name": "Ada",
            "last_name": "King",
            "company": "",
            "address_1": "12 St James's Square",
            "address_2": "Flat 3",
            "city": "London",
            "state": "",
            "postcode": "SW1Y 4JH",
            "country": "GB",
            "phone": "",
        },
        "payment_method": "stripe",
        "line_items": [
            {"id": 1, "name": "Roses", "product_id": 10, "quantity": 2, "total": "30.00"},
            {"id": 2, "name": "Vase", "product_id": 11, "quantity": 1, "total": "12.50"},
        ],
        "shipping_lines": [{"id": 3, "method_title": "Local delivery", "method_id": "flat_rate"}],
        "meta_data": [
            {"id": 900 + i, "key": key, "value": value} for i, (key, value) in enumerate(meta)
        ],
    }
    body.update(extra)
    return body


def body(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def sign(raw: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def headers(
    raw: bytes,
    *,
    source: str,
    topic: str = "order.created",
    secret: str = WEBHOOK_SECRET,
    delivery_id: str | None = None,
) -> dict[str, str]:
    """The headers WooCommerce sends with a webhook (as Django test client kwargs)."""
    resource, _, event = topic.partition(".")
    return {
        "HTTP_USER_AGENT": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
        "HTTP_X_WC_WEBHOOK_SOURCE": source.rstrip("/") + "/",
        "HTTP_X_WC_WEBHOOK_TOPIC": topic,
        "HTTP_X_WC_WEBHOOK_RESOURCE": resource,
        "HTTP_X_WC_WEBHOOK_EVENT": event,
        "HTTP_X_WC_WEBHOOK_SIGNATURE": sign(raw, secret),
        "HTTP_X_WC_WEBHOOK_ID": "17",
        "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery_id or uuid.uuid4().hex,
    }
