"""Shopify's Admin GraphQL API, as the app calls it with a shop's offline token.

One function, `graphql`, turns Shopify's answers into ours:

- the data, when the call went through (GraphQL `userErrors` are the caller's to read);
- `RetryLater` when Shopify throttles (HTTP 200 with `errors[].extensions.code ==
  "THROTTLED"`, or HTTP 429), waiting as long as the cost extension says the bucket needs
  to refill for the query (requested cost - available) / restore rate, and not counting
  it as a try; also on 5xx and network failures (counted);
- `PermanentError` when the token is no good any more (401: uninstalled or revoked; 403:
  a scope the shop did not grant; 404: no such shop) or the query is refused as written.

Why not the `ShopifyAPI` package: it keeps the active session in class-level state, which
is unsafe with several tenants' shops in one worker, and its GraphQL helper raises on
throttling without the cost. The calls are few; `requests` with explicit timeouts does.
The token is sent only in the `X-Shopify-Access-Token` header and never logged.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings

from dispatch.models import ShopifyIntegration
from stores.services.errors import PermanentError, RetryLater

logger = logging.getLogger(__name__)

#: The least a throttled call waits, and the most (a bucket refills in 20 s at 100/s).
MIN_WAIT_S, MAX_WAIT_S = 1.0, 60.0


def shop_url(shop: str, path: str) -> str:
    """`path` on the shop's admin ("/admin/oauth/access_token"), where SHOPIFY_SHOP_URL says
    shops are (https://{shop} in production, a fake in tests)."""
    return settings.SHOPIFY_SHOP_URL.format(shop=shop).rstrip("/") + path


def graphql_url(shop: str) -> str:
    return shop_url(shop, f"/admin/api/{settings.SHOPIFY_API_VERSION}/graphql.json")


def _session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = "dispatch-stores/1 (+Shopify app)"
    return session


def _throttle_wait(cost: dict[str, Any] | None) -> float:
    """How long to wait before the same query fits in the bucket again."""
    cost = cost or {}
    status = cost.get("throttleStatus") or {}
    try:
        needed = float(cost.get("requestedQueryCost") or 50.0)
        available = float(status.get("currentlyAvailable") or 0.0)
        rate = float(status.get("restoreRate") or 50.0)
        wait = (needed - available) / rate if rate > 0 else MAX_WAIT_S
    except (TypeError, ValueError):
        wait = MIN_WAIT_S * 2
    return min(max(wait, MIN_WAIT_S), MAX_WAIT_S)


def graphql(
    integration: ShopifyIntegration, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run `query` on the integration's shop; returns `data`. Raises RetryLater or
    PermanentError (see the module's docstring)."""
    token = integration.access_token or ""
    if not token or token.startswith("gAAAA"):  # none, or one we cannot decrypt any more
        raise PermanentError("The store's access token is missing: install the app again.")
    try:
        with _session() as session:
            response = session.post(
                graphql_url(integration.shop_domain),
                json={"query": query, "variables": variables or {}},
                headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
                timeout=settings.STORE_TIMEOUT_S,
                allow_redirects=False,
            )
    except requests.RequestException as exc:
        raise RetryLater(f"Shopify could not be reached ({type(exc).__name__}).") from exc
    status = response.status_code
    if status == 429:
        after = _retry_after(response.headers.get("Retry-After"))
        raise RetryLater("Shopify asked to slow down (429).", after=after, counts=False)
    if status in (401, 403):
        raise PermanentError(
            "Shopify refused the store's token: the app was uninstalled or its access "
            "revoked; install it again."
            if status == 401
            else "Shopify refused: the app lacks a permission it needs; install it again."
        )
    if status == 404:
        raise PermanentError("Shopify does not know this store (404).")
    if status >= 500:
        raise RetryLater(f"Shopify answered {status}.")
    if status != 200:
        raise PermanentError(f"Shopify answered {status}.")
    try:
        body = response.json()
    except ValueError as exc:
        raise RetryLater("Shopify's answer was not JSON.") from exc
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        codes = {
            (e.get("extensions") or {}).get("code")
            for e in (errors if isinstance(errors, list) else [])
            if isinstance(e, dict)
        }
        if "THROTTLED" in codes:
            cost = (body.get("extensions") or {}).get("cost")
            raise RetryLater(
                "Shopify throttled the call (GraphQL cost).",
                after=_throttle_wait(cost),
                counts=False,
            )
        if "ACCESS_DENIED" in codes:
            raise PermanentError("Shopify refused: the app lacks a permission it needs.")
        if "INTERNAL_SERVER_ERROR" in codes:
            raise RetryLater("Shopify had an internal error.")
        message = "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e)
            for e in (errors if isinstance(errors, list) else [errors])
        )
        raise PermanentError(f"Shopify refused the request: {message[:300]}")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise RetryLater("Shopify's answer had no data.")
    return data


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 2.0), MIN_WAIT_S), MAX_WAIT_S)
    except ValueError:
        return 2.0


def user_errors(payload: dict[str, Any] | None) -> list[str]:
    """The `userErrors` of a mutation's payload, as messages."""
    return [str(e.get("message")) for e in (payload or {}).get("userErrors") or []]
