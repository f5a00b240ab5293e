"""Orders sent by API clients (POST /api/v1/orders, one or a batch). Nothing is written
back: API clients follow their orders through outgoing webhooks (webhooks app)."""

from dispatch.models import Order
from stores.services.sources.base import OrderSource
from stores.services.sources.registry import register


class ApiSource(OrderSource):
    key = Order.Source.API
    label = "API"


register(ApiSource())
