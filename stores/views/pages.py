"""The owner's Stores page: every store platform's section on one page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.decorators import owner_required
from stores.views import shopify, woocommerce, writebacks


@owner_required
def stores_view(request: HttpRequest) -> HttpResponse:
    """Connect Shopify and WooCommerce stores; see what each sent and what was written back."""
    return render(
        request,
        "stores/stores.html",
        {
            "shopify": shopify.section(request),
            "woocommerce": woocommerce.section(request),
            "writebacks": writebacks.section(request),
        },
    )
