"""Twilio's webhooks on the tenant's host: message statuses and inbound SMS (STOP /
START). Each request must carry a valid `X-Twilio-Signature` for the URL Twilio called;
behind a proxy that terminates TLS, that URL is rebuilt from X-Forwarded-Proto and the
Host header (SECURE_PROXY_SSL_HEADER), as Twilio saw it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications.services import sending as services
from notifications.views.twilio import twilio_signed


@csrf_exempt
@require_POST
def twilio_status_view(request: HttpRequest) -> HttpResponse:
    if not twilio_signed(request):
        return HttpResponse("Bad signature.", status=403)
    services.provider_status(
        provider_id=request.POST.get("MessageSid", ""),
        status=request.POST.get("MessageStatus", ""),
        error_code=request.POST.get("ErrorCode", ""),
        key=request.GET.get("key", ""),  # the message's own key, in the URL we gave Twilio
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound_view(request: HttpRequest) -> HttpResponse:
    if not twilio_signed(request):
        return HttpResponse("Bad signature.", status=403)
    services.inbound_sms(phone=request.POST.get("From", ""), body=request.POST.get("Body", ""))
    return HttpResponse("<Response/>", content_type="application/xml")
