"""Twilio's webhooks on the tenant's host: message statuses, inbound SMS (STOP / START,
and every other text, kept on the customer's order as a conversation) and the statuses of
the dispatchers' answers. Each request must carry a valid `X-Twilio-Signature` for the
URL Twilio called; behind a proxy that terminates TLS, that URL is rebuilt from
X-Forwarded-Proto and the Host header (SECURE_PROXY_SSL_HEADER), as Twilio saw it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from notifications.services import conversations
from notifications.services import sending as services
from notifications.views.twilio import twilio_webhook


@twilio_webhook
def twilio_status_view(request: HttpRequest) -> HttpResponse:
    services.provider_status(
        provider_id=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
        key=request.GET.get("key", ""),  # the message's own key, in the URL we gave Twilio
    )
    return HttpResponse(status=204)


@twilio_webhook
def twilio_inbound_view(request: HttpRequest) -> HttpResponse:
    conversations.inbound_received(
        raw_phone=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        provider_id=request.POST.get("MessageSid", ""),
    )
    return HttpResponse("<Response/>", content_type="application/xml")


@twilio_webhook
def twilio_answer_status_view(request: HttpRequest) -> HttpResponse:
    """The status of a dispatcher's answer; the answer's key is in the URL we gave Twilio."""
    conversations.answer_status(
        key=request.GET.get("key", ""),
        provider_id=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
    )
    return HttpResponse(status=204)
