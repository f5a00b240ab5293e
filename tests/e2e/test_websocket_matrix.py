"""The websocket half of the authorization matrix, against the running web process: every
websocket route, for every kind of caller, on its own tenant and on another one.

A websocket route missing from WS_MATRIX fails the first test."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from django.test import Client
from websockets.exceptions import ConnectionClosed

from tests.e2e.test_tracking_ws import make_world
from tests.e2e.ws import receive, run, socket

# route: who is let in (everyone else is refused with 4401, 4403 or 4404)
WS_MATRIX = {
    "ws/driver/": {"driver_token"},  # the phone's signed token (an on-duty driver)
    "ws/dispatch/": {"dispatcher", "owner"},  # a dashboard session of this tenant
    "ws/track/<str:token>/": {"link"},  # the customer's tracking link
}
CALLERS = ("anonymous", "driver", "dispatcher", "owner", "driver_token", "link")


def test_every_websocket_route_is_in_the_matrix():
    from config.websockets import websocket_urlpatterns

    assert {str(p.pattern) for p in websocket_urlpatterns} == set(WS_MATRIX)


def _cookie(host: str, email: str) -> str:
    from accounts.models import User

    client = Client(HTTP_HOST=host)
    client.force_login(User.objects.get(email=email))
    return f"sessionid={client.cookies['sessionid'].value}"


def test_every_websocket_caller_is_let_in_or_refused_as_the_matrix_says(
    live_server_url, django_db_blocker
):
    from django_tenants.utils import schema_context

    a = make_world(django_db_blocker, live_server_url, "wsma")
    b = make_world(django_db_blocker, live_server_url, "wsmb")
    cookies = {}
    with django_db_blocker.unblock(), schema_context(a.tenant.schema):
        for role in ("driver", "dispatcher", "owner"):
            cookies[role] = _cookie(a.tenant.host, f"{role}@wsma.test")

    def attempt(host: str, route: str, caller: str):
        path, cookie = route.replace("<str:token>", "not-a-link"), None
        if caller in cookies:
            cookie = cookies[caller]
        elif caller == "driver_token" and route == "ws/driver/":
            path = f"ws/driver/?token={a.token}"
        elif caller == "link" and route.startswith("ws/track/"):
            path = f"ws/track/{a.heading_link}/"
        return "/" + path, cookie

    async def outcome(host: str, path: str, cookie: str | None) -> str:
        async with socket(host, path, cookie=cookie) as ws:
            first = await receive(ws)
            if first.get("type") != "error":
                return "let in"
            with suppress(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=5)
            return f"refused {ws.close_code}"

    wrong = []
    public = f"localhost:{live_server_url.rsplit(':', 1)[1]}"

    async def scenario():
        for route, allowed in WS_MATRIX.items():
            for caller in CALLERS:
                path, cookie = attempt(a.tenant.host, route, caller)
                own = await outcome(a.tenant.host, path, cookie)
                expected = "let in" if caller in allowed else "refused"
                if not own.startswith(expected):
                    wrong.append(f"{path} as {caller} on its tenant: {own}")
                # another tenant's host; for a tracking link, the public host (where the
                # customer's page is): a link works there, nothing else does
                host = public if route.startswith("ws/track/") else b.tenant.host
                other = await outcome(host, path, cookie)
                if route.startswith("ws/track/"):
                    if not other.startswith(expected):
                        wrong.append(f"{path} as {caller} on the public host: {other}")
                    continue
                if not other.startswith("refused 44"):
                    wrong.append(f"{path} as A's {caller} on tenant B: {other}")

    run(scenario())
    assert not wrong, "\n".join(wrong)
