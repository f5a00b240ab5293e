"""Which pages may open the websockets (config/asgi.py): a page of the socket's own host,
or of one of ALLOWED_HOSTS.

With TRACKING_CUSTOM_HOSTS, ALLOWED_HOSTS holds "*" (businesses' own tracking hosts are
not known in advance), which must not let any site's pages open the dashboard's and the
drivers' sockets: "*" is left out of the list here, and a tracking page on a business's
own host passes as a page of its own host."""

from __future__ import annotations

from channels.security.websocket import OriginValidator
from django.conf import settings


class SameHostOrAllowedOriginValidator(OriginValidator):
    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin-1").lower()
        host = headers.get(b"host", b"").decode("latin-1").lower()
        if host and origin.split("://", 1)[-1] == host:
            return await self.application(scope, receive, send)
        return await super().__call__(scope, receive, send)


def origin_checked(application) -> SameHostOrAllowedOriginValidator:
    return SameHostOrAllowedOriginValidator(
        application, [host for host in settings.ALLOWED_HOSTS if host != "*"]
    )
