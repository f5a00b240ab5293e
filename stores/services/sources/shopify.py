"""Shopify as an order source. Intake (webhooks → orders) is dispatch.services.shopify;
the app's install and the write-back are in stores.services.shopify_app and
stores.services.shopify_admin (filled in by the Shopify work)."""

from __future__ import annotations

from dispatch.models import Order, ShopifyIntegration
from stores.services.sources.base import StoreSource
from stores.services.sources.registry import register


class ShopifySource(StoreSource):
    key = Order.Source.SHOPIFY
    label = "Shopify"

    def connection(self, store: str) -> ShopifyIntegration | None:
        return ShopifyIntegration.objects.filter(shop_domain=store, is_active=True).first()

    def can_write_back(self, store: str) -> bool:
        found = self.connection(store)
        return bool(found and found.mode == ShopifyIntegration.Mode.APP and found.access_token)


register(ShopifySource())
