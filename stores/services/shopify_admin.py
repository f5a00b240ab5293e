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

Tokens are expiring offline tokens (an hour, renewed with a refresh token that Shopify
replaces at each renewal; public apps must use them from 1 January 2027): a token within
five minutes of its end is renewed before the call, and a 401 on a token that should still
be good is answered by one renewal and one more try. A refused renewal is permanent: the
owner must install the app again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

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


# --- expiring offline tokens -----------------------------------------------------------------

#: An access token this close to its end is renewed before it is used.
RENEW_BEFORE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Refresh:
    """What Shopify gives with an expiring offline token."""

    refresh_token: str
    expires_in: int  # the access token's seconds to live (3600)
    refresh_expires_in: int | None  # the refresh token's, when Shopify says


def refresh_of(body: Any) -> Refresh | None:
    """The refresh part of a token answer; None for a non-expiring token."""
    if not isinstance(body, dict) or not isinstance(body.get("refresh_token"), str):
        return None
    try:
        expires_in = int(body.get("expires_in") or 3600)
        refresh_in = body.get("refresh_token_expires_in")
        refresh_in = int(refresh_in) if refresh_in is not None else None
    except (TypeError, ValueError):
        expires_in, refresh_in = 3600, None
    return Refresh(body["refresh_token"], expires_in, refresh_in)


def keep_refresh(integration: ShopifyIntegration, refresh: Refresh | None) -> None:
    """Set (not save) the token's end and its refresh token on `integration`."""
    now = timezone.now()
    if refresh is None:  # a non-expiring token
        integration.token_expires_at = integration.refresh_token = None
        integration.refresh_token_expires_at = None
        return
    integration.refresh_token = refresh.refresh_token
    integration.token_expires_at = now + dt.timedelta(seconds=refresh.expires_in)
    integration.refresh_token_expires_at = (
        now + dt.timedelta(seconds=refresh.refresh_expires_in)
        if refresh.refresh_expires_in
        else None
    )


def _renew(integration: ShopifyIntegration, *, stale_token: str) -> None:
    """Exchange the refresh token for a new access token (and refresh token), once for
    all workers: the integration's row is locked while Shopify answers (at most
    STORE_TIMEOUT_S), and a worker that waited finds the token renewed already.
    Updates `integration` in place."""
    with transaction.atomic():
        locked = ShopifyIntegration.objects.select_for_update().get(pk=integration.pk)
        fresh = locked.token_expires_at and locked.token_expires_at > timezone.now() + RENEW_BEFORE
        if locked.access_token and locked.access_token != stale_token and fresh:
            integration.access_token = locked.access_token
            integration.token_expires_at = locked.token_expires_at
            return  # another worker renewed it meanwhile
        if not locked.refresh_token:
            raise PermanentError("The store's access token expired: install the app again.")
        try:
            response = _session().post(
                shop_url(locked.shop_domain, "/admin/oauth/access_token"),
                json={
                    "client_id": settings.SHOPIFY_API_KEY,
                    "client_secret": settings.SHOPIFY_API_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": locked.refresh_token,
                },
                headers={"Accept": "application/json"},
                timeout=settings.STORE_TIMEOUT_S,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise RetryLater(f"Shopify could not be reached ({type(exc).__name__}).") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryLater(f"Shopify answered {response.status_code} to a token renewal.")
        try:
            body = response.json()
        except ValueError:
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise PermanentError(
                "Shopify no longer renews the store's access (the app was uninstalled or "
                "its refresh token expired): install the app again."
            )
        locked.access_token = token
        keep_refresh(locked, refresh_of(body))
        locked.save(
            update_fields=[
                "access_token",
                "refresh_token",
                "token_expires_at",
                "refresh_token_expires_at",
                "updated_at",
            ]
        )
    integration.access_token, integration.refresh_token = locked.access_token, locked.refresh_token
    integration.token_expires_at = locked.token_expires_at
    integration.refresh_token_expires_at = locked.refresh_token_expires_at
    logger.info("Shopify access token of %s renewed", locked.shop_domain)


def usable_token(integration: ShopifyIntegration) -> str:
    token = integration.access_token or ""
    if not token or token.startswith("gAAAA"):  # none, or one we cannot decrypt any more
        raise PermanentError("The store's access token is missing: install the app again.")
    ends = integration.token_expires_at
    if ends is not None and ends <= timezone.now() + RENEW_BEFORE:
        _renew(integration, stale_token=token)
        token = integration.access_token or ""
    return token


#: A refresh token this close to its end (90 days unused) is renewed by the daily job.
KEEP_ALIVE_BEFORE = dt.timedelta(days=30)


def tokens_keep_alive() -> int:
    """Renew the tokens of installed shops whose refresh token would expire within 30
    days (a shop that set off no route for two months); returns how many were renewed. A
    refusal shows on the shop as its last error."""
    renewed = 0
    due = ShopifyIntegration.objects.filter(
        mode=ShopifyIntegration.Mode.APP,
        is_active=True,
        refresh_token_expires_at__lt=timezone.now() + KEEP_ALIVE_BEFORE,
    )
    for integration in due:
        try:
            _renew(integration, stale_token=integration.access_token or "")
        except PermanentError as exc:
            ShopifyIntegration.objects.filter(pk=integration.pk).update(
                last_error=str(exc)[:500], last_error_at=timezone.now()
            )
        except RetryLater:
            continue  # tomorrow's run tries again, a month before it matters
        else:
            renewed += 1
    return renewed


def graphql(
    integration: ShopifyIntegration, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run `query` on the integration's shop; returns `data`. Raises RetryLater or
    PermanentError (see the module's docstring)."""
    token = usable_token(integration)
    response = _post(integration, token, query, variables)
    if response.status_code == 401 and integration.refresh_token:
        # expired before the hour we were told (a clock apart): renew once and try again
        _renew(integration, stale_token=token)
        response = _post(integration, integration.access_token or "", query, variables)
    return _data(response)


def _post(
    integration: ShopifyIntegration, token: str, query: str, variables: dict[str, Any] | None
) -> requests.Response:
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
    return response


def _data(response: requests.Response) -> dict[str, Any]:
    """Shopify's answer as its data, or the error it means (see the module's docstring)."""
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
