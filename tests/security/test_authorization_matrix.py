"""The authorization matrix: every URL the project routes, for every kind of caller, on its
own tenant and on another tenant, against the answer it should get.

A route missing from MATRIX (or PUBLIC_MATRIX) fails `test_every_route_is_in_the_matrix`:
adding a URL means deciding who may use it. Each request runs in a savepoint that is rolled
back, so a DELETE or POST that is allowed changes nothing for the next one.

Allowed means the view ran for the caller: any answer but 401, 403, 404, 405 or a redirect
to a login page (a 400 for an empty body is allowed: the caller got to the validation).
Denied means 401, 403 or a redirect to the login page, and, on another tenant, also 404.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django_tenants.utils import schema_context
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "driver", "dispatcher", "owner", "key_read", "key_write")
ALL = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
STAFF = frozenset({"dispatcher", "owner"})
POLICIES: dict[str, frozenset[str]] = {
    "public": ALL,
    "dashboard": STAFF,  # dispatchers and owners, signed in
    "owner": frozenset({"owner"}),  # the account owner, signed in (never a key)
    "driver": frozenset({"driver"}),  # the driver app
    "signed_in": frozenset({"driver", "dispatcher", "owner"}),  # anyone signed in (no key)
    "api_read": STAFF | {"key_read", "key_write"},
    "api_write": STAFF | {"key_write"},
    "api_import": STAFF | {"key_write"},
    "api_webhooks": frozenset({"owner", "key_write"}),
    "api_any": frozenset({"driver", "dispatcher", "owner", "key_read", "key_write"}),
    "signed": NOBODY,  # provider webhooks: only with the provider's signature
    "to_login": NOBODY,  # signing out: everyone lands on the login page
    "nowhere": NOBODY,  # an unknown API path: a JSON 404 for everyone
    "driver_token": NOBODY,  # the phone's signed driver token only (tests/tracking)
    # the sign-up's one-time sign-in: without its own token, a 404 for everyone, signed in
    # or not (tests/tenants/test_signup_page.py)
    "handover_token": NOBODY,
    # signed in, any role: the business's logo on its own host (tests/tracking/test_brand.py)
    "members": frozenset({"driver", "dispatcher", "owner"}),
}
NOT_FOUND_POLICIES = frozenset({"nowhere", "handover_token"})


@dataclass
class World:
    """Real objects of alpha for the URLs' ids."""

    order: int
    plan: int
    route: int
    depot: int
    vehicle: int
    driver: int
    csv_import: int
    shopify: int
    proof: int
    proof_order: int
    subscription: int
    delivery: int
    api_key: int
    user: int
    token: str
    recurring: int
    day: str  # a day of the recurring schedule (an exception's date)
    multi_day: int


