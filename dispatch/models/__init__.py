"""Dispatch data, one module per idea: the fleet, orders, intake records."""

from dispatch.models.fleet import Depot, Driver, Vehicle
from dispatch.models.intake import CsvImport, IdempotencyRecord, ShopifyIntegration, WebhookEvent
from dispatch.models.orders import Order, OrderEvent, OrderStatus

__all__ = [
    "CsvImport",
    "Depot",
    "Driver",
    "IdempotencyRecord",
    "Order",
    "OrderEvent",
    "OrderStatus",
    "ShopifyIntegration",
    "Vehicle",
    "WebhookEvent",
]
