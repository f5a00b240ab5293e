"""The owner's notification settings page: which messages go, their templates written
with placeholders (chips insert them at the cursor, static/js/message_templates.js), a
live preview of each on sample data with its SMS segment count, and the error of a
template while it is typed. A refused save answers 400 with the errors on their fields."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import owner_required
from core.forms import form_add_service_errors
from notifications.models import Notification
from notifications.services import sending as services
from notifications.services.messages import (
    DEFAULTS,
    LINK_EVENTS,
    PLACEHOLDERS,
    check,
    legacy_templates,
    legacy_templates_keep,
    sample,
    sms_segments,
)
from notifications.services.messages import render as render_message
from notifications.services.placeholders import placeholders_in
from tracking.selectors import tracking_settings
from tracking.services.settings import FIELDS as TRACKING_FIELDS

EVENTS = Notification.Event.choices

#: The longest template the page saves (and previews: the preview parses what is typed).
TEMPLATE_MAX_LENGTH = 2000

#: What each placeholder stands for, shown on its chip's tooltip and in the list.
PLACEHOLDER_HELP = {
    "business": gettext_lazy("your business's name"),
    "customer_name": gettext_lazy("the customer's first name"),
    "order": gettext_lazy("the order's reference"),
    "date": gettext_lazy("the delivery day"),
    "window": gettext_lazy("the window the customer booked"),
    "eta": gettext_lazy("the expected arrival time"),
    "eta_window": gettext_lazy("the arrival window promised"),
    "tracking_link": gettext_lazy("the tracking page's address"),
    "driver_name": gettext_lazy("the driver's first name (when shown)"),
    "stops_before": gettext_lazy("how many stops before this one"),
    "reason": gettext_lazy("why a delivery failed"),
    "recipient": gettext_lazy("who took the parcel"),
}


def _field_name(key: str) -> str:
    return f"template_{key.replace('.', '_')}"


def _template_label(key: str) -> str:
    event, channel = key.split(".")
    return _("%(event)s by %(channel)s") % {
        "event": dict(EVENTS).get(event, event),
        "channel": _("SMS") if channel == "sms" else _("email"),
    }


def _validate_template(source: str) -> None:
    problems = check(source)
    if problems:
        raise ValidationError(problems)


class NotificationSettingsForm(forms.Form):
    sms_events = forms.MultipleChoiceField(
        choices=EVENTS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("By SMS"),
    )
    email_events = forms.MultipleChoiceField(
        choices=EVENTS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=gettext_lazy("By email"),
    )
    sms_sender = forms.CharField(max_length=20, required=False, label=gettext_lazy("SMS sender"))
    email_from_name = forms.CharField(
        max_length=100, required=False, label=gettext_lazy("Email from (name)")
    )
    quiet_start = forms.TimeField(
        required=False,
        label=gettext_lazy("Quiet from"),
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    quiet_end = forms.TimeField(
        required=False,
        label=gettext_lazy("Quiet until"),
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    monthly_sms_cap = forms.IntegerField(
        min_value=0, label=gettext_lazy("Monthly SMS cap (0: none)")
    )
    arriving_soon_stops = forms.IntegerField(
        min_value=0,
        max_value=20,
        label=gettext_lazy("'Arriving soon' this many stops ahead (0: off)"),
    )
    arriving_soon_minutes = forms.IntegerField(
        min_value=0, max_value=240, label=gettext_lazy("…or this many minutes ahead (0: off)")
    )
    eta_window_minutes = forms.IntegerField(
        min_value=10, max_value=240, label=gettext_lazy("Arrival window promised (minutes wide)")
    )
    eta_changes_max = forms.IntegerField(
        min_value=0, max_value=10, label=gettext_lazy("'ETA changed' at most this often per order")
    )
    order_messages_max = forms.IntegerField(
        min_value=0,
        max_value=20,
        label=gettext_lazy(
            "Messages about when it comes, at most per order, day and channel (0: no limit)"
        ),
    )
    tracking_show_map = forms.BooleanField(
        required=False, label=gettext_lazy("Tracking page: live map")
    )
    tracking_show_driver_name = forms.BooleanField(
        required=False, label=gettext_lazy("Tracking page: driver's first name")
    )
    tracking_show_stops_before = forms.BooleanField(
        required=False, label=gettext_lazy("Tracking page: stops before yours")
    )
    tracking_show_proof = forms.BooleanField(
        required=False,
        label=gettext_lazy("Tracking page: proof of delivery (photo, signature, name)"),
    )
    tracking_link_ttl_hours = forms.IntegerField(
        min_value=0,
        max_value=24 * 90,
        label=gettext_lazy("Tracking link lasts (hours after delivery)"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key in DEFAULTS:
            self.fields[_field_name(key)] = forms.CharField(
                required=False,
                max_length=TEMPLATE_MAX_LENGTH,
                validators=[_validate_template],
                widget=forms.Textarea(
                    attrs={"rows": 3, "placeholder": DEFAULTS[key], "data-template": key}
                ),
                label=_template_label(key),
            )


def _initial(row, shown) -> dict:
    initial = {
        name: getattr(shown if name in TRACKING_FIELDS else row, name)
        for name in NotificationSettingsForm.base_fields
    }
    for key in DEFAULTS:
        source = (row.templates or {}).get(key)
        if isinstance(source, str):
            initial[_field_name(key)] = source
    return initial


@owner_required
def notification_settings_view(request: HttpRequest) -> HttpResponse:
    row = services.notification_settings()
    legacy = legacy_templates(row)
    initial = _initial(row, tracking_settings())
    form = NotificationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["templates"] = {key: data.pop(_field_name(key)) for key in DEFAULTS}
        forget = {key for key in legacy if request.POST.get(f"forget_{_field_name(key)}")}
        try:
            with transaction.atomic():
                row = services.settings_update(**data)
                legacy_templates_keep(row, legacy=legacy, forget=forget)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Notification settings saved."))
            return redirect("notification-settings")
    general = [
        form[name]
        for name in NotificationSettingsForm.base_fields
        if name not in ("sms_events", "email_events")
    ]
    templates = [
        {"key": key, "field": form[_field_name(key)], "legacy": legacy.get(key, "")}
        for key in DEFAULTS
    ]
    placeholders = [(name, PLACEHOLDER_HELP[name]) for name in PLACEHOLDERS]
    return render(
        request,
        "notifications/settings.html",
        {
            "form": form,
            "templates": templates,
            "general": general,
            "placeholders": placeholders,
            # where Twilio must post the customers' replies to the business's own number
            "reply_address": request.build_absolute_uri(reverse("twilio-inbound")),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@owner_required
@require_POST
def preview_view(request: HttpRequest) -> HttpResponse:
    """A template rendered on sample data, with the SMS segment count, or what is wrong
    with it (htmx, while the owner types)."""
    key = request.POST.get("key", "")
    if key not in DEFAULTS:
        return HttpResponse(_("Unknown template."), status=400)
    own = request.POST.get(_field_name(key), "").strip()
    source = own or str(DEFAULTS[key])
    try:
        MaxLengthValidator(TEMPLATE_MAX_LENGTH)(source)
    except ValidationError as exc:  # the save's own words; not parsed
        problems = exc.messages
    else:
        problems = check(source)
    if problems:
        return render(request, "notifications/_preview.html", {"errors": problems})
    text = render_message(source, sample(), one_line=key.endswith(".sms"))
    segments, encoding = sms_segments(text) if key.endswith(".sms") else (None, None)
    no_link = (
        bool(own)
        and key.split(".")[0] in LINK_EVENTS
        and "tracking_link" not in placeholders_in(source)
    )
    return render(
        request,
        "notifications/_preview.html",
        {
            "text": text,
            "segments": segments,
            "encoding": encoding,
            "length": len(text),
            "no_link": no_link,
            "is_default": not own,
        },
    )
