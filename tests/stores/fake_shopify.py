"""A local stand-in for Shopify, started as a real HTTP server: the OAuth install (the
authorize page a shop owner approves, the code exchanged for an offline token), the Admin
GraphQL API as far as the app uses it (webhook subscriptions, an order's fulfilment orders
and fulfilments, fulfilmentCreate, fulfillmentEventCreate) with its cost extension and its
throttled answers, and the REST call that revokes a token. It records every request.

Shops are reached at `{url}/{shop}`: set SHOPIFY_SHOP_URL to `fake.shop_url` ("{shop}" in
it). GraphQL requests are told apart by the fields they name, as a fake can: the app's
queries are few and fixed.

Formats follow shopify.dev: OAuth (authorization code grant, hex HMAC-SHA256 of the sorted
query with the app's secret), GraphQL Admin API 2025-10 (`extensions.cost.throttleStatus`;
a throttled request answers 200 with `errors[0].extensions.code == "THROTTLED"`; a wrong
token answers 401 with `{"errors": "[API] Invalid API key or access token ..."}`).
Fulfillment orders list every line of the order, those that need no shipping too
(`lineItem.requiresShipping` false), as Shopify's do; the mutations' inputs are checked
against the documented input objects (FulfillmentInput, FulfillmentTrackingInput,
FulfillmentEventInput and FulfillmentEventStatus), an unknown field or status being a
top-level GraphQL error as Shopify's validation makes it.

Access scopes are enforced as shopify.dev's reference states them (REQUIRED_ACCESS): a
token issued through the fake's OAuth has the scopes its install granted (the approve
link's `scope`, narrowed by editing the authorize URL), and an operation it lacks one for
answers HTTP 200 with `errors[0].extensions.code == "ACCESS_DENIED"` and "Access denied
for <field> field. Required access: `<scope>` access scope.", as Shopify does. A token
set by hand (`fake.shop(d).token = ...`, `scopes` left empty) has every scope.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

API_KEY = "fake-app-client-id"
API_SECRET = "fake-app-client-secret-0123456789abcdef"
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


#: The input fields Admin GraphQL 2025-10 documents (FulfillmentInput, FulfillmentTrackingInput,
#: FulfillmentOrderLineItemsInput, FulfillmentEventInput) and FulfillmentEventStatus's values.
FULFILLMENT_INPUT = {
    "lineItemsByFulfillmentOrder",
    "notifyCustomer",
    "originAddress",
    "trackingInfo",
}
TRACKING_INPUT = {"company", "number", "numbers", "url", "urls"}
LINE_ITEMS_INPUT = {"fulfillmentOrderId", "fulfillmentOrderLineItems"}
EVENT_INPUT = {
    "address1",
    "city",
    "country",
    "estimatedDeliveryAt",
    "fulfillmentId",
    "happenedAt",
    "latitude",
    "longitude",
    "message",
    "province",
    "status",
    "zip",
}
EVENT_STATUSES = {
    "ATTEMPTED_DELIVERY",
    "CARRIER_PICKED_UP",
    "CONFIRMED",
    "DELAYED",
    "DELIVERED",
    "FAILURE",
    "IN_TRANSIT",
    "LABEL_PRINTED",
    "LABEL_PURCHASED",
    "OUT_FOR_DELIVERY",
    "READY_FOR_PICKUP",
}


#: The scopes each operation needs (any one of a set), per shopify.dev's reference; a write
#: scope includes the read scope of the same resource.
REQUIRED_ACCESS: dict[str, list[set[str]]] = {
    # an order, with its fulfillment orders and fulfillments
    "order": [{"read_orders"}, {"read_merchant_managed_fulfillment_orders"}],
    "fulfillmentCreate": [
        {
            "write_merchant_managed_fulfillment_orders",
            "write_assigned_fulfillment_orders",
            "write_third_party_fulfillment_orders",
        }
    ],
    "fulfillmentEventCreate": [{"write_fulfillments"}],
}


def _covered(needed: set[str], granted: set[str]) -> bool:
    return any(
        s in granted or (s.startswith("read_") and "write_" + s[5:] in granted) for s in needed
    )


def access_denied(shop: FakeShop, query: str) -> dict[str, Any] | None:
    """Shopify's answer to an operation the token's scopes do not cover, else None."""
    granted = {s.strip() for s in shop.scopes.split(",") if s.strip()}
    if not granted:  # a token set by hand: every scope
        return None
    for field_name, needs in REQUIRED_ACCESS.items():
        if not re.search(rf"\b{field_name}\s*\(", query):
            continue
        for needed in needs:
            if _covered(needed, granted):
                continue
            scope = sorted(needed)[0] if len(needed) == 1 else " or ".join(sorted(needed))
            required = f"`{scope}` access scope."
            return {
                "data": None,
                "errors": [
                    {
                        "message": f"Access denied for {field_name} field. "
                        f"Required access: {required}",
                        "locations": [{"line": 2, "column": 3}],
                        "path": [field_name],
                        "extensions": {
                            "code": "ACCESS_DENIED",
                            "documentation": "https://shopify.dev/api/usage/access-scopes",
                            "requiredAccess": required,
                        },
                    }
                ],
            }
    return None


def _input_check(type_name: str, value: Any, fields: set[str]) -> None:
    """GraphQL refuses an input object with a field its type does not have (a top-level
    error, no data), as a fake the app's mistakes must show up on."""
    unknown = sorted(set(value or {}) - fields) if isinstance(value, dict) else []
    if unknown:
        raise ValueError(f"{type_name} has no field named {unknown[0]!r}")


