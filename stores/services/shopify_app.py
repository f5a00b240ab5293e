"""Installing the platform's Shopify app on a shop (OAuth authorization-code grant), its
webhooks, and uninstalling it.

1. `install_start` (the owner, on the tenant's host): a random `state` (256 bits) whose
   SHA-256 is kept in the public schema with the tenant and the shop (StoreInstall), and
   the shop's authorize URL, which brings the owner back to the public host's callback.
2. The callback comes to the public host, which knows no tenant: `install_route` checks
   Shopify's HMAC of the query, the shop's address and a recent timestamp, and finds the
   install's tenant by its state, whose host the browser is sent on to. There
   `install_finish`, signed in as the owner who started it (the state is bound to that
   tenant and that user: a shop owner lured into approving someone else's link connects
   nothing), checks it all again and spends the state (once, within ten minutes, for the
   same shop); the code is exchanged for an offline access token, stored encrypted in the
   tenant's schema (ShopifyIntegration, mode app), and the shop is indexed to the tenant
   (StoreShop: one row per tenant that held it, one holding it now) for the app's
   webhooks, which name only the shop. A refusal at that point gives the token back.
3. `webhooks_subscribe` (a job): the order topics and app/uninstalled, subscribed by the
   app itself through the Admin GraphQL API. The compliance topics cannot be: they are
   declared in the app's shopify.app.toml (docs/stores-shopify.md).
4. `uninstall` (the owner disconnects): the token revoked at Shopify, then what
   app/uninstalled does (dispatch.services.shopify.app_uninstalled).

The token is sent only to the shop and never logged; refusals say what went wrong
without echoing secrets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django_tenants.utils import schema_context

from dispatch.models import ShopifyIntegration
from dispatch.services import shopify as intake
from stores import tasks
from stores.services import shopify_admin
from stores.services.sources.base import PermanentError, RetryLater
from tenants.models import StoreInstall, StoreShop, Tenant
from tenants.tasks import enqueue_after_commit

logger = logging.getLogger(__name__)

PLATFORM = "shopify"
#: The access the app asks for, and no more (each as shopify.dev's reference requires it):
#: - read_orders: the orders/create, orders/updated and orders/cancelled webhooks, and
#:   reading an order (its line items and fulfilments) when its fulfilment is written back;
#: - write_merchant_managed_fulfillment_orders: fulfillmentCreate on the fulfilment orders
#:   of the shop's own locations (with our tracking link); Shopify's write scopes include
#:   the read scope of the same resource, so reading those fulfilment orders needs
#:   nothing more;
#: - write_fulfillments: fulfillmentEventCreate, the out for delivery / delivered /
#:   attempted events on that fulfilment.
SCOPES = ("read_orders", "write_merchant_managed_fulfillment_orders", "write_fulfillments")
#: From the owner's "Install" to Shopify's redirect back: reading the page and approving.
STATE_LIFETIME = dt.timedelta(minutes=10)
#: How old a callback's `timestamp` may be (Shopify signs it; a day, as its libraries allow).
TIMESTAMP_TOLERANCE = dt.timedelta(days=1)
#: The webhooks the app subscribes by itself (GraphQL WebhookSubscriptionTopic values).
WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "APP_UNINSTALLED")
#: A shop whose subscription failed for good is tried again this long after.
SUBSCRIBE_RETRY_AFTER = dt.timedelta(minutes=15)
PARAM_MAX_LENGTH = 1000


class InstallRefused(Exception):
    """The callback cannot complete the install; `reason` says why, for the owner."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def app_configured() -> bool:
    """Whether this deployment has a Shopify app (else only the custom-app way)."""
    return bool(settings.SHOPIFY_API_KEY and settings.SHOPIFY_API_SECRET)


def callback_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/shopify/callback"


def webhooks_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}/shopify/webhooks"


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8", "surrogateescape")).hexdigest()


def _holder(shop: str) -> StoreShop | None:
    """The index entry of the tenant holding `shop` now (not uninstalled), if any."""
    return (
        StoreShop.objects.filter(platform=PLATFORM, shop=shop, uninstalled_at__isnull=True)
        .select_related("tenant")
        .first()
    )


