"""Sign-up (public host) and the owner's account pages: API keys and settings."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import owner_required
from core.forms import form_add_service_errors
from geo.selectors import regions
from tenants.api.views import tenant_base_url
from tenants.forms import (
    ApiKeyForm,
    DispatchSettingsForm,
    RoadsForm,
    RushHourFormSet,
    SignupForm,
    TenantSettingsForm,
)
from tenants.models import ApiKey
from tenants.selectors import api_keys_of, travel_source
from tenants.services import provisioning as services
from tenants.services import roads as roads_services
from tenants.services.handover import (
    EXPIRED,
    HANDOVER_LIFETIME,
    NOT_VALID,
    SPENT,
    HandoverRefused,
    handover_check,
    handover_create,
    handover_redeem,
)
from tenants.services.zones import (
    country_from_accept_language,
    zone_aliases,
    zone_of_country,
    zones_by_country,
)
from tenants.throttling import SignupGlobalRateThrottle, SignupRateThrottle, throttle_wait


def signup_view(request: HttpRequest) -> HttpResponse:
    """The sign-up form (public host). Once the account exists, the page sends the owner
    on to their own host with a one-time sign-in (tenants.services.handover)."""
    country = country_from_accept_language(request.headers.get("Accept-Language", ""))
    form = SignupForm(
        request.POST or None, initial={"country": country, "time_zone": zone_of_country(country)}
    )
    # the API's counters. Every try counts for its address (SIGNUP_RATE), and one refused
    # there stops here; only a valid form counts for everyone (SIGNUP_GLOBAL_RATE), so no
    # one address, refused or sending invalid forms, uses that up for the others
    wait_s = throttle_wait(request, [SignupRateThrottle]) if request.method == "POST" else None
    if wait_s is None and request.method == "POST" and form.is_valid():
        wait_s = throttle_wait(request, [SignupGlobalRateThrottle])
    if wait_s is not None:
        minutes = max(1, math.ceil(wait_s / 60))
        response = render(request, "tenants/signup_limited.html", {"minutes": minutes}, status=429)
        response["Retry-After"] = str(math.ceil(wait_s))
        return response
    if request.method == "POST" and form.is_valid():
        try:
            result = services.tenant_provision(**form.cleaned_data, create_api_key=False)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            base = tenant_base_url(request, result.domain.domain)
            token = handover_create(tenant=result.tenant, email=result.owner_email)
            context = {
                "result": result,
                "login_url": f"{base}/login/",
                "handover_url": f"{base}/login/handover/{token}",
                "handover_minutes": int(HANDOVER_LIFETIME.total_seconds() // 60),
            }
            response = render(request, "tenants/signup_done.html", context)
            response["Cache-Control"] = "no-store"  # the page holds the one-time link
            return response
    # what the page's script needs to pick the zone: the browser's, or the country's
    hints = {"countries": zones_by_country(), "aliases": zone_aliases()}
    return render(request, "tenants/signup.html", {"form": form, "zone_hints": hints})


HANDOVER_REFUSALS = {
    NOT_VALID: gettext_lazy("This sign-in link is not valid for this address."),
    SPENT: gettext_lazy("This sign-in link has already been used."),
    EXPIRED: gettext_lazy("This sign-in link has expired."),
}


@never_cache
@require_http_methods(["GET", "POST"])
def handover_view(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time sign-in made at sign-up, on the new tenant's host. GET shows whom it
    signs in, without spending it (link previewers and prefetches fetch links); the
    owner's POST from that page spends it and signs them in. Refusals are a 404 (not
    a link of this host) or a 410 (used, expired), never a sign-in."""
    tenant = connection.tenant
    try:
        if request.method == "POST":
            user = handover_redeem(tenant=tenant, token=token)
        else:
            user = handover_check(tenant=tenant, token=token)
    except HandoverRefused as refused:
        response = render(
            request,
            "tenants/handover_refused.html",
            {"tenant": tenant, "message": HANDOVER_REFUSALS[refused.reason]},
            status=refused.status,
        )
    else:
        if request.method == "POST":
            request.login_via = "sign-up handover"  # for the audit log's sign-in event
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(settings.LOGIN_REDIRECT_URL)
        response = render(request, "tenants/handover.html", {"tenant": tenant, "user": user})
    # The address holds the token: it goes to no other site in a Referer. (Not
    # "no-referrer": the page's form would send "Origin: null", which CSRF refuses.)
    response["Referrer-Policy"] = "same-origin"
    return response


NEW_KEY_SESSION = "new_api_key"


