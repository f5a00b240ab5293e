"""What every Twilio webhook on a tenant's host checks first: the request is Twilio's."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
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
