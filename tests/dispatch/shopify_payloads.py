"""Webhook bodies shaped like Shopify's documented REST Admin API order resource."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json

SHOP = "bloom-florists.myshopify.com"
SECRET = "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"

ORDER = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "name": "#9999",
    "order_number": 1000,
    "email": "jon@example.com",
    "contact_email": "jon@example.com",
    "phone": None,
    "created_at": "2026-11-24T10:15:00-05:00",
    "updated_at": "2026-11-24T10:15:00-05:00",
    "processed_at": "2026-11-24T10:15:00-05:00",
    "cancelled_at": None,
    "cancel_reason": None,
    "currency": "GBP",
    "financial_status": "paid",
    "fulfillment_status": None,
    "total_price": "74.00",
    "total_weight": 2450,
    "note": "Please ring the bell twice",
    "note_attributes": [
        {"name": "Delivery Date", "value": "2026-12-02"},
        {"name": "Delivery Time", "value": "9:00 AM - 12:00 PM"},
        {"name": "Gift message", "value": "Happy birthday!"},
    ],
    "tags": "flowers, local-delivery",
    "customer": {
        "id": 115310627314723954,
        "email": "jon@example.com",
        "first_name": "Jon",
        "last_name": "Snow",
        "phone": "+442079460771",
    },
    "line_items": [
        {
            "id": 1,
            "title": "Roses (12)",
            "quantity": 2,
            "grams": 950,
            "sku": "ROSE-12",
            "requires_shipping": True,
            "price": "30.00",
        },
        {
            "id": 2,
            "title": "Greeting card",
            "quantity": 1,
            "grams": 550,
            "sku": "CARD",
            "requires_shipping": True,
            "price": "4.00",
        },
        {
            "id": 3,
            "title": "Gift wrap (digital)",
            "quantity": 1,
            "grams": 0,
            "requires_shipping": False,
            "price": "10.00",
        },
    ],
    "shipping_address": {
        "first_name": "Jon",
        "last_name": "Snow",
        "name": "Jon Snow",
        "company": None,
        "address1": "221B Baker Street",
        "address2": "Flat 2",
        "city": "London",
        "zip": "NW1 6XE",
        "province": "England",
        "province_code": "ENG",
        "country": "United Kingdom",
        "country_code": "GB",
        "phone": "020 7946 0770",
        "latitude": 51.5237715,
        "longitude": -0.1585557,
    },
    "billing_address": {"name": "Jon Snow", "address1": "1 Other Road", "city": "London"},
}


def order(**changes) -> dict:
    payload = copy.deepcopy(ORDER)
    payload.update(changes)
    return payload


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def headers(body: bytes, *, topic: str, event_id: str, shop: str = SHOP, secret: str = SECRET):
    return {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": shop,
        "HTTP_X_SHOPIFY_HMAC_SHA256": sign(body, secret),
        "HTTP_X_SHOPIFY_EVENT_ID": event_id,
        "HTTP_X_SHOPIFY_API_VERSION": "2025-10",
    }


def body(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def http_headers(raw: bytes, *, topic: str, event_id: str, **kwargs) -> dict[str, str]:
    """The same headers as `headers`, named as they travel over HTTP (for real servers)."""
    return {
        key.removeprefix("HTTP_").replace("_", "-").title(): value
        for key, value in headers(raw, topic=topic, event_id=event_id, **kwargs).items()
    }


def redact_customer(*, email: str = "jon@example.com", phone: str | None = None, ids=()) -> dict:
    """A customers/redact body as Shopify documents it."""
    return {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": ORDER["customer"]["id"], "email": email, "phone": phone},
        "orders_to_redact": list(ids),
    }


def deliver_over_http(port: str, domain: str, raw: bytes, headers: dict[str, str]):
    """POST a webhook to a loopback server (end-to-end tests), the tenant's host in the Host
    header; answers (status, JSON body)."""
    import urllib.request
    from urllib.error import HTTPError

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/integrations/shopify/webhooks",
        data=raw,
        method="POST",
        headers={**headers, "Host": f"{domain}:{port}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())