def _world(alpha) -> World:
    import datetime as dt

    from django.utils import timezone

    from dispatch.models import Order, RecurringOrder, ShopifyIntegration
    from dispatch.services.csv_io import csv_import_start
    from proofs.services.proof import proof_submit
    from routing.models import MultiDayPlan
    from tenants.models import ApiKey
    from tests.proofs.test_proofs import jpeg, png_signature
    from tests.tracking.helpers import orders_on, solved_day
    from tracking.services.day import tracking_link_for
    from webhooks.models import Delivery, Subscription

    with schema_context(alpha.tenant.schema_name):
        day = solved_day("matrix", alpha.user_ids[alpha.driver_email])
        first, second, *_ = orders_on(day.mine)
        proof = proof_submit(
            driver=day.driver,
            order_id=second,
            outcome="delivered",
            key=uuid.uuid4(),
            photo=jpeg(64, 48),
            signature=png_signature(),
        )
        csv = csv_import_start(filename="o.csv", content="name,address\nA,1 High St\n")
        store = ShopifyIntegration.objects.create(
            shop_domain="matrix.myshopify.com", client_secret="s" * 32
        )
        subscription = Subscription.objects.create(
            url="https://hooks.example.com/x", events=["order.created"]
        )
        delivery = Delivery.objects.create(
            subscription=subscription,
            event="order.created",
            key="k",
            message_id="msg_1",
            payload={},
            next_attempt_at=proof.created_at,
        )
        today = timezone.localdate()
        schedule = RecurringOrder.objects.create(
            name="matrix bread",
            template={"customer_name": "Matrix Café", "lat": 51.5, "lng": -0.12},
            rule="FREQ=WEEKLY",
            starts_on=today,
        )
        multi = MultiDayPlan.objects.create(
            first_date=today, last_date=today + dt.timedelta(days=1), status="done"
        )
        return World(
            recurring=schedule.pk,
            day=(today + dt.timedelta(days=7)).isoformat(),
            multi_day=multi.pk,
            order=first,
            plan=day.plan.pk,
            route=day.mine.pk,
            depot=day.mine.vehicle.start_depot_id,
            vehicle=day.mine.vehicle_id,
            driver=day.driver.pk,
            csv_import=csv.pk,
            shopify=store.pk,
            proof=proof.pk,
            proof_order=second,
            subscription=subscription.pk,
            delivery=delivery.pk,
            api_key=ApiKey.objects.filter(tenant=alpha.tenant).values_list("pk", flat=True)[0],
            user=alpha.user_ids[alpha.dispatcher_email],
            token=tracking_link_for(Order.objects.get(pk=first)),
        )


def K(**names):  # reads like a table
    """The URL's arguments from the World's fields: K(order_id="order")."""
    return lambda w: {arg: getattr(w, field) for arg, field in names.items()}


NO_ARGS = K()


def _data_request(world) -> dict[str, int]:
    """A Shopify customers/data_request received by alpha (its download's id)."""
    from dispatch.models import WebhookEvent

    with schema_context("alpha"):
        event, _ = WebhookEvent.objects.get_or_create(
            source="shopify",
            event_id="matrix-data-request",
            defaults={
                "topic": "customers/data_request",
                "shop_domain": "matrix.myshopify.com",
                "payload": {"matched_order_ids": []},
                "status": "processed",
            },
        )
    return {"pk": event.pk}


def _woocommerce_store(world) -> dict[str, int]:
    """A WooCommerce store of alpha (its id)."""
    from stores.models import WooCommerceStore

    with schema_context("alpha"):
        store, _ = WooCommerceStore.objects.get_or_create(
            url="https://matrix-shop.example", defaults={"webhook_secret": "s" * 32}
        )
    return {"pk": store.pk}


def _writeback(world) -> dict[str, int]:
    """A failed write-back of alpha's order to its Shopify store (its id)."""
    from django.utils import timezone

    from stores.models import WriteBack

    with schema_context("alpha"):
        found, _ = WriteBack.objects.get_or_create(
            key="matrix-writeback",
            defaults={
                "order_id": world.order,
                "platform": "shopify",
                "store": "matrix.myshopify.com",
                "action": "set_off",
                "status": "failed",
                "next_attempt_at": timezone.now(),
            },
        )
    return {"pk": found.pk}