def _installed_elsewhere(shop: str, tenant: Tenant, holder: StoreShop | None = None) -> bool:
    """Whether `shop` is installed (not uninstalled) for a tenant other than `tenant`."""
    entry = holder or _holder(shop)
    if entry is None or entry.tenant_id == tenant.pk:
        return False
    with schema_context(entry.tenant.schema_name):
        return ShopifyIntegration.objects.filter(
            shop_domain=shop, mode=ShopifyIntegration.Mode.APP, is_active=True
        ).exists()


def install_start(*, tenant: Tenant, user: Any, shop: str) -> str:
    """Begin installing the app on `shop` for `tenant`; returns the shop's authorize URL
    to send the owner to. Raises ValidationError (field `shop`)."""
    if not app_configured():
        raise ValidationError(
            {
                "shop": [
                    gettext(
                        "The Shopify app is not set up on this server: connect by hand instead."
                    )
                ]
            }
        )
    shop = intake._shop_domain(shop)
    if not intake.SHOP_DOMAIN.match(shop):
        raise ValidationError(
            {"shop": [gettext("Use the store's address, like your-store.myshopify.com.")]}
        )
    if _installed_elsewhere(shop, tenant):
        raise ValidationError({"shop": [gettext("This store is connected to another account.")]})
    now = timezone.now()
    # install states are worth nothing once expired: old ones go when new ones are made
    StoreInstall.objects.filter(created_at__lt=now - dt.timedelta(days=1)).delete()
    state = secrets.token_urlsafe(32)
    StoreInstall.objects.create(
        platform=PLATFORM,
        state_sha256=_digest(state),
        tenant=tenant,
        shop=shop,
        user_id=getattr(user, "pk", None),
    )
    query = urlencode(
        {
            "client_id": settings.SHOPIFY_API_KEY,
            "scope": ",".join(SCOPES),
            "redirect_uri": callback_url(),
            "state": state,
            # no grant_options[]=per-user: an offline token, the shop's, not the user's
        }
    )
    return shopify_admin.shop_url(shop, f"/admin/oauth/authorize?{query}")


# --- the callback ----------------------------------------------------------------------


def _escape(text: str, *, key: bool) -> str:
    text = text.replace("%", "%25").replace("&", "%26")
    return text.replace("=", "%3D") if key else text


def query_signature_valid(params: dict[str, str]) -> bool:
    """Shopify signs a redirect to the app: hex HMAC-SHA256 (app secret) of the other
    parameters sorted by name, as `k=v` joined by `&` ("&", "%" and a key's "=" escaped)."""
    given = params.get("hmac", "")
    message = "&".join(
        f"{_escape(k, key=True)}={_escape(v, key=False)}"
        for k, v in sorted(params.items())
        if k not in ("hmac", "signature")
    )
    expected = hmac.new(
        settings.SHOPIFY_API_SECRET.encode(), message.encode(), hashlib.sha256
    ).hexdigest()
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


def _single(query: Any) -> dict[str, str]:
    """The query as name → value (a repeated name is refused: Shopify sends each once)."""
    if hasattr(query, "lists"):
        lists = dict(query.lists())
        if any(len(v) != 1 for v in lists.values()):
            raise InstallRefused(gettext("The address Shopify sent back is not valid."))
        query = {k: v[0] for k, v in lists.items()}
    params = {str(k): str(v) for k, v in dict(query).items()}
    if any(len(k) + len(v) > PARAM_MAX_LENGTH for k, v in params.items()):
        raise InstallRefused(gettext("The address Shopify sent back is not valid."))
    return params


@dataclass(frozen=True)
class _Grant:
    token: str
    scopes: str
    refresh: shopify_admin.Refresh | None = None


def _spend_state(state: str) -> StoreInstall:
    """The install `state` names, spent now (committed: it works once, whatever follows)."""
    if not state or len(state) > 64:
        raise InstallRefused(gettext("This install link is not valid; start the install again."))
    with transaction.atomic():
        install = (
            StoreInstall.objects.select_for_update()
            .select_related("tenant")
            .filter(platform=PLATFORM, state_sha256=_digest(state))
            .first()
        )
        if install is None:
            raise InstallRefused(
                gettext(
                    "This install link is not valid or was already used; start the install "
                    "again from your Stores page."
                )
            )
        install.delete()
    return install