@owner_required
def api_keys_view(request: HttpRequest) -> HttpResponse:
    """List and create keys. A new key's secret is shown on the next page view only.

    The POST redirects (so a reload cannot create a second key), carrying the secret in
    the session, from which the page takes it once.
    """
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            key, secret = services.api_key_create(
                tenant=connection.tenant, created_by_email=request.user.email, **form.cleaned_data
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            request.session[NEW_KEY_SESSION] = secret
            messages.success(
                request,
                _("API key '%(name)s' created. Copy it now: it is shown once.")
                % {"name": key.name},
            )
            return redirect("tenants:api-keys")
    return render(
        request,
        "tenants/api_keys.html",
        {
            "form": form,
            "keys": api_keys_of(tenant=connection.tenant),
            "created_secret": request.session.pop(NEW_KEY_SESSION, None),
        },
    )


@owner_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = services.api_key_revoke(tenant=connection.tenant, key_id=key_id)
    except ApiKey.DoesNotExist:
        messages.error(request, _("No such API key."))
    else:
        messages.success(request, _("API key '%(name)s' is revoked.") % {"name": key.name})
    return redirect("tenants:api-keys")


@owner_required
def settings_view(request: HttpRequest) -> HttpResponse:
    tenant = connection.tenant
    current = {field: getattr(tenant, field) for field in TenantSettingsForm.base_fields}
    # two forms on one page: the one whose button was pressed is the one bound
    dispatch_post = request.method == "POST" and request.POST.get("section") == "dispatch"
    account_post = request.method == "POST" and not dispatch_post
    form = TenantSettingsForm(request.POST if account_post else None, initial=current)
    dispatch_form = DispatchSettingsForm(
        request.POST if dispatch_post else None,
        initial={
            "auto_dispatch": tenant.auto_dispatch,
            "auto_plan": tenant.auto_plan_at is not None,
            "auto_plan_at": tenant.auto_plan_at,
        },
    )
    if account_post and form.is_valid():
        try:
            services.tenant_settings_update(tenant=tenant, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("tenants:settings")
    if dispatch_post and dispatch_form.is_valid():
        data = dispatch_form.cleaned_data
        try:
            services.tenant_dispatch_update(
                tenant=tenant,
                auto_dispatch=data["auto_dispatch"],
                auto_plan_at=data["auto_plan_at"],
            )
        except ValidationError as exc:
            form_add_service_errors(dispatch_form, exc)
        else:
            messages.success(request, _("Dispatch settings saved."))
            return redirect(f"{request.path}#dispatch")
    context = {"form": form, "dispatch_form": dispatch_form, "tenant": tenant}
    return render(request, "tenants/settings.html", context)


@owner_required
def roads_view(request: HttpRequest) -> HttpResponse:
    """Where the business's travel times come from, and its rush hours."""
    tenant = connection.tenant
    current = (tenant.road_region, tenant.road_profile)
    form = RoadsForm(request.POST or None, current=current)
    rush = RushHourFormSet(request.POST or None, initial=tenant.rush_hours, prefix="rush")
    if request.method == "POST" and form.is_valid() and rush.is_valid():
        region, profile = form.region_and_profile()
        rows = [row for row in (f.as_row() for f in rush.forms) if row is not None]
        try:
            roads_services.tenant_roads_update(
                tenant=tenant, region=region, profile=profile, rush_hours=rows
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error("road" if field.startswith("road") else None, error)
        else:
            messages.success(request, _("Roads saved: new plans and arrival times use them."))
            return redirect("tenants:roads")
    context = {
        "form": form,
        "rush": rush,
        "source": travel_source(tenant),
        "regions": regions(),
        "provider": settings.ROUTING_MATRIX_PROVIDER,
    }
    return render(request, "tenants/roads.html", context)


@owner_required
def export_view(request: HttpRequest) -> HttpResponse:
    """Everything the business keeps here, as one zip file (see tenants.services.lifecycle)."""
    import tempfile

    from django.http import FileResponse
    from django.utils import timezone

    from tenants.services.lifecycle import tenant_export

    tenant = connection.tenant
    spool = tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024)  # noqa: SIM115
    tenant_export(tenant, spool)  # audited there (the command's exports too)
    spool.seek(0)
    name = f"{tenant.slug}-export-{timezone.localdate():%Y-%m-%d}.zip"
    return FileResponse(spool, as_attachment=True, filename=name, content_type="application/zip")


@owner_required
@require_POST
def delete_view(request: HttpRequest) -> HttpResponse:
    """Delete the business and everything it keeps here; the owner types its address
    name to confirm. There is no undo."""
    from django.contrib.auth import logout

    from tenants.services.lifecycle import tenant_delete

    tenant = connection.tenant
    if request.POST.get("confirm", "").strip() != tenant.slug:
        messages.error(
            request, _("Type %(slug)s to confirm. Nothing was deleted.") % {"slug": tenant.slug}
        )
        return redirect("tenants:settings")
    name = tenant.name
    logout(request)  # the session lives in the schema about to go
    tenant_delete(tenant)
    return render(request, "tenants/deleted.html", {"name": name})
