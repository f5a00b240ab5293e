"""What every Twilio webhook on a tenant's host checks first: the request is Twilio's."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator


def twilio_signed(request: HttpRequest) -> bool:
    """Whether the request carries a valid `X-Twilio-Signature` for the URL Twilio
    called. Behind a proxy that terminates TLS, that URL is rebuilt from
    X-Forwarded-Proto and the Host header (SECURE_PROXY_SSL_HEADER), as Twilio saw it."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(request.build_absolute_uri(), request.POST.dict(), signature)


def twilio_webhook(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A Twilio webhook: POST only, no CSRF token (Twilio has none), and a 403 before the
    view reads or writes anything unless the request is signed by Twilio."""

    @wraps(view)
    def signed(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not twilio_signed(request):
            return HttpResponse("Bad signature.", status=403)
        return view(request, *args, **kwargs)

    return csrf_exempt(require_POST(signed))
