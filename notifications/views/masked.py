"""Masked calls and texts (notifications.services.masking): the owner's pool of numbers
(/settings/calls/), the driver app's "Call / Text customer" (/driver/stops/<order>/masked)
and Twilio's webhooks for the pool numbers (signed: a 403 otherwise)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import owner_required, role_required
from core.forms import form_add_service_errors
from dispatch.models import Driver
from notifications.models import ProxyNumber
from notifications.services import masking
from notifications.views.twilio import twilio_webhook
from tracking.throttling import driver_throttled

TWIML = "application/xml"


# --- the owner's pool ---------------------------------------------------------------------


class ProxyNumberForm(forms.Form):
    phone = forms.CharField(
        max_length=32,
        label=gettext_lazy("Number bought at Twilio"),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )


@owner_required
def calls_settings_view(request: HttpRequest) -> HttpResponse:
    """The pool: add a number, deactivate, reactivate or remove one; the webhook URLs
    each number needs at Twilio."""
    form = ProxyNumberForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "add")
        if action == "add":
            form = ProxyNumberForm(request.POST)
            if form.is_valid():
                try:
                    proxy = masking.proxy_add(phone=form.cleaned_data["phone"])
                except ValidationError as exc:
                    form_add_service_errors(form, exc)
                else:
                    messages.success(
                        request, _("%(phone)s is in the pool.") % {"phone": proxy.phone}
                    )
                    return redirect("calls-settings")
            status = 400
        elif action in ("deactivate", "activate", "remove"):
            try:
                proxy_id = int(request.POST.get("proxy", ""))
            except ValueError:
                return _page(request, form, status=400, error=_("Choose a number of the pool."))
            try:
                if action == "remove":
                    masking.proxy_remove(proxy_id=proxy_id)
                else:
                    masking.proxy_set_active(proxy_id=proxy_id, active=action == "activate")
            except ValidationError as exc:
                return _page(request, form, status=400, error=" ".join(exc.messages))
            return redirect("calls-settings")
        else:
            return _page(request, form, status=400, error=_("Unknown action."))
    return _page(request, form, status=status)


def _page(request: HttpRequest, form: forms.Form, *, status: int, error: str = "") -> HttpResponse:
    in_use = set(masking.open_sessions().values_list("proxy_id", flat=True))
    numbers = [
        {"proxy": proxy, "in_use": proxy.pk in in_use} for proxy in ProxyNumber.objects.all()
    ]
    return render(
        request,
        "notifications/calls_settings.html",
        {
            "form": form,
            "numbers": numbers,
            "error": error,
            "voice_url": request.build_absolute_uri(reverse("twilio-masked-voice")),
            "sms_url": request.build_absolute_uri(reverse("twilio-masked-sms")),
        },
        status=status,
    )


# --- the driver app -----------------------------------------------------------------------


@role_required("driver")
@driver_throttled
@require_POST
def masked_open_view(request: HttpRequest, order_id: int) -> JsonResponse:
    """Opens (or reuses) the session for a stop of the driver's route today; answers the
    pool number to call or text ({"number"}), or a 400 saying what is missing."""
    driver = Driver.objects.filter(user=request.user, is_active=True).first()
    if driver is None:
        raise Http404("Not linked to a driver.")
    if not masking.pool_active():
        return _refused({"proxy": [_("Masked calls are not set up: call the customer directly.")]})
    try:
        session = masking.session_open(driver=driver, order_id=order_id)
    except masking.StopNotFound:
        return JsonResponse({"errors": {"stop": [_("Not a stop of your route.")]}}, status=404)
    except ValidationError as exc:
        return _refused(exc.message_dict)
    return JsonResponse(
        {
            "number": session.proxy.phone,
            "session": session.pk,
            # in UTC whether just made (a local time) or read back from the database
            "expires_at": session.expires_at.astimezone(dt.UTC).isoformat(),
        }
    )


def _refused(errors: dict[str, list[str]]) -> JsonResponse:
    message = " ".join(m for field in errors.values() for m in field)
    return JsonResponse({"errors": errors, "message": message}, status=400)


# --- Twilio's webhooks for the pool numbers -----------------------------------------------


@twilio_webhook
def masked_voice_view(request: HttpRequest) -> HttpResponse:
    """A call to a pool number: <Dial> to the other side, or a polite refusal."""
    twiml = masking.voice_answer(
        to=request.POST.get("To", ""),
        caller=request.POST.get("From", ""),
        call_sid=request.POST.get("CallSid", ""),
        action_url=request.build_absolute_uri(reverse("twilio-masked-voice-status")),
    )
    return HttpResponse(twiml, content_type=TWIML)


@twilio_webhook
def masked_voice_status_view(request: HttpRequest) -> HttpResponse:
    """How a masked call ended: <Dial>'s action (DialCallStatus, DialCallDuration), or a
    status callback (CallStatus, CallDuration). Answers TwiML that ends the call."""
    post = request.POST
    masking.call_status(
        call_sid=post.get("CallSid", ""),
        status=post.get("DialCallStatus") or post.get("CallStatus", ""),
        duration=post.get("DialCallDuration") or post.get("CallDuration"),
    )
    return HttpResponse(masking.hang_up(), content_type=TWIML)


@twilio_webhook
def masked_sms_view(request: HttpRequest) -> HttpResponse:
    """A text to a pool number: relayed to the other side, or a polite answer."""
    twiml = masking.sms_relay(
        to=request.POST.get("To", ""),
        sender=request.POST.get("From", ""),
        body=request.POST.get("Body", ""),
        message_sid=request.POST.get("MessageSid", ""),
    )
    return HttpResponse(twiml, content_type=TWIML)
