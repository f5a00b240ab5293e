"""A rate limit per driver on the driver app's HTTP calls: stop events, scans, settings,
duty, its token, proofs and the offline GPS batches (the socket has its own,
DRIVER_SOCKET_RATE).

One count per driver, keyed by schema and driver (ids repeat across tenants), shared by
the session's pages and the token's API. DRIVER_HTTP_RATE is sized for the app's outbox
catching up after a shift without signal: it sends what it kept one item after another
(hundreds of stop events, scans and proofs, fixes 500 to a batch), and on a 429 keeps the
item and tries again later, so a refusal delays, never loses."""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.throttling import SimpleRateThrottle

from tenants.throttling import throttle_wait

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class DriverRateThrottle(SimpleRateThrottle):
    scope = "driver"

    def get_cache_key(self, request: Request | HttpRequest, view: APIView | None) -> str | None:
        user = request.user
        if not user.is_authenticated:
            return None
        # a driver token's principal carries its driver; a signed-in user has one (or not)
        driver = getattr(user, "driver", None)
        if driver is not None:
            return f"throttle:{connection.schema_name}:driver:{driver.pk}"
        return f"throttle:{connection.schema_name}:driver-user:{user.pk}"


def driver_throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The driver's rate limit on one of the app's pages (under driver_required): past it,
    429 with Retry-After, in JSON for the app's outbox."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        wait_s = throttle_wait(request, [DriverRateThrottle])
        if wait_s is None:
            return view(request, *args, **kwargs)
        seconds = math.ceil(wait_s)
        text = f"Too many requests from this driver: try again in {seconds} s."
        if request.headers.get("Accept") == "application/json":
            response: HttpResponse = JsonResponse({"errors": {"__all__": [text]}}, status=429)
        else:
            response = HttpResponse(text, content_type="text/plain; charset=utf-8", status=429)
        response["Retry-After"] = str(seconds)
        return response

    return wrapped
