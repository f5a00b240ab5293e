"""ASGI entry point: HTTP through Django, websockets through Channels.

Websocket consumers do not get Django's per-request schema switch: each consumer resolves
its tenant and enters the schema itself (see tracking/ once it has consumers).
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Under ASGI every request's sync code runs in a thread of its own, so Django's persistent
# connections (one per thread) pile up until PostgreSQL refuses more: the web process
# shares a psycopg pool instead (settings: DB_POOL).
os.environ.setdefault("DB_POOL", "1")
django_asgi_app = get_asgi_application()

from core.startup import refuse_unsafe_configuration  # noqa: E402

refuse_unsafe_configuration()  # no SECRET_KEY or PUBLIC_BASE_URL with DEBUG off: no serving

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.websockets import websocket_urlpatterns  # noqa: E402
from config.ws_origins import origin_checked  # noqa: E402
from core import metrics  # noqa: E402

# The web process holds a few hundred thousand long-lived objects (modules, URL patterns,
# templates); full collections of them paused it for 200-380 ms every few seconds at
# 2,000 streaming drivers. Move what exists now out of the collector's way and collect
# young objects less often (measured in `make bench-tracking`).
gc.freeze()
gc.set_threshold(20_000, 20, 20)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # pages of the socket's own host or of ALLOWED_HOSTS (config/ws_origins.py)
        "websocket": origin_checked(URLRouter(websocket_urlpatterns)),
    }
)


def _web_ready() -> tuple[bool, dict]:
    from django.db import connection

    from config.health import readiness

    try:
        return readiness()
    finally:
        connection.close()  # back to the pool: the metrics server's threads keep none


# METRICS_PORT: /metrics, /healthz and /readyz on a private port as well (core/metrics.py).
metrics.serve_in_background("web", ready=_web_ready)
