"""Sign-up (public host) and the owner's account pages: API keys and settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import owner_required
from config.forms import form_add_service_errors
from tenants import services
from tenants.api.views import tenant_base_url
from tenants.forms import ApiKeyForm, SignupForm, TenantSettingsForm
from tenants.models import ApiKey
from tenants.selectors import api_keys_of


def signup_view(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.tenant_provision(**form.cleaned_data, create_api_key=False)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            login_url = f"{tenant_base_url(request, result.domain.domain)}/login/"
            return render(
                request, "tenants/signup_done.html", {"result": result, "login_url": login_url}
            )
    return render(request, "tenants/signup.html", {"form": form})


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
                request, f"API key '{key.name}' created. Copy it now: it is shown once."
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
        messages.error(request, "No such API key.")
    else:
        messages.success(request, f"API key '{key.name}' is revoked.")
    return redirect("tenants:api-keys")


@owner_required
def settings_view(request: HttpRequest) -> HttpResponse:
    tenant = connection.tenant
    current = {field: getattr(tenant, field) for field in TenantSettingsForm.base_fields}
    form = TenantSettingsForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.tenant_settings_update(tenant=tenant, **form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("tenants:settings")
    return render(request, "tenants/settings.html", {"form": form, "tenant": tenant})


@owner_required
def export_view(request: HttpRequest) -> HttpResponse:
    """Everything the business keeps here, as one zip file (see tenants.lifecycle)."""
    import tempfile

    from django.http import FileResponse
    from django.utils import timezone

    from tenants.lifecycle import tenant_export

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

    from tenants.lifecycle import tenant_delete

    tenant = connection.tenant
    if request.POST.get("confirm", "").strip() != tenant.slug:
        messages.error(request, f"Type {tenant.slug} to confirm. Nothing was deleted.")
        return redirect("tenants:settings")
    name = tenant.name
    logout(request)  # the session lives in the schema about to go
    tenant_delete(tenant)
    return render(request, "tenants/deleted.html", {"name": name})