def _granted_covers(granted: str) -> bool:
    """Whether the scopes Shopify granted include every one the app needs (SCOPES: orders
    read, fulfilments created and their events written; a write scope includes its read
    scope)."""
    have = {s.strip() for s in granted.split(",") if s.strip()}
    for scope in SCOPES:
        alternatives = {scope}
        if scope.startswith("read_"):
            alternatives.add("write_" + scope.removeprefix("read_"))
        if not have & alternatives:
            return False
    return True


def _exchange(shop: str, code: str) -> _Grant:
    """The authorization code exchanged for the shop's offline access token."""
    try:
        response = requests.post(
            shopify_admin.shop_url(shop, "/admin/oauth/access_token"),
            json={
                "client_id": settings.SHOPIFY_API_KEY,
                "client_secret": settings.SHOPIFY_API_SECRET,
                "code": code,
                # an expiring offline token with a refresh token: public apps must use
                # them from 1 January 2027 (shopify.dev, "Use expiring offline access tokens")
                "expiring": 1,
            },
            headers={"Accept": "application/json"},
            timeout=settings.STORE_TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise InstallRefused(
            gettext("Shopify could not be reached (%(why)s); install the app again.")
            % {"why": type(exc).__name__}
        ) from exc
    if response.status_code != 200:
        raise InstallRefused(
            gettext(
                "Shopify did not accept the install (%(status)s): the code was "
                "used already or is not valid; install the app again."
            )
            % {"status": response.status_code}
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    token = body.get("access_token") if isinstance(body, dict) else None
    scopes = body.get("scope") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or not isinstance(scopes, str):
        raise InstallRefused(
            gettext("Shopify's answer had no access token; install the app again.")
        )
    return _Grant(token=token, scopes=scopes, refresh=shopify_admin.refresh_of(body))


def _checked(query: Any) -> dict[str, str]:
    """Shopify's redirect to the app, as name → value, once its signature, its store's
    address and its time check."""
    if not app_configured():
        raise InstallRefused(gettext("The Shopify app is not set up on this server."))
    params = _single(query)
    if not query_signature_valid(params):
        raise InstallRefused(gettext("The address Shopify sent back is not signed by Shopify."))
    if not intake.SHOP_DOMAIN.match(params.get("shop", "")):
        raise InstallRefused(gettext("The store's address is not a Shopify store's."))
    try:
        stamped = dt.datetime.fromtimestamp(int(params.get("timestamp", "")), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise InstallRefused(gettext("The address Shopify sent back has no valid time.")) from None
    if abs(timezone.now() - stamped) > TIMESTAMP_TOLERANCE:
        raise InstallRefused(
            gettext("The address Shopify sent back is too old; install the app again.")
        )
    if not params.get("code"):
        raise InstallRefused(gettext("Shopify sent no install code; install the app again."))
    return params


def install_route(query: Any) -> Tenant:
    """The public host's part of the callback: whose install Shopify's (signed) redirect
    belongs to, so that the browser is sent on to that tenant's host, where the owner who
    started it finishes it (install_finish). Nothing is spent or stored here."""
    params = _checked(query)
    state = params.get("state", "")
    install = (
        StoreInstall.objects.select_related("tenant")
        .filter(platform=PLATFORM, state_sha256=_digest(state))
        .first()
        if state and len(state) <= 64
        else None
    )
    if install is None:
        raise InstallRefused(
            gettext(
                "This install link is not valid or was already used; start the install "
                "again from your Stores page."
            )
        )
    return install.tenant


def install_finish(query: Any, *, tenant: Tenant, user: Any) -> ShopifyIntegration:
    """Complete an install from Shopify's redirect (its query string), on the tenant's
    host, signed in as the owner who started it: the state is bound to that tenant and
    that user, so a shop owner lured into approving someone else's install link connects
    nothing. Returns the store; raises InstallRefused, with nothing stored (the state is
    spent all the same), when anything is wrong."""
    params = _checked(query)
    shop = params["shop"]
    install = _spend_state(params.get("state", ""))
    if install.created_at < timezone.now() - STATE_LIFETIME:
        raise InstallRefused(
            gettext("This install took too long and expired; install the app again.")
        )
    if install.shop != shop:
        raise InstallRefused(
            gettext(
                "The app was installed on another store than the one asked for; install it again."
            )
        )
    if install.tenant_id != tenant.pk or (
        install.user_id is not None and install.user_id != getattr(user, "pk", None)
    ):
        raise InstallRefused(
            gettext("This install was started by someone else; start it from your own Stores page.")
        )
    if _installed_elsewhere(shop, tenant):
        raise InstallRefused(gettext("This store is connected to another account."))
    grant = _exchange(shop, params["code"])
    if not _granted_covers(grant.scopes):
        _give_back(shop, grant)
        raise InstallRefused(
            gettext(
                "The store did not grant the access the app needs (%(scopes)s); "
                "install the app again."
            )
            % {"scopes": ", ".join(SCOPES)}
        )
    try:
        integration = _keep(tenant, shop, grant)
    except IntegrityError as exc:  # another install of this store committed meanwhile
        _give_back(shop, grant)
        raise InstallRefused(
            gettext(
                "This store was being installed for another account at the same moment; "
                "install the app again if it should be connected here."
            )
        ) from exc
    except InstallRefused:
        _give_back(shop, grant)
        raise
    logger.info("Shopify app installed on %s for %s", shop, tenant.schema_name)
    return integration


def _give_back(shop: str, grant: _Grant) -> None:
    """Revoke a token just issued that will not be kept."""
    try:
        _revoke(shop, grant.token)
    except RetryLater:
        logger.warning("Shopify token of %s not revoked after a refused install", shop)


def _hold(tenant: Tenant, shop: str, now: dt.datetime) -> None:
    """Index the shop to the tenant as its holder from `now`: a previous holder whose
    install is over keeps its entry, marked uninstalled (the compliance webhooks still
    reach it). Raises InstallRefused when another tenant has it installed, IntegrityError
    when another install of it committed since (the one-holder key)."""
    holder = _holder(shop)
    if holder is not None and holder.tenant_id != tenant.pk:
        if _installed_elsewhere(shop, tenant, holder):  # another tenant's install won
            raise InstallRefused(gettext("This store is connected to another account."))
        # uninstalled there without its entry saying so: it moves here
        StoreShop.objects.filter(pk=holder.pk, uninstalled_at__isnull=True).update(
            uninstalled_at=now
        )
    entry = StoreShop.objects.filter(platform=PLATFORM, shop=shop, tenant=tenant).first()
    if entry is None:
        StoreShop.objects.create(platform=PLATFORM, shop=shop, tenant=tenant, installed_at=now)
    else:
        entry.installed_at, entry.uninstalled_at = now, None
        entry.save(update_fields=["installed_at", "uninstalled_at"])


@transaction.atomic
def _keep(tenant: Tenant, shop: str, grant: _Grant) -> ShopifyIntegration:
    """The shop indexed to the tenant and its integration saved with the token, in one
    transaction; the webhooks' job queued after it. Raises InstallRefused or
    IntegrityError (_hold), nothing kept."""
    now = timezone.now()
    _hold(tenant, shop, now)
    with schema_context(tenant.schema_name):
        integration = ShopifyIntegration.objects.select_for_update().filter(
            shop_domain=shop
        ).first() or ShopifyIntegration(shop_domain=shop)
        integration.mode = ShopifyIntegration.Mode.APP
        integration.access_token = grant.token
        shopify_admin.keep_refresh(integration, grant.refresh)
        integration.scopes = grant.scopes[:500]
        integration.is_active = True
        integration.installed_at, integration.uninstalled_at = now, None
        integration.webhooks_subscribed_at = None
        integration.last_error, integration.last_error_at = "", None
        integration.save()
        enqueue_after_commit(
            tasks.shopify_webhooks_subscribe,
            integration.pk,
            task_name=f"shopify-webhooks-{integration.pk}",
        )
    return integration


# --- webhooks -----------------------------------------------------------------------------

LIST_WEBHOOKS = """
query AppWebhooks {
  webhookSubscriptions(first: 100) { nodes { id topic uri } }
}
"""
CREATE_WEBHOOK = """
mutation AppWebhookCreate($topic: WebhookSubscriptionTopic!,
                          $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""


def webhooks_subscribe(integration: ShopifyIntegration) -> list[str]:
    """Subscribe the app's webhooks on the shop (those missing: safe to repeat); marks the
    integration subscribed and returns the topics created. Raises RetryLater or
    PermanentError (shopify_admin.graphql)."""
    uri = webhooks_url()
    data = shopify_admin.graphql(integration, LIST_WEBHOOKS)
    nodes = ((data.get("webhookSubscriptions") or {}).get("nodes")) or []
    have = {
        (n.get("topic"), n.get("uri") or n.get("callbackUrl")) for n in nodes if isinstance(n, dict)
    }
    created = []
    for topic in WEBHOOK_TOPICS:
        if (topic, uri) in have:
            continue
        answer = shopify_admin.graphql(
            integration,
            CREATE_WEBHOOK,
            {"topic": topic, "webhookSubscription": {"uri": uri, "format": "JSON"}},
        )
        errors = shopify_admin.user_errors(answer.get("webhookSubscriptionCreate"))
        if errors and not all("already been taken" in e for e in errors):
            raise PermanentError(f"Shopify refused the {topic} webhook: {'; '.join(errors)}")
        created.append(topic)
    ShopifyIntegration.objects.filter(pk=integration.pk).update(
        webhooks_subscribed_at=timezone.now()
    )
    return created


def webhooks_subscribe_job(integration_pk: int) -> str:
    """The job: subscribe an active app shop's webhooks. A passing failure is left for the
    sweep (webhooks_due, every minute); a permanent one is shown on the Stores page and
    tried again after SUBSCRIBE_RETRY_AFTER."""
    integration = ShopifyIntegration.objects.filter(
        pk=integration_pk, mode=ShopifyIntegration.Mode.APP, is_active=True
    ).first()
    if integration is None:
        return "gone"
    try:
        webhooks_subscribe(integration)
    except RetryLater as exc:
        logger.warning("Shopify webhooks of %s: %s", integration.shop_domain, exc)
        return "retry"
    except PermanentError as exc:
        ShopifyIntegration.objects.filter(pk=integration.pk).update(
            last_error=f"Webhooks not subscribed: {exc}"[:500], last_error_at=timezone.now()
        )
        return "failed"
    return "subscribed"


def webhooks_due() -> int:
    """Queue the subscription of every active app shop still without its webhooks (a
    failed one not before SUBSCRIBE_RETRY_AFTER); returns how many."""
    waited = timezone.now() - SUBSCRIBE_RETRY_AFTER
    pks = list(
        ShopifyIntegration.objects.filter(
            mode=ShopifyIntegration.Mode.APP, is_active=True, webhooks_subscribed_at__isnull=True
        )
        .filter(Q(last_error_at__isnull=True) | Q(last_error_at__lt=waited))
        .values_list("pk", flat=True)[:100]
    )
    with transaction.atomic():
        for pk in pks:
            enqueue_after_commit(
                tasks.shopify_webhooks_subscribe, pk, task_name=f"shopify-webhooks-{pk}"
            )
    return len(pks)


# --- uninstalling ---------------------------------------------------------------------------


def _revoke(shop: str, token: str) -> None:
    """Revoke the token at Shopify (the app's access to the shop ends, and Shopify sends
    app/uninstalled). A 401 means it is already revoked. Raises RetryLater when Shopify
    cannot say."""
    try:
        response = requests.delete(
            shopify_admin.shop_url(shop, "/admin/api_permissions/current.json"),
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            timeout=settings.STORE_TIMEOUT_S,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise RetryLater(f"Shopify could not be reached ({type(exc).__name__}).") from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise RetryLater(f"Shopify answered {response.status_code}.")


def uninstall(*, integration: ShopifyIntegration) -> ShopifyIntegration:
    """The owner disconnects an app-installed shop: its token is revoked at Shopify, then
    it stops as on app/uninstalled (inactive, token erased, pending write-backs dropped).
    The shop's index entry stays, marked uninstalled, until shop/redact. Raises
    ValidationError when Shopify cannot be reached (nothing changed: try again)."""
    try:
        token = shopify_admin.usable_token(integration)  # renewed first if its hour is over
    except PermanentError:
        token = ""  # none we can use: Shopify cannot be asked, the app stops here all the same
    except RetryLater as exc:
        raise ValidationError(
            {
                "shop": [
                    gettext("Shopify could not be told (%(why)s); nothing was changed, try again.")
                    % {"why": exc}
                ]
            }
        ) from exc
    if token:
        try:
            _revoke(integration.shop_domain, token)
        except RetryLater as exc:
            raise ValidationError(
                {
                    "shop": [
                        gettext(
                            "Shopify could not be told (%(why)s); nothing was changed, try again."
                        )
                        % {"why": exc}
                    ]
                }
            ) from exc
    with transaction.atomic():
        intake.app_uninstalled(shop_domain=integration.shop_domain)
    integration.refresh_from_db()
    logger.info("Shopify app uninstalled from %s by its owner", integration.shop_domain)
    return integration


def disconnect(*, integration: ShopifyIntegration) -> ShopifyIntegration:
    """Disconnect a shop whichever way it was connected."""
    if integration.mode == ShopifyIntegration.Mode.APP:
        return uninstall(integration=integration)
    return intake.integration_deactivate(integration=integration)


# --- the app's webhooks, on the public host -----------------------------------------------------

#: What an uninstalled shop may still send: the uninstall itself and the compliance topics.
AFTER_UNINSTALL = {"app/uninstalled", "customers/data_request", "customers/redact", "shop/redact"}
#: The compliance topics: each tenant that ever held the shop has its own data of it.
COMPLIANCE = {"customers/data_request", "customers/redact", "shop/redact"}


def webhook_receive(*, headers: Any, body: bytes) -> intake.Receipt:
    """A webhook of an app-installed shop: verified with the app's secret before anything,
    its tenant found by the shop (StoreShop), kept once in that tenant's schema and
    processed by a job. The order topics and app/uninstalled go to the tenant holding the
    shop now (or, once it is uninstalled, the last that held it); the compliance topics to
    every tenant that held it, each applying it to its own data. Raises
    intake.WebhookRefused (no app, bad signature, unknown shop, or an order topic of a
    shop no longer connected), WebhookMalformed or WebhookQueueFailed."""
    signature = headers.get("X-Shopify-Hmac-Sha256", "")
    shop = headers.get("X-Shopify-Shop-Domain", "").strip().lower()
    topic = headers.get("X-Shopify-Topic", "").strip()
    if (
        not app_configured()
        or not signature
        or not intake.signature_valid(
            secret=settings.SHOPIFY_API_SECRET, body=body, signature=signature
        )
    ):
        raise intake.WebhookRefused()
    entries = (
        list(
            StoreShop.objects.filter(platform=PLATFORM, shop=shop)
            .select_related("tenant")
            # the holder first, then the last to have held it
            .order_by(F("uninstalled_at").desc(nulls_first=True), "-installed_at", "-pk")
        )
        if intake.SHOP_DOMAIN.match(shop)
        else []
    )
    if not entries:
        raise intake.WebhookRefused()
    if topic in COMPLIANCE:
        receipts = []
        for entry in entries:
            with schema_context(entry.tenant.schema_name):
                receipts.append(intake.webhook_keep(headers=headers, body=body, shop=shop))
        return intake.Receipt(
            event_id=receipts[0].event_id, duplicate=all(r.duplicate for r in receipts)
        )
    with schema_context(entries[0].tenant.schema_name):
        connected = ShopifyIntegration.objects.filter(
            shop_domain=shop, mode=ShopifyIntegration.Mode.APP, is_active=True
        ).exists()
        if not connected and topic not in AFTER_UNINSTALL:
            raise intake.WebhookRefused()
        return intake.webhook_keep(headers=headers, body=body, shop=shop)
