"""The owner's Brand page (`/settings/brand/`): the logo, the brand and accent colours, a
live preview of the tracking page's header, an email and the driver app's header, and the
business's own host for its tracking page. The logo is served on the tenant's host at
`/settings/brand/logo/<hash>.png` to its signed-in people (the driver app, this page)."""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.decorators import owner_required
from core.forms import form_add_service_errors
from tenants.services.tracking_host import tracking_host_of, tracking_host_set
from tracking.selectors import tracking_settings
from tracking.services.brand import (
    LOGO_BOX,
    MIN_CONTRAST,
    TEXT_DARK,
    TEXT_LIGHT,
    brand_update,
    contrast_ratio,
    current_brand,
    logo_response,
    ratio_text,
    text_on,
)

_COLOUR = forms.TextInput(attrs={"type": "color", "class": "brand-colour"})


class BrandForm(forms.Form):
    brand_colour = forms.CharField(
        max_length=7,
        label=_("Brand colour"),
        widget=_COLOUR,
        help_text=_("The header of your tracking page, your emails and the driver app."),
    )
    accent_colour = forms.CharField(
        max_length=7,
        label=_("Accent colour"),
        widget=_COLOUR,
        help_text=_("Buttons and the driver's path on the map."),
    )
    logo = forms.FileField(
        required=False,
        label=_("Logo"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(required=False, label=_("Remove the logo"))


class TrackingHostForm(forms.Form):
    tracking_host = forms.CharField(
        max_length=253,
        required=False,
        label=_("Your own address for the tracking page"),
        widget=forms.TextInput(attrs={"placeholder": "track.your-shop.com"}),
    )


def brand_url(brand) -> str:
    """The logo's address on the tenant's host ("" without a logo)."""
    if not brand.logo:
        return ""
    return reverse("brand-logo", kwargs={"digest": brand.logo_hash})


@owner_required
def brand_settings_view(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    row = tracking_settings()
    brand_form = BrandForm(
        initial={"brand_colour": row.brand_colour, "accent_colour": row.accent_colour}
    )
    host_form = TrackingHostForm(initial={"tracking_host": tracking_host_of(tenant)})
    status = 200
    if request.method == "POST" and request.POST.get("form") == "host":
        host_form = TrackingHostForm(request.POST)
        if host_form.is_valid() and settings.TRACKING_CUSTOM_HOSTS:
            try:
                tracking_host_set(tenant=tenant, host=host_form.cleaned_data["tracking_host"])
            except ValidationError as exc:
                form_add_service_errors(host_form, exc)
            else:
                messages.success(request, _("Tracking address saved."))
                return redirect("brand-settings")
        status = 400
    elif request.method == "POST":
        brand_form = BrandForm(request.POST, request.FILES)
        if brand_form.is_valid():
            data = brand_form.cleaned_data
            try:
                brand_update(
                    schema=tenant.schema_name,
                    brand_colour=data["brand_colour"],
                    accent_colour=data["accent_colour"],
                    logo=data["logo"] or None,
                    remove_logo=data["remove_logo"],
                )
            except ValidationError as exc:
                form_add_service_errors(brand_form, exc)
            else:
                messages.success(request, _("Brand saved."))
                return redirect("brand-settings")
        status = 400
    brand = current_brand(business=tenant.name)
    if brand_form.is_bound:  # the preview shows the colours tried, the logo as it is
        colour = _tried(brand_form.data.get("brand_colour"), brand.colour)
        accent = _tried(brand_form.data.get("accent_colour"), brand.accent)
        brand = dataclasses.replace(
            brand,
            colour=colour,
            colour_text=text_on(colour),
            accent=accent,
            accent_text=text_on(accent),
        )
    host = tracking_host_of(tenant)
    return render(
        request,
        "tracking/brand_settings.html",
        {
            "brand_form": brand_form,
            "host_form": host_form,
            "brand": brand,
            "logo_url": brand_url(current_brand(business=tenant.name)),
            "logo_box": LOGO_BOX,
            "min_contrast": MIN_CONTRAST,
            "text_light": TEXT_LIGHT,
            "text_dark": TEXT_DARK,
            "custom_hosts": settings.TRACKING_CUSTOM_HOSTS,
            "tracking_host": host,
            # what a CNAME names: the host customers reach the platform at, no port
            "platform_host": urlsplit(settings.PUBLIC_BASE_URL).hostname or settings.PUBLIC_HOST,
            "contrast": {
                "brand": _ratio(brand.colour),
                "accent": _ratio(brand.accent),
            },
        },
        status=status,
    )


def _tried(value: object, fallback: str) -> str:
    """A colour posted, if it is one (it goes into the preview's styles), else `fallback`."""
    if isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
        return value.strip().lower()
    return fallback


def _ratio(colour: str) -> str:
    return ratio_text(contrast_ratio(colour, text_on(colour)))


@login_required
def brand_logo_view(request: HttpRequest, digest: str) -> HttpResponse:
    """The logo on the tenant's own host, for its signed-in people (the driver app's
    header, the Brand page): only this tenant's, the host deciding the schema."""
    return logo_response(current_brand(business=request.tenant.name), digest)
