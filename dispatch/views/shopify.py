"""The owner's Shopify page: connect a store, see the webhook address and recent events."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import owner_required
from core.forms import form_add_service_errors
from dispatch.models import ShopifyIntegration, WebhookEvent
from dispatch.services import shopify


class IntegrationForm(forms.Form):
    shop_domain = forms.CharField(
        label=gettext_lazy("Store address"),
        max_length=255,
        help_text=gettext_lazy("your-store.myshopify.com"),
    )
    client_secret = forms.CharField(
        label=gettext_lazy("Client secret"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=gettext_lazy(
            "The app's API secret key, which signs the webhooks. Empty: keep the saved one."
        ),
    )


@owner_required
def shopify_view(request: HttpRequest) -> HttpResponse:
    """Connect a store (or change its secret); shows where to point its webhooks and the
    last 50 received, with what became of each."""
    form = IntegrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            integration = shopify.integration_save(**form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request, _("%(store)s is connected.") % {"store": integration.shop_domain}
            )
            return redirect("dashboard:shopify")
    return render(
        request,
        "dispatch/shopify.html",
        {
            "form": form,
            "integrations": ShopifyIntegration.objects.order_by("shop_domain"),
            "events": WebhookEvent.objects.filter(source="shopify").order_by("-received_at")[:50],
            "webhook_url": request.build_absolute_uri(reverse("api-shopify-webhooks")),
            "topics": shopify.TOPICS,
            "topic_list": format_html_join(", ", "<code>{}</code>", ((t,) for t in shopify.TOPICS)),
        },
    )


@owner_required
@require_POST
def shopify_deactivate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Disconnect a store: its webhooks are refused from now on. A store installed through
    the app is refused here, with a word to disconnect it on the Stores page."""
    try:
        integration = shopify.integration_deactivate(
            integration=get_object_or_404(ShopifyIntegration, pk=pk)
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("%(store)s is disconnected.") % {"store": integration.shop_domain}
        )
    return redirect("dashboard:shopify")