def oauth_hmac(params: dict[str, str], secret: str = API_SECRET) -> str:
    """Shopify's signature of a redirect to the app: hex HMAC-SHA256 of `k=v&...` sorted."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def webhook_hmac(body: bytes, secret: str = API_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class FakeOrder:
    """An order of a fake shop: its lines (requires_shipping) and what was fulfilled."""

    id: int
    lines: list[dict[str, Any]]  # {"id", "quantity", "requires_shipping"}
    fulfillments: list[dict[str, Any]] = field(default_factory=list)
    cancelled: bool = False

    @property
    def gid(self) -> str:
        return f"gid://shopify/Order/{self.id}"

    def remaining(self, line_id: int) -> int:
        done = sum(
            item["quantity"]
            for f in self.fulfillments
            for item in f["line_items"]
            if item["line_id"] == line_id
        )
        line = next(ln for ln in self.lines if ln["id"] == line_id)
        return line["quantity"] - done


@dataclass
class FakeShop:
    domain: str
    token: str = ""
    scopes: str = ""  # granted at the install; empty: every scope (a token set by hand)
    codes: dict[str, str] = field(default_factory=dict)  # code → granted scopes
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    revoked: bool = False
    # expiring offline tokens (asked with "expiring": 1): the access token dies at
    # token_expires (time.time()), the refresh token works once and is replaced
    token_expires: float | None = None
    refresh_token: str = ""
    refreshes: int = 0

    def token_valid(self, token: str) -> bool:
        alive = self.token_expires is None or time.time() < self.token_expires
        return bool(self.token) and token == self.token and not self.revoked and alive

    def expire_token(self) -> None:
        """The access token's hour is over (the refresh token still works)."""
        self.token_expires = time.time() - 1


