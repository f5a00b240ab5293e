"""The WooCommerce section of the Stores page (connect, status, errors) and its actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import owner_required
from core.forms import form_add_service_errors
from dispatch.models import WebhookEvent
from stores.models import WooCommerceStore
from stores.services import woocommerce
from stores.views import shopify


def _secret(label: Any, help_text: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=255,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=help_text,
    )


class StoreForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Store address"),
        max_length=255,
        help_text=gettext_lazy("As WordPress shows it under Settings → General → Site Address."),
        widget=forms.TextInput(attrs={"placeholder": "https://shop.example.com"}),
    )
    consumer_key = _secret(
        gettext_lazy("Consumer key"), gettext_lazy("ck_…  Empty: keep the saved one.")
    )
    consumer_secret = _secret(
        gettext_lazy("Consumer secret"), gettext_lazy("cs_…  Empty: keep the saved one.")
    )
    webhook_secret = _secret(
        gettext_lazy("Webhook secret"),
        gettext_lazy("The secret you gave the webhooks. Empty: keep the saved one."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("id", f"woocommerce-{name.replace('_', '-')}")


def section(request: HttpRequest, form: StoreForm | None = None) -> dict:
    """What the Stores page shows of WooCommerce: how to connect, the stores, the form,
    and the last 20 webhooks received."""
    return {
        "form": form or StoreForm(),
        "stores": WooCommerceStore.objects.order_by("url"),
        "events": WebhookEvent.objects.filter(source=woocommerce.PLATFORM).order_by("-received_at")[
            :20
        ],
        "webhook_url": request.build_absolute_uri(reverse("api-woocommerce-webhooks")),
    }


@owner_required
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    """Connect a store, or change its keys or secret."""
    form = StoreForm(request.POST)
    if form.is_valid():
        try:
            store = woocommerce.store_save(**form.cleaned_data)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, _("%(store)s is connected.") % {"store": store.url})
            return redirect(f"{reverse('stores')}#woocommerce")
    context = {"shopify": shopify.section(request), "woocommerce": section(request, form)}
    return render(request, "stores/stores.html", context, status=400)


@owner_required
@require_POST
def disconnect_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Disconnect a store: its webhooks are refused and nothing more is written back."""
    store = woocommerce.store_disconnect(store=get_object_or_404(WooCommerceStore, pk=pk))
    messages.success(request, _("%(store)s is disconnected.") % {"store": store.url})
    return redirect(f"{reverse('stores')}#woocommerce")


@owner_required
@require_POST
def check_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Try the store's API keys now and say what the store answered."""
    worked, answer = woocommerce.store_check(store=get_object_or_404(WooCommerceStore, pk=pk))
    (messages.success if worked else messages.error)(request, answer)
    return redirect(f"{reverse('stores')}#woocommerce")


urlpatterns = [
    path("woocommerce/", save_view, name="store-woocommerce-save"),
    path("woocommerce/<int:pk>/disconnect/", disconnect_view, name="store-woocommerce-disconnect"),
    path("woocommerce/<int:pk>/check/", check_view, name="store-woocommerce-check"),
]