def _brand_logo(world) -> dict[str, str]:
    """Alpha's logo (its content hash)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from tracking.services.brand import brand_update, logo_hash

    picture = io.BytesIO()
    Image.new("RGB", (60, 30), "teal").save(picture, "PNG")
    with schema_context("alpha"):
        row = brand_update(
            schema="alpha",
            brand_colour="#0b63ce",
            accent_colour="#0b63ce",
            logo=SimpleUploadedFile("logo.png", picture.getvalue(), content_type="image/png"),
        )
    return {"digest": logo_hash(row.logo)}


# name: ({method: policy}, arguments)
MATRIX: dict[str, tuple[dict[str, str], object]] = {
    "login": ({"GET": "public", "POST": "public"}, NO_ARGS),
    "logout": ({"POST": "to_login"}, NO_ARGS),
    "login-handover": ({"GET": "handover_token", "POST": "handover_token"}, K(token="token")),
    "dashboard:home": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:order-list": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:order-create": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:order-detail": ({"GET": "dashboard"}, K(order_id="order")),
    "dashboard:order-edit": ({"GET": "dashboard", "POST": "dashboard"}, K(order_id="order")),
    "dashboard:order-cancel": ({"POST": "dashboard"}, K(order_id="order")),
    "dashboard:order-reschedule": ({"POST": "dashboard"}, K(order_id="order")),
    "dashboard:order-set-date": ({"POST": "dashboard"}, K(order_id="order")),
    "dashboard:order-locate": ({"POST": "dashboard"}, K(order_id="order")),
    "dashboard:address-search": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:location-remember": ({"POST": "dashboard"}, NO_ARGS),
    "dashboard:depot-list": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:depot-create": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:depot-edit": ({"GET": "dashboard", "POST": "dashboard"}, K(pk="depot")),
    "dashboard:depot-deactivate": ({"POST": "dashboard"}, K(pk="depot")),
    "dashboard:depot-reactivate": ({"POST": "dashboard"}, K(pk="depot")),
    "dashboard:vehicle-list": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:vehicle-create": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:vehicle-edit": ({"GET": "dashboard", "POST": "dashboard"}, K(pk="vehicle")),
    "dashboard:vehicle-deactivate": ({"POST": "dashboard"}, K(pk="vehicle")),
    "dashboard:vehicle-reactivate": ({"POST": "dashboard"}, K(pk="vehicle")),
    "dashboard:driver-list": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:driver-create": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:driver-edit": ({"GET": "dashboard", "POST": "dashboard"}, K(pk="driver")),
    "dashboard:driver-deactivate": ({"POST": "dashboard"}, K(pk="driver")),
    "dashboard:driver-reactivate": ({"POST": "dashboard"}, K(pk="driver")),
    "dashboard:csv-import": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:orders-export": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:csv-import-detail": (
        {"GET": "dashboard", "POST": "dashboard"},
        K(import_id="csv_import"),
    ),
    "dashboard:csv-import-commit": ({"POST": "dashboard"}, K(import_id="csv_import")),
    "dashboard:shopify": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "dashboard:shopify-disconnect": ({"POST": "owner"}, K(pk="shopify")),
    "dashboard:plans": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:plan-detail": ({"GET": "dashboard"}, K(plan_id="plan")),
    "dashboard:plan-status": ({"GET": "dashboard"}, K(plan_id="plan")),
    "dashboard:day-board": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:board": ({"GET": "dashboard"}, K(plan_id="plan")),
    "dashboard:board-state": ({"GET": "dashboard"}, K(plan_id="plan")),
    "dashboard:board-drop": ({"POST": "dashboard"}, K(plan_id="plan")),
    "dashboard:plan-csv": ({"GET": "dashboard"}, K(plan_id="plan")),
    "dashboard:route-sheet": ({"GET": "dashboard"}, K(plan_id="plan", route_id="route")),
    "dashboard:route-labels": ({"GET": "dashboard"}, K(plan_id="plan", route_id="route")),
    "dashboard:plan-labels": ({"GET": "dashboard"}, K(plan_id="plan")),
    "dashboard:plan-action": (
        {"POST": "dashboard"},
        lambda w: {"plan_id": w.plan, "action": "lock-route"},
    ),
    "dashboard:alerts-seen": ({"POST": "dashboard"}, NO_ARGS),
    "dashboard:multi-day-new": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:multi-day-detail": ({"GET": "dashboard"}, K(multi_id="multi_day")),
    "dashboard:multi-day-status": ({"GET": "dashboard"}, K(multi_id="multi_day")),
    "dashboard:multi-day-publish": ({"POST": "dashboard"}, K(multi_id="multi_day")),
    "dashboard:recurring-list": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:recurring-create": ({"GET": "dashboard", "POST": "dashboard"}, NO_ARGS),
    "dashboard:recurring-preview": ({"POST": "dashboard"}, NO_ARGS),
    "dashboard:recurring-detail": ({"GET": "dashboard"}, K(pk="recurring")),
    "dashboard:recurring-edit": ({"GET": "dashboard", "POST": "dashboard"}, K(pk="recurring")),
    "dashboard:recurring-cancel": ({"POST": "dashboard"}, K(pk="recurring")),
    "dashboard:recurring-exception": ({"POST": "dashboard"}, K(pk="recurring")),
    "dashboard:recurring-exception-remove": (
        {"POST": "dashboard"},
        K(pk="recurring", date="day"),
    ),
    "dashboard:reports": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:reports-csv": ({"GET": "dashboard"}, lambda w: {"table": "summary"}),
    "dashboard:live-map": ({"GET": "dashboard"}, NO_ARGS),
    "accounts:team": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "accounts:user-role": ({"POST": "owner"}, K(user_id="user")),
    "accounts:user-active": ({"POST": "owner"}, K(user_id="user")),
    "accounts:user-language": ({"POST": "owner"}, K(user_id="user")),
    # one's own language (the top bar's menu; tests/accounts/test_language.py)
    "language": ({"POST": "signed_in"}, NO_ARGS),
    "notification-settings": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "notification-preview": ({"POST": "owner"}, NO_ARGS),
    "proof-settings": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "proof-file": (
        {"GET": "dashboard"},
        lambda w: {"order_id": w.proof_order, "proof_id": w.proof, "kind": "photo"},
    ),
    "webhook-settings": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "stores": ({"GET": "owner"}, NO_ARGS),
    "store-writeback-retry": ({"POST": "dashboard"}, _writeback),
    "store-woocommerce-save": ({"POST": "owner"}, NO_ARGS),
    "store-woocommerce-disconnect": ({"POST": "owner"}, _woocommerce_store),
    "store-woocommerce-check": ({"POST": "owner"}, _woocommerce_store),
    "store-shopify-install": ({"POST": "owner"}, NO_ARGS),
    "store-shopify-callback": ({"GET": "owner"}, NO_ARGS),
    "store-shopify-disconnect": ({"POST": "owner"}, K(pk="shopify")),
    "store-shopify-data-request": ({"GET": "owner"}, _data_request),
    "webhook-detail": ({"GET": "owner"}, K(subscription_id="subscription")),
    "webhook-action": ({"POST": "owner"}, K(subscription_id="subscription")),
    "audit-log": ({"GET": "owner"}, NO_ARGS),
    "tenants:settings": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "tenants:export": ({"GET": "owner"}, NO_ARGS),
    "tenants:delete": ({"POST": "owner"}, NO_ARGS),
    "tenants:api-keys": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "tenants:api-key-revoke": ({"POST": "owner"}, K(key_id="api_key")),
    "tenants:roads": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "driver:route": ({"GET": "driver"}, NO_ARGS),
    "driver:version": ({"GET": "driver"}, NO_ARGS),
    "driver:duty": ({"POST": "driver"}, NO_ARGS),
    "driver:stop": ({"POST": "driver"}, NO_ARGS),
    "driver:complete": ({"GET": "driver", "POST": "driver"}, K(order_id="order")),
    "driver:path": ({"GET": "driver"}, NO_ARGS),
    "driver:scan": ({"POST": "driver"}, NO_ARGS),
    "driver:settings": ({"POST": "driver"}, NO_ARGS),
    "driver:token": ({"GET": "driver"}, NO_ARGS),
    # masked calls: a stop of the driver's own route (tests/notifications/test_masking.py)
    "driver:masked": ({"POST": "driver"}, K(order_id="order")),
    # browsers fetch the manifest and the service worker without cookies; neither holds data
    "driver:manifest": ({"GET": "public"}, NO_ARGS),
    "driver:service-worker": ({"GET": "public"}, NO_ARGS),
    "twilio-status": ({"POST": "signed"}, NO_ARGS),
    "twilio-inbound": ({"POST": "signed"}, NO_ARGS),
    "twilio-answer-status": ({"POST": "signed"}, NO_ARGS),
    "conversation-inbox": ({"GET": "dashboard"}, NO_ARGS),
    "conversation-unread": ({"GET": "dashboard"}, NO_ARGS),
    "conversation-phone-read": ({"POST": "dashboard"}, NO_ARGS),
    "conversation-thread": ({"GET": "dashboard"}, K(order_id="order")),
    "conversation-read": ({"POST": "dashboard"}, K(order_id="order")),
    "conversation-answer": ({"POST": "dashboard"}, K(order_id="order")),
    "twilio-masked-voice": ({"POST": "signed"}, NO_ARGS),
    "twilio-masked-voice-status": ({"POST": "signed"}, NO_ARGS),
    "twilio-masked-sms": ({"POST": "signed"}, NO_ARGS),
    "calls-settings": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "api-keys": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "api-key": ({"GET": "owner", "DELETE": "owner"}, K(key_id="api_key")),
    "api-me": ({"GET": "api_any"}, NO_ARGS),
    "api-users": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "api-user": ({"GET": "owner", "PATCH": "owner"}, K(user_id="user")),
    "api-orders": ({"GET": "api_read", "POST": "api_write"}, NO_ARGS),
    "api-orders-bulk": ({"POST": "api_write"}, NO_ARGS),
    "api-order": ({"GET": "api_read", "PATCH": "api_write"}, K(order_id="order")),
    "api-order-cancel": ({"POST": "api_write"}, K(order_id="order")),
    "api-order-reschedule": ({"POST": "api_write"}, K(order_id="order")),
    "api-order-events": ({"GET": "api_read"}, K(order_id="order")),
    "api-addresses": ({"GET": "api_read"}, NO_ARGS),
    "api-recurring": ({"GET": "api_read", "POST": "api_write"}, NO_ARGS),
    "api-recurring-order": (
        {"GET": "api_read", "PUT": "api_write", "PATCH": "api_write", "DELETE": "api_write"},
        K(pk="recurring"),
    ),
    "api-recurring-exceptions": ({"POST": "api_write"}, K(pk="recurring")),
    "api-recurring-exception": ({"DELETE": "api_write"}, K(pk="recurring", date="day")),
    "api-multi-day-plans": ({"GET": "api_read", "POST": "api_write"}, NO_ARGS),
    "api-multi-day-plan": ({"GET": "api_read"}, K(multi_id="multi_day")),
    "api-depots": ({"GET": "api_read", "POST": "api_write"}, NO_ARGS),
    "api-depot": ({"GET": "api_read", "PATCH": "api_write", "DELETE": "api_write"}, K(pk="depot")),
    "api-vehicles": ({"GET": "api_read", "POST": "api_write"}, NO_ARGS),
    "api-vehicle": (
        {"GET": "api_read", "PATCH": "api_write", "DELETE": "api_write"},
        K(pk="vehicle"),
    ),
    "api-drivers": ({"GET": "api_read", "POST": "api_write"}, NO_ARGS),
    "api-driver": (
        {"GET": "api_read", "PATCH": "api_write", "DELETE": "api_write"},
        K(pk="driver"),
    ),
    "api-imports": ({"POST": "api_import"}, NO_ARGS),
    "api-import": ({"GET": "api_import"}, K(import_id="csv_import")),
    "api-import-mapping": ({"PUT": "api_import"}, K(import_id="csv_import")),
    "api-import-preview": ({"GET": "api_import"}, K(import_id="csv_import")),
    "api-import-commit": ({"POST": "api_import"}, K(import_id="csv_import")),
    "api-orders-export": ({"GET": "api_read"}, NO_ARGS),
    "api-shopify-webhooks": ({"POST": "signed"}, NO_ARGS),
    "api-shopify": ({"GET": "owner", "PUT": "owner"}, NO_ARGS),
    "api-shopify-store": ({"GET": "owner", "DELETE": "owner"}, K(pk="shopify")),
    "api-woocommerce-webhooks": ({"POST": "signed"}, NO_ARGS),
    "api-woocommerce": ({"GET": "owner", "PUT": "owner"}, NO_ARGS),
    "api-woocommerce-store": ({"GET": "owner", "DELETE": "owner"}, _woocommerce_store),
    "api-shopify-install": ({"POST": "owner"}, NO_ARGS),
    "api-plans": ({"GET": "api_read", "POST": "api_write"}, NO_ARGS),
    "api-plan": ({"GET": "api_read"}, K(plan_id="plan")),
    "api-plan-resolve": ({"POST": "api_write"}, K(plan_id="plan")),
    "api-plan-publish": ({"POST": "api_write"}, K(plan_id="plan")),
    "api-plan-moves": ({"POST": "api_write"}, K(plan_id="plan")),
    "api-plan-locks": ({"POST": "api_write"}, K(plan_id="plan")),
    "api-plan-routes": ({"POST": "api_write"}, K(plan_id="plan")),
    "api-plan-route": ({"DELETE": "api_write"}, K(plan_id="plan", route_id="route")),
    "api-plan-urgent": ({"POST": "api_write"}, K(plan_id="plan")),
    "api-order-eta": ({"GET": "api_read"}, K(order_id="order")),
    "api-plan-route-geometry": ({"GET": "api_read"}, K(plan_id="plan", route_id="route")),
    "api-driver-path": ({"GET": "api_read"}, K(driver_id="driver")),
    "api-driver-pings": ({"POST": "driver_token"}, NO_ARGS),
    "api-positions": ({"GET": "api_read"}, NO_ARGS),
    "api-order-proofs": ({"GET": "api_read"}, K(order_id="order")),
    "api-order-proof-file": (
        {"GET": "api_read"},
        lambda w: {"order_id": w.proof_order, "proof_id": w.proof, "kind": "signature"},
    ),
    "api-webhooks": ({"GET": "api_webhooks", "POST": "api_webhooks"}, NO_ARGS),
    "api-webhook": (
        {"GET": "api_webhooks", "PATCH": "api_webhooks", "DELETE": "api_webhooks"},
        K(subscription_id="subscription"),
    ),
    "api-webhook-deliveries": ({"GET": "api_webhooks"}, K(subscription_id="subscription")),
    "api-webhook-replay": (
        {"POST": "api_webhooks"},
        K(subscription_id="subscription", delivery_id="delivery"),
    ),
    "api-schema": ({"GET": "public"}, NO_ARGS),
    "api-docs": ({"GET": "public"}, NO_ARGS),
    "api-not-found": ({"GET": "nowhere", "POST": "nowhere"}, NO_ARGS),
    # the JavaScript catalog (core/i18n.py): translations only, for any page
    "javascript-catalog": ({"GET": "public"}, NO_ARGS),
    "javascript-catalog-lang": ({"GET": "public"}, lambda w: {"lang": "fi"}),
    # the Brand page and the logo on the tenant's host (tests/tracking/test_brand.py)
    "brand-settings": ({"GET": "owner", "POST": "owner"}, NO_ARGS),
    "brand-logo": ({"GET": "members"}, _brand_logo),
    # the Learned times page: staff read it and ask for a run, the owner switches it
    # (tests/tracking/test_learning_page.py)
    "dashboard:learning": ({"GET": "dashboard"}, NO_ARGS),
    "dashboard:learning-switch": ({"POST": "owner"}, NO_ARGS),
    "dashboard:learning-run": ({"POST": "dashboard"}, NO_ARGS),
}

# The public host: no tenant roles exist there; every tenant caller is anonymous on it.
PUBLIC_MATRIX: dict[str, str] = {
    "signup": "public",
    "admin": "platform staff only",  # every admin:* route, and the admin's catch-all
    "track": "the link's token",
    "track-proof": "the link's token",
    "track-path": "the link's token",
    "track-rating": "the link's token",  # POST only; tests/tracking/test_rating.py
    "track-logo": "the link's token",  # the link's business only; tests/tracking/test_brand.py
    "api-signup": "public",
    "public-api-schema": "public",
    "public-api-docs": "public",
    "javascript-catalog": "public",  # core/i18n.py: translations only
    "javascript-catalog-lang": "public",
    # the Shopify app: signed by Shopify (the callback's hmac, the webhooks' header);
    # tests/stores/test_shopify_install*.py
    "shopify-app-callback": "signed",
    "shopify-app-webhooks": "signed",
}


def _routes(urlconf: str):
    def walk(resolver, prefix="", ns=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                yield from walk(
                    p, prefix + str(p.pattern), ns + (f"{p.namespace}:" if p.namespace else "")
                )
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), (ns + p.name) if p.name else None

    return list(walk(get_resolver(urlconf)))


def test_every_route_is_in_the_matrix():
    tenant_names = {name for _, name in _routes("config.urls_tenant")}
    assert None not in tenant_names, "every tenant route needs a name to be in the matrix"
    assert tenant_names == set(MATRIX), (
        f"not in the matrix: {sorted(tenant_names - set(MATRIX))}; "
        f"gone from the code: {sorted(set(MATRIX) - tenant_names)}"
    )
    public = {
        "admin" if path.startswith("admin/") else name
        for path, name in _routes("config.urls_public")
    }
    assert public == set(PUBLIC_MATRIX), (
        f"public routes not in the matrix: {public - set(PUBLIC_MATRIX)}"
    )


def _callers(fixture) -> dict[str, tuple[str, str]]:
    """role → (kind, credential): a session cookie, or an API key."""
    from django.test import Client

    callers = {"anonymous": ("none", "")}
    for role, email in (
        ("driver", fixture.driver_email),
        ("dispatcher", fixture.dispatcher_email),
        ("owner", fixture.owner_email),
    ):
        client = Client(HTTP_HOST=fixture.host)
        assert client.post("/login/", {"username": email, "password": PASSWORD}).status_code == 302
        callers[role] = ("session", client.cookies["sessionid"].value)
    callers["key_read"] = ("key", fixture.read_key)
    callers["key_write"] = ("key", fixture.api_key)
    return callers


def _request(host: str, caller: tuple[str, str], method: str, path: str):
    kind, credential = caller
    client = APIClient(HTTP_HOST=host, enforce_csrf_checks=False)
    if kind == "session":
        client.cookies = SimpleCookie({"sessionid": credential})
    elif kind == "key":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {credential}")
    with transaction.atomic():
        response = (
            getattr(client, method.lower())(path, {}, format="json")
            if method != "GET"
            else client.get(path)
        )
        transaction.set_rollback(True)
    return response


def _verdict(response) -> str:
    status = response.status_code
    if status >= 500:  # a crash is never a pass, whoever asked
        return f"error {status}"
    if status in (401, 403):
        return "denied"
    if status in (301, 302) and "/login/" in response.get("Location", ""):
        return "denied"
    if status == 404:
        return "not found"
    if status == 405:
        return "method not allowed"
    return "allowed"


def test_every_route_answers_every_caller_as_the_matrix_says(alpha, beta):
    from django.urls import reverse, set_urlconf

    world = _world(alpha)
    callers = _callers(alpha)
    wrong: list[str] = []
    set_urlconf("config.urls_tenant")
    try:
        for name, (methods, arguments) in MATRIX.items():
            path = reverse(name, kwargs=arguments(world), urlconf="config.urls_tenant")
            for method, policy in methods.items():
                for role, caller in callers.items():
                    cache.clear()  # rate limits are tested on their own
                    own = _verdict(_request(alpha.host, caller, method, path))
                    expected = "allowed" if role in POLICIES[policy] else "denied"
                    if policy in NOT_FOUND_POLICIES:
                        expected = "not found"
                    if own != expected:
                        wrong.append(
                            f"{method} {path} as {role} on alpha: {own}, expected {expected}"
                        )
                    other = _verdict(_request(beta.host, caller, method, path))
                    if policy != "public" and other not in ("denied", "not found"):
                        wrong.append(f"{method} {path} as alpha's {role} on beta: {other}")
    finally:
        set_urlconf(None)
    assert not wrong, "\n".join(wrong)


def test_the_public_host_answers_every_tenant_caller_as_a_stranger(alpha):
    """On the public host a tenant's session or key is nobody: sign-up and the schema are
    open, the admin wants platform staff, a tracking page wants its own token."""
    from django.urls import reverse

    world = _world(alpha)
    callers = _callers(alpha)
    public = "config.urls_public"
    admin = [
        "/admin/",
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{alpha.tenant.pk}/change/",
        "/admin/accounts/user/",
        "/admin/django_q/ormq/",
        "/admin/anything/else/",
    ]
    wrong = []
    for role, caller in callers.items():
        cache.clear()
        for path in admin:
            if _verdict(_request("localhost", caller, "GET", path)) != "denied":
                wrong.append(f"GET {path} as {role}")
        for name in ("signup", "public-api-schema", "public-api-docs"):
            path = reverse(name, urlconf=public)
            verdict = _verdict(_request("localhost", caller, "GET", path))
            # a tenant's key is no key here: refused (401), never taken for someone
            if verdict != ("denied" if caller[0] == "key" and name != "signup" else "allowed"):
                wrong.append(f"GET {path} as {role}: {verdict}")
        signup = _request("localhost", caller, "POST", reverse("api-signup", urlconf=public))
        if signup.status_code != 400:  # an empty sign-up: field errors, for anyone
            wrong.append(f"POST /api/v1/signup as {role}: {signup.status_code}")
        track = reverse("track", kwargs={"token": world.token}, urlconf=public)
        if _request("localhost", caller, "GET", track).status_code != 200:
            wrong.append(f"GET {track} as {role}")
        path = reverse("track-path", kwargs={"token": world.token}, urlconf=public)
        if _request("localhost", caller, "GET", path).status_code != 200:
            wrong.append(f"GET {path} as {role}")
        rate = reverse("track-rating", kwargs={"token": world.token}, urlconf=public)
        # the link's order is not delivered yet: a field error (400), for anyone with the link
        if _request("localhost", caller, "POST", rate).status_code != 400:
            wrong.append(f"POST {rate} as {role}")
        for token in ("a" * 43, world.token[:-1]):
            if _request("localhost", caller, "GET", f"/t/{token}").status_code != 404:
                wrong.append(f"a guessed token as {role}")
            if _request("localhost", caller, "GET", f"/t/{token}/path").status_code != 404:
                wrong.append(f"a guessed token's path as {role}")
            if _request("localhost", caller, "POST", f"/t/{token}/rating").status_code != 404:
                wrong.append(f"a guessed token's rating as {role}")
        proof = reverse(
            "track-proof",
            kwargs={"token": "b" * 43, "proof_id": world.proof, "kind": "photo"},
            urlconf=public,
        )
        if _request("localhost", caller, "GET", proof).status_code != 404:
            wrong.append(f"another order's proof as {role}")
    assert not wrong, "\n".join(wrong)