@dataclass
class FakeShopify:
    url: str = ""
    shops: dict[str, FakeShop] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    throttle_next: int = 0  # answer this many GraphQL calls "Throttled"
    fail_next: list[tuple[int, Any]] = field(default_factory=list)  # (status, body) in turn
    available: float = 2000.0
    restore_rate: float = 100.0
    _ids: Any = field(default_factory=lambda: itertools.count(1001))

    @property
    def shop_url(self) -> str:
        return self.url + "/{shop}"

    def shop(self, domain: str) -> FakeShop:
        return self.shops.setdefault(domain, FakeShop(domain))

    def add_order(self, domain: str, order_id: int, lines: list[dict[str, Any]]) -> FakeOrder:
        order = FakeOrder(order_id, [dict(line) for line in lines])
        self.shop(domain).orders[order_id] = order
        return order

    def graphql_calls(self, name: str = "") -> list[dict[str, Any]]:
        return [
            r
            for r in self.requests
            if r["path"].endswith("/graphql.json") and name in r.get("body", {}).get("query", "")
        ]

    def send_webhook(
        self, url: str, topic: str, payload: dict, *, shop: str, secret: str = API_SECRET
    ) -> requests.Response:
        """Deliver a webhook as Shopify does (signed with the app's secret)."""
        body = json.dumps(payload).encode()
        return requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": shop,
                "X-Shopify-Hmac-Sha256": webhook_hmac(body, secret),
                "X-Shopify-Webhook-Id": secrets.token_hex(8),
                "X-Shopify-Event-Id": secrets.token_hex(8),
                "X-Shopify-API-Version": "2025-10",
            },
            timeout=10,
        )

    # --- GraphQL ----------------------------------------------------------------------------

    def _cost(self, cost: float) -> dict[str, Any]:
        return {
            "requestedQueryCost": cost,
            "actualQueryCost": cost,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": self.available,
                "restoreRate": self.restore_rate,
            },
        }

    def graphql(self, shop: FakeShop, query: str, variables: dict) -> dict[str, Any]:
        if "webhookSubscriptionCreate" in query:
            sub = variables.get("webhookSubscription") or {}
            uri = sub.get("uri") or sub.get("callbackUrl")
            topic = variables.get("topic")
            if any(w["topic"] == topic and w["uri"] == uri for w in shop.webhooks):
                errors = [
                    {
                        "field": ["webhookSubscription", "uri"],
                        "message": "Address for this topic has already been taken",
                    }
                ]
                return {
                    "webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": errors}
                }
            hook = {
                "id": f"gid://shopify/WebhookSubscription/{next(self._ids)}",
                "topic": topic,
                "uri": uri,
            }
            shop.webhooks.append(hook)
            return {"webhookSubscriptionCreate": {"webhookSubscription": hook, "userErrors": []}}
        if "webhookSubscriptions" in query:
            return {"webhookSubscriptions": {"nodes": list(shop.webhooks)}}
        if "fulfillmentCreate" in query:
            fulfillment = variables.get("fulfillment") or {}
            _input_check("FulfillmentInput", fulfillment, FULFILLMENT_INPUT)
            _input_check(
                "FulfillmentTrackingInput", fulfillment.get("trackingInfo"), TRACKING_INPUT
            )
            for group in fulfillment.get("lineItemsByFulfillmentOrder") or []:
                _input_check("FulfillmentOrderLineItemsInput", group, LINE_ITEMS_INPUT)
            return {"fulfillmentCreate": self._fulfil(shop, fulfillment)}
        if "fulfillmentEventCreate" in query:
            event = variables.get("fulfillmentEvent") or {}
            _input_check("FulfillmentEventInput", event, EVENT_INPUT)
            if event.get("status") not in EVENT_STATUSES or not event.get("fulfillmentId"):
                raise ValueError(
                    "Variable $fulfillmentEvent of type FulfillmentEventInput! was provided "
                    "invalid value for status or fulfillmentId"
                )
            return {"fulfillmentEventCreate": self._event(shop, event)}
        if "order(" in query:
            gid = variables.get("id", "")
            order = (
                shop.orders.get(int(gid.rsplit("/", 1)[-1]))
                if gid.rsplit("/", 1)[-1].isdigit()
                else None
            )
            return {"order": self._order(order) if order else None}
        if "shop" in query:
            return {"shop": {"name": shop.domain.split(".")[0], "myshopifyDomain": shop.domain}}
        raise ValueError("query not understood by the fake")

    def _order(self, order: FakeOrder) -> dict[str, Any]:
        # Shopify puts every line in the fulfillment order, those that need no shipping (a
        # gift card, a download) too, with `lineItem.requiresShipping` false: the app picks
        shippable = list(order.lines)
        open_lines = [ln for ln in shippable if order.remaining(ln["id"]) > 0]
        status = "CLOSED" if not open_lines else ("IN_PROGRESS" if order.fulfillments else "OPEN")
        if order.cancelled:
            status = "CLOSED"  # a cancelled order's fulfillment orders are closed
        return {
            "id": order.gid,
            "cancelledAt": "2026-12-07T08:00:00Z" if order.cancelled else None,
            "fulfillmentOrders": {
                "nodes": [
                    {
                        "id": f"gid://shopify/FulfillmentOrder/{order.id}1",
                        "status": status,
                        "supportedActions": []
                        if status in ("CLOSED", "CANCELLED")
                        else [{"action": "CREATE_FULFILLMENT"}],
                        "lineItems": {
                            "nodes": [
                                {
                                    "id": f"gid://shopify/FulfillmentOrderLineItem/{ln['id']}",
                                    "remainingQuantity": order.remaining(ln["id"]),
                                    "totalQuantity": ln["quantity"],
                                    "lineItem": {
                                        "id": f"gid://shopify/LineItem/{ln['id']}",
                                        "requiresShipping": bool(ln.get("requires_shipping", True)),
                                    },
                                }
                                for ln in shippable
                            ]
                        },
                    }
                ]
                if shippable
                else []
            },
            "fulfillments": [
                {
                    "id": f["id"],
                    "status": "SUCCESS",
                    "trackingInfo": [f["tracking"]] if f.get("tracking") else [],
                    "events": {"nodes": [{"status": e["status"]} for e in f["events"]]},
                }
                for f in order.fulfillments
            ],
        }

    def _fulfil(self, shop: FakeShop, fulfillment: dict) -> dict[str, Any]:
        items = []
        for group in fulfillment.get("lineItemsByFulfillmentOrder") or []:
            fo_id = str(group.get("fulfillmentOrderId", ""))
            order = next(
                (
                    o
                    for o in shop.orders.values()
                    if fo_id == f"gid://shopify/FulfillmentOrder/{o.id}1"
                ),
                None,
            )
            if order is None:
                return {
                    "fulfillment": None,
                    "userErrors": [
                        {"field": ["fulfillment"], "message": "Fulfillment order does not exist."}
                    ],
                }
            if order.cancelled:
                return {
                    "fulfillment": None,
                    "userErrors": [
                        {
                            "field": ["fulfillment"],
                            "message": "Fulfillment order is not in a fulfillable state.",
                        }
                    ],
                }
            if not any(ln_ for ln_ in order.lines if order.remaining(ln_["id"]) > 0):
                return {
                    "fulfillment": None,
                    "userErrors": [
                        {
                            "field": ["fulfillment"],
                            "message": "Fulfillment order is not in a fulfillable state.",
                        }
                    ],
                }
            lines = group.get("fulfillmentOrderLineItems")
            if lines is None:  # "If left blank, all line items ... will be fulfilled"
                lines = [
                    {
                        "id": f"gid://shopify/FulfillmentOrderLineItem/{ln['id']}",
                        "quantity": order.remaining(ln["id"]),
                    }
                    for ln in order.lines
                    if order.remaining(ln["id"]) > 0
                ]
            for line in lines:
                line_id = int(str(line["id"]).rsplit("/", 1)[-1])
                if line["quantity"] > order.remaining(line_id):
                    return {
                        "fulfillment": None,
                        "userErrors": [
                            {
                                "field": ["fulfillment"],
                                "message": "Invalid fulfillment order line item quantity "
                                "requested.",
                            }
                        ],
                    }
                items.append({"line_id": line_id, "quantity": line["quantity"]})
        fid = f"gid://shopify/Fulfillment/{next(self._ids)}"
        record = {
            "id": fid,
            "line_items": items,
            "tracking": fulfillment.get("trackingInfo"),
            "notify": fulfillment.get("notifyCustomer"),
            "events": [],
        }
        order.fulfillments.append(record)
        return {"fulfillment": {"id": fid, "status": "SUCCESS"}, "userErrors": []}

    def _event(self, shop: FakeShop, event: dict) -> dict[str, Any]:
        for order in shop.orders.values():
            for f in order.fulfillments:
                if f["id"] == event.get("fulfillmentId"):
                    f["events"].append(
                        {
                            "status": event.get("status"),
                            "message": event.get("message"),
                            "happenedAt": event.get("happenedAt"),
                        }
                    )
                    eid = f"gid://shopify/FulfillmentEvent/{next(self._ids)}"
                    return {
                        "fulfillmentEvent": {"id": eid, "status": event.get("status")},
                        "userErrors": [],
                    }
        return {
            "fulfillmentEvent": None,
            "userErrors": [
                {
                    "field": ["fulfillmentEvent", "fulfillmentId"],
                    "message": "Fulfillment does not exist.",
                }
            ],
        }

    def events_of(self, domain: str, order_id: int) -> list[str]:
        order = self.shop(domain).orders[order_id]
        return [e["status"] for f in order.fulfillments for e in f["events"]]


