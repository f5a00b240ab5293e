"""WooCommerce as an order source (filled in by the WooCommerce work)."""

from __future__ import annotations

from dispatch.models import Order
from stores.models import WooCommerceStore
from stores.services.sources.base import StoreSource
from stores.services.sources.registry import register


class WooCommerceSource(StoreSource):
    key = Order.Source.WOOCOMMERCE
    label = "WooCommerce"

    def connection(self, store: str) -> WooCommerceStore | None:
        return WooCommerceStore.objects.filter(url=store, is_active=True).first()


register(WooCommerceSource())
