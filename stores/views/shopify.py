"""The Shopify section of the Stores page (install the app, the shops and their state,
the customers' data requests) and its actions. Rules live in stores.services.shopify_app
and dispatch.services.shopify."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import owner_required
from core.forms import flash_service_errors
from dispatch.models import ShopifyIntegration
from dispatch.services import shopify as intake
from stores.services import shopify_app
from tenants.selectors import current_tenant


class InstallForm(forms.Form):
    shop = forms.CharField(
        label=gettext_lazy("Store address"),
        max_length=255,
        help_text="your-store.myshopify.com",
        widget=forms.TextInput(attrs={"placeholder": "your-store.myshopify.com"}),
    )


def _status(integration: ShopifyIntegration) -> str:
    if integration.is_active:
        return _("Connected")
    if integration.mode == ShopifyIntegration.Mode.APP and integration.uninstalled_at:
        return _("Uninstalled")
    return _("Disconnected")


def section(request: HttpRequest) -> dict:
    """What templates/stores/_shopify.html shows."""
    integrations = list(ShopifyIntegration.objects.order_by("shop_domain"))
    installed = request.GET.get("installed", "")
    just_installed = next(
        (
            i
            for i in integrations
            if i.shop_domain == installed and i.is_active and i.mode == i.Mode.APP
        ),
        None,
    )
    return {
        "configured": shopify_app.app_configured(),
        "form": InstallForm(initial={"shop": request.GET.get("shop", "")}),
        "installed": just_installed,
        "shops": [
            {
                "integration": i,
                "status": _status(i),
                "is_app": i.mode == i.Mode.APP,
                "scopes": [scope for scope in i.scopes.split(",") if scope],
            }
            for i in integrations
        ],
        "data_requests": list(intake.data_requests()[:50]),
        "scopes": shopify_app.SCOPES,
        "scope_list": format_html_join(", ", "<code>{}</code>", ((s,) for s in shopify_app.SCOPES)),
    }


def refused_page(request: HttpRequest, reason: str) -> HttpResponse:
    """The page of an install that could not be finished (here and on the public host)."""
    return render(request, "stores/shopify_refused.html", {"reason": reason}, status=400)


def _back() -> HttpResponse:
    return redirect(reverse("stores") + "#shopify")


@owner_required
@require_POST
def install_view(request: HttpRequest) -> HttpResponse:
    """Send the owner to the shop's page that asks to install the app."""
    form = InstallForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type the store's address, like your-store.myshopify.com."))
        return _back()
    try:
        url = shopify_app.install_start(
            tenant=current_tenant(), user=request.user, shop=form.cleaned_data["shop"]
        )
    except ValidationError as exc:
        flash_service_errors(request, exc)
        return _back()
    # Not a redirect of the form's POST: the dashboard's Content-Security-Policy
    # (form-action 'self') stops a form's redirect to another site, so this page takes the
    # owner there itself (a refresh, and a link if that is blocked).
    response = render(request, "stores/shopify_to_shopify.html", {"authorize_url": url})
    response["Cache-Control"] = "no-store"  # the page holds the install's one-time state
    return response


@never_cache
@owner_required
@require_GET
def callback_view(request: HttpRequest) -> HttpResponse:
    """Shopify's redirect, sent on by the public host: the owner who started the install
    finishes it, then sees the Stores page saying so; a refusal is a page saying why."""
    try:
        integration = shopify_app.install_finish(
            request.GET, tenant=current_tenant(), user=request.user
        )
    except shopify_app.InstallRefused as exc:
        return refused_page(request, exc.reason)
    return redirect(f"{reverse('stores')}?installed={integration.shop_domain}")


@owner_required
@require_POST
def disconnect_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Disconnect a shop: an installed app is uninstalled (its token revoked at Shopify);
    a custom app's webhooks are refused from now on."""
    integration = get_object_or_404(ShopifyIntegration, pk=pk)
    try:
        integration = shopify_app.disconnect(integration=integration)
    except ValidationError as exc:
        flash_service_errors(request, exc)
    else:
        messages.success(
            request, _("%(store)s is disconnected.") % {"store": integration.shop_domain}
        )
    return _back()


@never_cache
@owner_required
@require_GET
def data_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer's data request answered: what we hold about them, as JSON to send to
    the store."""
    event = get_object_or_404(intake.data_requests(), pk=pk)
    response = JsonResponse(intake.data_request_export(event), json_dumps_params={"indent": 2})
    name = f"data-request-{event.shop_domain.split('.')[0]}-{event.pk}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("shopify/install", install_view, name="store-shopify-install"),
    path("shopify/callback", callback_view, name="store-shopify-callback"),
    path("shopify/<int:pk>/disconnect", disconnect_view, name="store-shopify-disconnect"),
    path(
        "shopify/data-requests/<int:pk>.json",
        data_request_view,
        name="store-shopify-data-request",
    ),
]
