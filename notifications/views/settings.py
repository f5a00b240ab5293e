"""The owner's notification settings page, with a live preview of each template on
sample data and its SMS segment count."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import owner_required
from core.forms import form_add_service_errors
from notifications.models import Notification
from notifications.services import sending as services
from notifications.services.messages import DEFAULTS, SAMPLE, sms_segments
from notifications.services.messages import render as render_message
from tracking.selectors import tracking_settings
from tracking.services.settings import FIELDS as TRACKING_FIELDS

EVENTS = Notification.Event.choices


class NotificationSettingsForm(forms.Form):
    sms_events = forms.MultipleChoiceField(
        choices=EVENTS, required=False, widget=forms.CheckboxSelectMultiple, label="By SMS"
    )
    email_events = forms.MultipleChoiceField(
        choices=EVENTS, required=False, widget=forms.CheckboxSelectMultiple, label="By email"
    )
    sms_sender = forms.CharField(max_length=20, required=False, label="SMS sender")
    email_from_name = forms.CharField(max_length=100, required=False, label="Email from (name)")
    brand_colour = forms.CharField(max_length=7, label="Brand colour")
    quiet_start = forms.TimeField(
        required=False, label="Quiet from", widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        required=False, label="Quiet until", widget=forms.TimeInput(attrs={"type": "time"})
    )
    monthly_sms_cap = forms.IntegerField(min_value=0, label="Monthly SMS cap (0: none)")
    arriving_soon_stops = forms.IntegerField(
        min_value=0, max_value=20, label="'Arriving soon' this many stops ahead (0: off)"
    )
    arriving_soon_minutes = forms.IntegerField(
        min_value=0, max_value=240, label="…or this many minutes ahead (0: off)"
    )
    eta_window_minutes = forms.IntegerField(
        min_value=10, max_value=240, label="Arrival window promised (minutes wide)"
    )
    eta_changes_max = forms.IntegerField(
        min_value=0, max_value=10, label="'ETA changed' at most this often per order"
    )
    order_messages_max = forms.IntegerField(
        min_value=0,
        max_value=20,
        label="Messages about when it comes, at most per order, day and channel (0: no limit)",
    )
    tracking_show_map = forms.BooleanField(required=False, label="Tracking page: live map")
    tracking_show_driver_name = forms.BooleanField(
        required=False, label="Tracking page: driver's first name"
    )
    tracking_show_stops_before = forms.BooleanField(
        required=False, label="Tracking page: stops before yours"
    )
    tracking_show_proof = forms.BooleanField(
        required=False, label="Tracking page: proof of delivery (photo, signature, name)"
    )
    tracking_link_ttl_hours = forms.IntegerField(
        min_value=0, max_value=24 * 90, label="Tracking link lasts (hours after delivery)"
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key in DEFAULTS:
            self.fields[f"template_{key.replace('.', '_')}"] = forms.CharField(
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "placeholder": DEFAULTS[key]}),
                label=key,
            )


def _initial(row, shown) -> dict:
    initial = {
        name: getattr(shown if name in TRACKING_FIELDS else row, name)
        for name in NotificationSettingsForm.base_fields
    }
    for key, source in (row.templates or {}).items():
        initial[f"template_{key.replace('.', '_')}"] = source
    return initial


@owner_required
def notification_settings_view(request: HttpRequest) -> HttpResponse:
    row = services.notification_settings()
    initial = _initial(row, tracking_settings())
    form = NotificationSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["templates"] = {key: data.pop(f"template_{key.replace('.', '_')}") for key in DEFAULTS}
        try:
            services.settings_update(**data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Notification settings saved.")
            return redirect("notification-settings")
    general = [
        form[name]
        for name in NotificationSettingsForm.base_fields
        if name not in ("sms_events", "email_events")
    ]
    templates = [(key, form[f"template_{key.replace('.', '_')}"]) for key in DEFAULTS]
    return render(
        request,
        "notifications/settings.html",
        {"form": form, "templates": templates, "general": general},
    )


@owner_required
@require_POST
def preview_view(request: HttpRequest) -> HttpResponse:
    """A template rendered on sample data, with the SMS segment count (htmx)."""
    key = request.POST.get("key", "")
    if key not in DEFAULTS:
        return HttpResponse("Unknown template.", status=400)
    source = request.POST.get(f"template_{key.replace('.', '_')}", "").strip() or DEFAULTS[key]
    try:
        text = render_message(source, SAMPLE, one_line=key.endswith(".sms"))
    except ValueError as exc:
        return render(request, "notifications/_preview.html", {"error": str(exc)})
    segments, encoding = sms_segments(text) if key.endswith(".sms") else (None, None)
    return render(
        request,
        "notifications/_preview.html",
        {"text": text, "segments": segments, "encoding": encoding, "length": len(text)},
    )
