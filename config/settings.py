"""Settings for the dispatch platform, read from the environment (twelve-factor).

Every variable is listed in docs/configuration.md. Development defaults are safe to run locally;
``DEBUG=0`` switches on production hardening.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.database import database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# Off unless asked for: `make` (run, migrate, demo, web, worker) and the tests turn it on.
DEBUG = env_bool("DEBUG", False)
# The image sets PRODUCTION=1: there DEBUG must stay off, whatever else is set.
PRODUCTION = env_bool("PRODUCTION", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DEBUG is on in production (PRODUCTION=1): it shows settings and stack traces to "
        "anyone. Unset DEBUG or set DEBUG=0."
    )

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105 - DEBUG only
# Keys that are, or were, written in this repository (and so public): never with DEBUG off.
PUBLIC_SECRET_KEYS = frozenset(
    {
        DEV_SECRET_KEY,
        "change-me-to-a-long-random-string-0123456789",  # compose.yaml's old default
        "collectstatic-only",  # the image build's old throwaway
    }
)


def secret_key_problem(key: str) -> str | None:
    """Why `key` may not sign sessions and driver tokens in production, or None. The
    length and variety are Django's own deployment check's (50 characters, 5 distinct)."""
    if not key.strip():
        return "SECRET_KEY must be set when DEBUG is off."
    if key in PUBLIC_SECRET_KEYS or key.startswith("django-insecure"):
        return (
            "SECRET_KEY is a value published in this project's files: anyone could forge "
            "sessions and driver tokens with it."
        )
    if len(key) < 50 or len(set(key)) < 5:
        return (
            f"SECRET_KEY is too weak ({len(key)} characters, {len(set(key))} distinct; at "
            "least 50 and 5 are needed)."
        )
    return None


# The demo business (manage.py seed_demo) has a published password and prints an API key:
# with DEBUG off it is made, or kept, only when DEMO_DATA=1 asks for it.
DEMO_DATA = env_bool("DEMO_DATA", DEBUG)

# What a process that serves or works (web, worker, scheduler, migrate) must not start
# with, though a command that only reads the code (makemigrations, collectstatic, shell)
# may: config.startup.refuse_unsafe_configuration raises with these, and `check --deploy`
# reports them. A value set and wrong (a published or weak key) is refused at once.
UNSAFE_CONFIGURATION: list[str] = []
_MAKE_A_KEY = "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not DEBUG and (_problem := secret_key_problem(SECRET_KEY)):
    if SECRET_KEY.strip():
        raise ImproperlyConfigured(f"{_problem} {_MAKE_A_KEY}")
    UNSAFE_CONFIGURATION.append(f"{_problem} {_MAKE_A_KEY}")
    SECRET_KEY = secrets.token_urlsafe(50)  # this process's own: nothing it signs outlives it
if not SECRET_KEY:
    SECRET_KEY = DEV_SECRET_KEY

# Hosts: the public host serves signup and the operators' admin; each tenant gets
# <slug>.<TENANT_BASE_DOMAIN>. Browsers resolve *.localhost to loopback, so the defaults
# work on a laptop with no DNS set-up.
PUBLIC_HOST = os.environ.get("PUBLIC_HOST", "localhost")
TENANT_BASE_DOMAIN = os.environ.get("TENANT_BASE_DOMAIN", PUBLIC_HOST)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or [PUBLIC_HOST, f".{TENANT_BASE_DOMAIN}", "127.0.0.1"]
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Businesses' own hosts for their tracking pages (track.florist.example, a CNAME to
# PUBLIC_HOST; set on the Brand page). On, any Host may reach the app and the tenants'
# Domain table is the list of hosts served (any other: 404); the proxy in front must then
# get certificates for those hosts (on-demand TLS). Such a host serves only the tracking
# pages (TRACKING_HOST_URLCONF).
TRACKING_CUSTOM_HOSTS = env_bool("TRACKING_CUSTOM_HOSTS", False)
if TRACKING_CUSTOM_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, "*"]
TRACKING_HOST_URLCONF = "config.urls_tracking"
# The proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed
# (core/http.py); empty: none, the connection's own address is the client's.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network ({_exc})."
        ) from None
if env_bool("TRUST_PROXY_HEADERS", False):
    raise ImproperlyConfigured(
        "TRUST_PROXY_HEADERS is replaced by TRUSTED_PROXIES: list the proxies' addresses or "
        "networks (e.g. TRUSTED_PROXIES=10.0.0.0/8) and unset TRUST_PROXY_HEADERS."
    )

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "geo",  # roads and addresses of the regions served here: one copy for every tenant
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # SimpleAdminConfig: no autodiscovery, because django-leaflet's admin module needs GDAL,
    # which the project does not use. Admin modules are imported in config/urls_public.py.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "leaflet",
    "django_q",
    "channels",
    "audit",  # also a tenant app: the platform's own events (a tenant deleted) live here
    "axes",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "accounts",
    "dispatch",
    "routing",
    "tracking",
    "notifications",
    "proofs",
    "webhooks",
    "stores",
    "reports",
    "audit",
    "axes",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
ROOT_URLCONF = "config.urls_tenant"
# New tenants are cloned from this schema instead of running every migration; the
# `migrate` make target keeps it migrated (see tenants/services/provisioning.py).
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Issue `SET search_path` when the schema changes, not before every statement (it halves
# the statements of a typical API request). Code that changes search_path behind
# django-tenants' back must call connection.set_schema*() afterwards (provisioning does).
TENANT_LIMIT_SET_CALLS = True

MIDDLEWARE = [
    # before anything reads them: X-Forwarded-Proto/-Host/-Port from TRUSTED_PROXIES only
    "core.http.ForwardedHeadersMiddleware",
    "core.observability.RequestContextMiddleware",
    "config.health.HealthCheckMiddleware",
    # the pages answered before the tenant is known, in the browser's language
    "core.i18n.BrowserLanguageMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # the page's language: the user's, the visitor's browser's, English on the API
    "core.i18n.LanguageMiddleware",
    "audit.middleware.AuditMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.DatabaseUnavailableMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.navigation.navigation",
                "core.navigation.csp_nonce",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {"default": dj_database_url.parse(database_url(), conn_max_age=60)}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
if os.environ.get("DB_POOL") == "1":  # the ASGI web process (config/asgi.py sets it)
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # a pool hands connections back instead
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "20")),
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT_S", "30")),
    }
    # a connection is checked when handed out: after a database restart the pool's old
    # ones are dead, and a request should get a new one, not an error
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "").strip()

# Cache keys carry the schema name (row ids repeat across schemas). With Redis away the
# cache answers as a miss (core/cache.py): rate limits let calls through, copies are redone.
_cache_backend = (
    {
        "BACKEND": "core.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        # a Redis that takes connections and never answers fails a call within these
        # seconds (then core/cache.py skips Redis for a few seconds), not the OS's minutes
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
    }
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
)
CACHES = {"default": {**_cache_backend, "KEY_FUNCTION": "django_tenants.cache.make_key"}}

CHANNEL_LAYERS = {
    "default": (
        {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 gives up on a read after 5 s, as long as channels-redis blocks
            # waiting for a message: without this, a socket idle for 5 s dies (1011).
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        # after Redis restarts, a pooled connection is dead: try again on a new one
                        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), 5),
                        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
                    }
                ]
            },
        }
        if REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

# The driver app's token (websocket and offline batches) lasts a shift and a bit.
DRIVER_TOKEN_MAX_AGE_S = int(os.environ.get("DRIVER_TOKEN_MAX_AGE_S", str(14 * 3600)))
# How often each web process writes the GPS fixes it received (and fans them out).
TRACKING_FLUSH_S = float(os.environ.get("TRACKING_FLUSH_S", "0.05"))

# SMS to customers: "twilio", "console" (development), "memory" (tests) or a dotted path.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "console" if DEBUG else "twilio")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM = os.environ.get("TWILIO_FROM", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_URL = os.environ.get("TWILIO_API_URL", "https://api.twilio.com")
# Base URL Twilio reports message statuses to, `{host}` being the tenant's host, e.g.
# "https://{host}"; empty: no status callbacks.
TWILIO_CALLBACK_BASE = os.environ.get("TWILIO_CALLBACK_BASE", "")
# Where customers' tracking links point (the public host, as customers reach it). Unset:
# PUBLIC_HOST on the port this deployment serves, $PORT (`make run` exports it to the web
# process and the worker alike; 8000 is bin/dispatch web's own default). Required with
# DEBUG off: behind a platform's proxy $PORT is an internal port, and links to it would
# reach customers' phones broken.
_served_port = os.environ.get("PORT", "").strip() or "8000"
_served_at = PUBLIC_HOST if _served_port == "80" else f"{PUBLIC_HOST}:{_served_port}"
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
if not PUBLIC_BASE_URL:
    if not DEBUG:
        UNSAFE_CONFIGURATION.append(
            "PUBLIC_BASE_URL must be set when DEBUG is off: the address customers open "
            "tracking links at, e.g. https://track.example.com (unset, links would point at "
            f"http://{_served_at}, this process's own port)."
        )
    PUBLIC_BASE_URL = f"http://{_served_at}"
# Unknown tracking tokens one client may try in ten minutes before getting 429.
TRACKING_GUESS_LIMIT = int(os.environ.get("TRACKING_GUESS_LIMIT", "30"))
# Retries of a message the provider could not take: attempts, and the first delay (doubled).
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "6"))
SMS_RATE_PER_MINUTE = int(os.environ.get("SMS_RATE_PER_MINUTE", "120"))  # per tenant
NOTIFY_RETRY_BASE_S = float(os.environ.get("NOTIFY_RETRY_BASE_S", "30"))
# No send takes longer (the provider's HTTP timeout); a message "sending" for longer has
# lost its worker and is reconciled with the provider.
NOTIFY_SEND_TIMEOUT_S = float(os.environ.get("NOTIFY_SEND_TIMEOUT_S", "30"))
# A message pending this long with no job waiting for it (none queued, none scheduled) lost
# its job (the broker was away): the sweep queues it again.
NOTIFY_PENDING_SWEEP_S = float(os.environ.get("NOTIFY_PENDING_SWEEP_S", "300"))
# A plan queued this long is queued again; one solving this long past its time budget with
# no live worker (routing/services/recovery.py) is marked failed.
PLAN_SWEEP_AFTER_S = float(os.environ.get("PLAN_SWEEP_AFTER_S", "300"))
# The optimiser's time budget for the nightly plan of tomorrow (auto-dispatch).
AUTO_PLAN_SECONDS = float(os.environ.get("AUTO_PLAN_SECONDS", "30"))

Q_CLUSTER = {
    "name": "dispatch",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": 600,
    "retry": 720,
    "max_attempts": 3,
    "catch_up": False,
    "label": "Background jobs",
    # Each cluster also runs due schedules unless Q_SCHEDULER=0: with a dedicated
    # `bin/dispatch scheduler`, workers leave it to that (two doing it is harmless:
    # django-q2 locks each schedule row, so a run is queued once).
    "scheduler": env_bool("Q_SCHEDULER", True),
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
}

AUTH_USER_MODEL = "accounts.User"
# Sign-in lockouts (django-axes): LOGIN_FAILURE_LIMIT wrong passwords for one account from
# one address lock that pair out for LOGIN_LOCKOUT_MINUTES. Counted in each schema's own
# tables (axes is a tenant app too): a lockout on one tenant is nothing on another.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"  # the sign-in form's field (the email address)
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_CLIENT_IP_CALLABLE = "core.http.client_ip"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# The shipped languages (core/i18n.py decides which one each page and message is in), named
# in their own language for the menus. Adding one: here, then `make messages` and translate.
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fi", "Suomi"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # front-end libraries from package.json (installed by make / the image's assets stage)
    ("vendor/sortablejs", BASE_DIR / "node_modules" / "sortablejs"),
    ("vendor/idb", BASE_DIR / "node_modules" / "idb" / "build"),
    ("vendor/zxing", BASE_DIR / "node_modules" / "@zxing" / "library" / "umd"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# In development WhiteNoise serves straight from the apps' static folders (no collectstatic).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"  # never served as such: proof files go through views that check access
# Proof-of-delivery files on S3 (or any S3-compatible store: MinIO, R2, …) when a bucket is
# set; the local disk under MEDIA_ROOT otherwise. Credentials come from boto3's usual
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance's role).
if os.environ.get("S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["S3_BUCKET"],
            "endpoint_url": os.environ.get("S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("S3_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
# Outgoing webhooks: public addresses only (loopback only where a test or a single-machine
# set-up allows it), https only outside DEBUG, tries doubling from WEBHOOK_RETRY_BASE_S.
WEBHOOK_ALLOW_LOOPBACK = os.environ.get("WEBHOOK_ALLOW_LOOPBACK") == "1"
WEBHOOK_REQUIRE_HTTPS = os.environ.get("WEBHOOK_REQUIRE_HTTPS", "0" if DEBUG else "1") == "1"
WEBHOOK_TIMEOUT_S = float(os.environ.get("WEBHOOK_TIMEOUT_S", "10"))
WEBHOOK_MAX_ATTEMPTS = int(os.environ.get("WEBHOOK_MAX_ATTEMPTS", "8"))
WEBHOOK_RETRY_BASE_S = float(os.environ.get("WEBHOOK_RETRY_BASE_S", "30"))
# Stores (stores/): credentials encrypted at rest (django-fernet-encrypted-fields: keys
# derived from SECRET_KEY and its SECRET_KEY_FALLBACKS with each ENCRYPTION_SALT; the first
# salt encrypts, every one decrypts, so salts and keys can be rotated).
SALT_KEY = env_list("ENCRYPTION_SALT", "dispatch-store-credentials")
# The Shopify app (a public or custom-distributed app made in the Partner Dashboard): its
# client id and secret. Unset: stores connect only by the hand-made custom app way.
SHOPIFY_API_KEY = os.environ.get("SHOPIFY_API_KEY", "")
SHOPIFY_API_SECRET = os.environ.get("SHOPIFY_API_SECRET", "")
SHOPIFY_API_VERSION = os.environ.get("SHOPIFY_API_VERSION", "2025-10")
# Where a shop's admin is reached, "{shop}" being its <name>.myshopify.com (tests: a fake).
SHOPIFY_SHOP_URL = os.environ.get("SHOPIFY_SHOP_URL", "https://{shop}")
# Store write-backs: timeout of each call, tries before an error counts as permanent, the
# first wait between tries (doubling after each), and how long after its tries began a
# write-back not yet written is given up (throttled answers use no try, but not for ever).
STORE_TIMEOUT_S = float(os.environ.get("STORE_TIMEOUT_S", "15"))
STORE_MAX_ATTEMPTS = int(os.environ.get("STORE_MAX_ATTEMPTS", "8"))
STORE_RETRY_BASE_S = float(os.environ.get("STORE_RETRY_BASE_S", "30"))
STORE_GIVE_UP_AFTER_S = float(os.environ.get("STORE_GIVE_UP_AFTER_S", "86400"))
# WooCommerce stores must be https outside DEBUG (their keys go in each request).
STORE_REQUIRE_HTTPS = os.environ.get("STORE_REQUIRE_HTTPS", "0" if DEBUG else "1") == "1"
# What one driver's socket may send: DRIVER_SOCKET_RATE messages a second on average,
# DRIVER_SOCKET_BURST at once (a phone sends a fix a second; offline backlogs go over HTTP).
DRIVER_SOCKET_RATE = float(os.environ.get("DRIVER_SOCKET_RATE", "10"))
DRIVER_SOCKET_BURST = int(os.environ.get("DRIVER_SOCKET_BURST", "50"))
# A dispatcher's socket checks its session and role again this often (besides at once when
# the user is changed or signs out in this deployment, and on every message it receives).
DISPATCH_SOCKET_RECHECK_S = float(os.environ.get("DISPATCH_SOCKET_RECHECK_S", "60"))
PROOF_MAX_UPLOAD_BYTES = int(os.environ.get("PROOF_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024)))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.HasApiAccess"],
    "DEFAULT_PAGINATION_CLASS": "config.api.CappedCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "tenants.throttling.ApiKeyRateThrottle",
        "tenants.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": os.environ.get("API_KEY_RATE", "1200/min"),
        "user": os.environ.get("API_USER_RATE", "600/min"),
        "signup": os.environ.get("SIGNUP_RATE", "20/hour"),
        "signup_global": os.environ.get("SIGNUP_GLOBAL_RATE", "100/hour"),
        # per driver, on the driver app's HTTP calls (tracking/throttling.py)
        "driver": os.environ.get("DRIVER_HTTP_RATE", "600/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.json_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.JSONParser",
        "config.api.FormParser",  # held to DATA_UPLOAD_MAX_MEMORY_SIZE, as JSON is
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # never X-Forwarded-For as such: our throttles ask core.http.client_ip (TRUSTED_PROXIES)
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dispatch API",
    "DESCRIPTION": (
        "REST API of the last-mile dispatch platform. Authenticate with "
        "`Authorization: Bearer <api key>` on your tenant's host."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "dispatch.models.orders.OrderStatus",
        "PlanStatusEnum": "routing.models.Plan.Status",
        "WebhookEventEnum": "webhooks.models.Event",
        "TravelKindEnum": "tenants.selectors.TRAVEL_KINDS",
    },
}

# Request bodies up to 6 MB: a 1,000-order bulk request or a 5 MB CSV sent as text/csv.
DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024


# Content-Security-Policy on every page (django-csp): scripts only from this site or with
# the page's nonce, no plugins, no framing, forms only to this site; map tiles from the tile
# server. Styles may be inline (the pages' own <style> blocks and htmx's indicator).
def _origin(url: str) -> str:
    parts = url.split("/")
    return "/".join(parts[:3]).replace("{s}.", "*.")


MAP_TILES_ORIGIN = _origin(
    os.environ.get("MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
)

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        # blob: the driver app's photo previews and camera frames
        "img-src": [SELF, "data:", "blob:", MAP_TILES_ORIGIN],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LEAFLET_CONFIG = {
    "TILES": os.environ.get("MAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
    "ATTRIBUTION_PREFIX": "&copy; OpenStreetMap contributors",
}

# Geocoding of order addresses: "local" (the addresses of each tenant's road region,
# imported with its roads by manage.py roads_import; no network), "nominatim" (any
# Nominatim-compatible server), "none", or the dotted path of a class with
# geocode(*, query, country) -> GeocodeResult. The local geocoder places an order only when
# its best match is at least GEOCODER_MIN_CONFIDENCE sure (0..1); below, the order needs a
# location, and says why.
GEOCODER = os.environ.get("GEOCODER", "local")
GEOCODER_MIN_CONFIDENCE = float(os.environ.get("GEOCODER_MIN_CONFIDENCE", "0.8"))
if not 0 < GEOCODER_MIN_CONFIDENCE <= 1:
    raise ImproperlyConfigured(
        f"GEOCODER_MIN_CONFIDENCE must be above 0 and at most 1, not {GEOCODER_MIN_CONFIDENCE}."
    )
GEOCODER_URL = os.environ.get("GEOCODER_URL", "https://nominatim.openstreetmap.org")
GEOCODER_TIMEOUT_S = float(os.environ.get("GEOCODER_TIMEOUT_S", "5"))
GEOCODER_USER_AGENT = os.environ.get("GEOCODER_USER_AGENT", "dispatch-platform/0.1")

# Travel times for the route optimiser (routing/services/matrix.py): "roads" (each tenant's
# road region, built here from an OpenStreetMap extract and served in process; a tenant
# without one gets straight lines, and every plan and ETA says so), "osrm" (an OSRM
# server's table service, for every tenant) or "straight" (great-circle distance times a
# detour factor, at a speed profile, for every tenant).
# Matrices are cached per tenant for ROUTING_MATRIX_CACHE_TTL_S seconds (0: not cached).
ROUTING_MATRIX_PROVIDER = os.environ.get("ROUTING_MATRIX_PROVIDER", "roads").strip()
if ROUTING_MATRIX_PROVIDER not in {"roads", "straight", "osrm"}:
    raise ImproperlyConfigured(
        "ROUTING_MATRIX_PROVIDER must be 'roads', 'straight' or 'osrm', "
        f"not {ROUTING_MATRIX_PROVIDER!r}."
    )
ROUTING_DETOUR_FACTOR = float(os.environ.get("ROUTING_DETOUR_FACTOR", "1.3"))
ROUTING_OSRM_URL = os.environ.get("ROUTING_OSRM_URL", "http://127.0.0.1:5000")
ROUTING_OSRM_PROFILE = os.environ.get("ROUTING_OSRM_PROFILE", "driving")
ROUTING_OSRM_TIMEOUT_S = float(os.environ.get("ROUTING_OSRM_TIMEOUT_S", "30"))
ROUTING_OSRM_MAX_TABLE_SIZE = int(os.environ.get("ROUTING_OSRM_MAX_TABLE_SIZE", "100"))
ROUTING_MATRIX_CACHE_TTL_S = int(os.environ.get("ROUTING_MATRIX_CACHE_TTL_S", "86400"))
# Reports' CO2 of electric vans: kg CO2e per kWh charged (reports.services; default the UK
# grid's generation factor, UK Government GHG Conversion Factors 2024, "UK electricity").
EMISSIONS_GRID_KG_PER_KWH = float(os.environ.get("EMISSIONS_GRID_KG_PER_KWH", "0.207"))
# Road regions built from OpenStreetMap extracts (manage.py roads_import), served in process
# by the embedded OSRM engine (geo/services.py).
ROADS_DIR = Path(os.environ.get("ROADS_DIR", BASE_DIR / ".data" / "roads"))

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "dispatch@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start, usually port 465
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT_S", "20"))

# One line per record: JSON for a log shipper (the default with DEBUG off) or text; every
# record carries the request id, the tenant (schema) and the background job
# (core/observability.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.observability.ContextFilter"}},
    "formatters": {
        "json": {"()": "core.observability.json_formatter"},
        "text": {"()": "core.observability.TextFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # the access line of each request comes from core.observability instead
        "django.server": {"level": "WARNING"},
        # uvicorn's own lines (start, stop, refused requests) in this format, not its own
        "uvicorn": {"handlers": [], "propagate": True},
        "uvicorn.error": {"handlers": [], "propagate": True},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
    },
}
# Bearer token a Prometheus scraper sends for /metrics on the web port (unset: 404 there;
# METRICS_PORT serves every process's metrics on a private port instead).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# `migrate_schemas --executor=multiprocessing` (bin/dispatch migrate): processes at once,
# and schemas handed to each at a time.
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("MIGRATION_PROCESSES", "4"))
TENANT_MULTIPROCESSING_CHUNKS = int(os.environ.get("MIGRATION_CHUNK_SIZE", "2"))

# Production hardening, switched on by DEBUG=0.
if not DEBUG:
    # sent by a proxy in TRUSTED_PROXIES only: dropped from anyone else's requests
    # (core.http.ForwardedHeadersMiddleware)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