@contextmanager
def running_fake_shopify() -> Iterator[FakeShopify]:
    fake = FakeShopify()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            ctype = "text/html" if isinstance(body, str) else "application/json"
            self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _split(self) -> tuple[FakeShop | None, str, dict[str, str]]:
            url = urlsplit(self.path)
            match = re.match(r"^/([a-z0-9][a-z0-9-]*\.myshopify\.com)(/.*)$", url.path)
            if not match:
                return None, url.path, {}
            return fake.shop(match.group(1)), match.group(2), dict(parse_qsl(url.query))

        def _record(self, path: str, body: Any) -> None:
            with lock:
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "token": self.headers.get("X-Shopify-Access-Token", ""),
                        "body": body,
                    }
                )

        def _token(self, shop: FakeShop, body: dict) -> None:
            """The token endpoint: an authorization code (non-expiring token, or with
            `expiring: 1` an hour's token and a refresh token) or a refresh grant."""
            if body.get("client_id") != API_KEY or body.get("client_secret") != API_SECRET:
                return self._answer(
                    400,
                    {
                        "error": "invalid_client",
                        "error_description": "Client credentials are invalid",
                    },
                )
            if body.get("grant_type") == "refresh_token":
                given = body.get("refresh_token", "")
                if not shop.refresh_token or given != shop.refresh_token or shop.revoked:
                    return self._answer(
                        400,
                        {"error": "invalid_grant", "error_description": "Refresh token is invalid"},
                    )
                shop.refreshes += 1
                return self._answer(200, self._issue(shop, expiring=True))
            code = body.get("code", "")
            if code not in shop.codes:
                return self._answer(
                    400,
                    {
                        "error": "invalid_request",
                        "error_description": "The authorization code was not found or "
                        "was already used",
                    },
                )
            shop.scopes = shop.codes.pop(code)
            shop.revoked = False
            return self._answer(200, self._issue(shop, expiring=body.get("expiring") in (1, "1")))

        def _issue(self, shop: FakeShop, *, expiring: bool) -> dict[str, Any]:
            shop.token = "shpat_" + secrets.token_hex(16)
            grant: dict[str, Any] = {"access_token": shop.token, "scope": shop.scopes}
            if expiring:
                shop.token_expires = time.time() + 3600
                shop.refresh_token = "shprt_" + secrets.token_hex(16)
                grant |= {
                    "expires_in": 3600,
                    "refresh_token": shop.refresh_token,
                    "refresh_token_expires_in": 7776000,
                }
            else:
                shop.token_expires, shop.refresh_token = None, ""
            return grant

        def do_GET(self) -> None:
            shop, path, query = self._split()
            self._record(path, query)
            if shop is None:
                return self._answer(404, {"errors": "Not Found"})
            if path == "/admin/oauth/authorize":
                # the page the shop owner sees: the app, the scopes asked, an Install button
                approve = urlencode({**query, "approve": "1"})
                scopes = ", ".join(query.get("scope", "").split(","))
                return self._answer(
                    200,
                    f"<!doctype html><title>Install app</title><h1>Install {query.get('client_id')}"
                    f" on {shop.domain}?</h1><p>It asks to: {scopes}</p>"
                    f'<a id="install" href="/{shop.domain}/admin/oauth/approve?{approve}">'
                    "Install app</a>",
                )
            if path == "/admin/oauth/approve":
                code = secrets.token_hex(16)
                shop.codes[code] = query.get("scope", "")
                back = {
                    "code": code,
                    "host": base64.b64encode(f"{shop.domain}/admin".encode()).decode().rstrip("="),
                    "shop": shop.domain,
                    "state": query.get("state", ""),
                    "timestamp": str(int(time.time())),
                }
                back["hmac"] = oauth_hmac(back)
                self.send_response(302)
                self.send_header("Location", f"{query.get('redirect_uri')}?{urlencode(back)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._answer(404, {"errors": "Not Found"})

        def do_POST(self) -> None:
            shop, path, _ = self._split()
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = dict(parse_qsl(raw.decode()))
            self._record(path, body)
            if shop is None:
                return self._answer(404, {"errors": "Not Found"})
            if path == "/admin/oauth/access_token":
                return self._token(shop, body)
            if re.fullmatch(r"/admin/api/[0-9-]+/graphql\.json", path):
                if fake.fail_next:
                    status, answer = fake.fail_next.pop(0)
                    return self._answer(
                        status, answer, {"Retry-After": "1"} if status == 429 else None
                    )
                token = self.headers.get("X-Shopify-Access-Token", "")
                if not shop.token_valid(token):
                    return self._answer(401, {"errors": INVALID_TOKEN})
                if fake.throttle_next > 0:
                    fake.throttle_next -= 1
                    throttled = {
                        "errors": [
                            {
                                "message": "Throttled",
                                "extensions": {
                                    "code": "THROTTLED",
                                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                                },
                            }
                        ],
                        "extensions": {
                            "cost": {
                                **fake._cost(50.0),
                                "throttleStatus": {
                                    "maximumAvailable": 2000.0,
                                    "currentlyAvailable": 0.0,
                                    "restoreRate": fake.restore_rate,
                                },
                            }
                        },
                    }
                    return self._answer(200, throttled)
                denied = access_denied(shop, body.get("query", ""))
                if denied is not None:
                    return self._answer(200, {**denied, "extensions": {"cost": fake._cost(1.0)}})
                try:
                    with lock:
                        data = fake.graphql(
                            shop, body.get("query", ""), body.get("variables") or {}
                        )
                except ValueError as exc:
                    return self._answer(200, {"errors": [{"message": str(exc)}]})
                return self._answer(200, {"data": data, "extensions": {"cost": fake._cost(10.0)}})
            return self._answer(404, {"errors": "Not Found"})

        def do_DELETE(self) -> None:
            shop, path, _ = self._split()
            self._record(path, {})
            if shop is not None and path == "/admin/api_permissions/current.json":
                token = self.headers.get("X-Shopify-Access-Token", "")
                if not shop.token_valid(token):
                    return self._answer(401, {"errors": INVALID_TOKEN})
                shop.revoked = True
                return self._answer(200, {})
            return self._answer(404, {"errors": "Not Found"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
