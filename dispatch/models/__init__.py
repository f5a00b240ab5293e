"""Dispatch data, one module per idea: the fleet, orders, intake records, locations."""

from dispatch.models.fleet import Depot, Driver, Vehicle
from dispatch.models.intake import CsvImport, IdempotencyRecord, ShopifyIntegration, WebhookEvent
from dispatch.models.locations import LocationCorrection, location_key
from dispatch.models.orders import Order, OrderEvent, OrderStatus, PickupDelivery
from dispatch.models.recurring import RecurrenceException, RecurringOccurrence, RecurringOrder

__all__ = [
    "CsvImport",
    "Depot",
    "Driver",
    "IdempotencyRecord",
    "LocationCorrection",
    "Order",
    "OrderEvent",
    "OrderStatus",
    "PickupDelivery",
    "RecurrenceException",
    "RecurringOccurrence",
    "RecurringOrder",
    "ShopifyIntegration",
    "Vehicle",
    "WebhookEvent",
    "location_key",
]
