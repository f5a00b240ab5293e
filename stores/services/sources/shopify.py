"""Shopify as an order source. Intake (webhooks → orders) is dispatch.services.shopify;
the app's install is stores.services.shopify_app; the write-back is here, through the
Admin GraphQL API (stores.services.shopify_admin) and Shopify's fulfillment orders.

What is written, for an app-installed shop (a custom-app shop has no token: nothing):

- the route sets off (SET_OFF): the order is fulfilled, once: every line still to ship
  (of fulfillment orders that can be fulfilled) in one fulfilment carrying our tracking
  link, the tenant's name as the carrier and our label's code as the number, with
  `notifyCustomer` so the shop's own shipping email carries the link; then an
  OUT_FOR_DELIVERY event on it;
- delivered (DELIVERED): the fulfilment made sure of as above, then a DELIVERED event;
- failed (FAILED): the fulfilment made sure of, then an ATTEMPTED_DELIVERY event with the
  driver's reason. Shopify's enum says ATTEMPTED_DELIVERY is "a delivery was attempted"
  and FAILURE "the fulfillment request failed": the driver tried the door and the parcel
  comes back to be tried again, which is the first; nothing failed on the fulfilment.

Idempotent without trusting our own records: each write-back reads the order first. A
fulfilment already carrying our tracking link (a try whose answer was lost) is adopted,
not made again; an event is not added when the fulfilment's newest event already has
that status (DELIVERED: when it has one at all), so a repeat adds nothing while a second
set-off after a failed attempt is still told.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from dispatch.models import Order, OrderStatus, ShopifyIntegration
from dispatch.selectors.codes import label_code
from notifications.services.sending import tracking_url
from stores.models import WriteBack
from stores.services import deadline, shopify_admin
from stores.services.sources.base import PermanentError, StoreSource
from stores.services.sources.registry import register
from tenants.selectors import current_tenant

ORDER_QUERY = """
query OrderForWriteBack($id: ID!) {
  order(id: $id) {
    id
    cancelledAt
    fulfillmentOrders(first: 20) {
      nodes {
        id
        status
        supportedActions { action }
        lineItems(first: 100) {
          nodes {
            id
            remainingQuantity
            totalQuantity
            lineItem { id requiresShipping }
          }
        }
      }
    }
    fulfillments(first: 50) {
      id
      status
      trackingInfo(first: 5) { company number url }
      events(last: 20) { nodes { status } }
    }
  }
}
"""

FULFIL_MUTATION = """
mutation FulfilForWriteBack($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""

EVENT_MUTATION = """
mutation EventForWriteBack($fulfillmentEvent: FulfillmentEventInput!) {
  fulfillmentEventCreate(fulfillmentEvent: $fulfillmentEvent) {
    fulfillmentEvent { id status }
    userErrors { field message }
  }
}
"""

#: Fulfillment orders a fulfilment can be made from (and that we leave alone otherwise:
#: ON_HOLD and SCHEDULED are the merchant's to release; CLOSED and CANCELLED are done).
FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})
#: The event each write-back adds to the fulfilment.
EVENT_OF = {
    WriteBack.Action.SET_OFF: "OUT_FOR_DELIVERY",
    WriteBack.Action.DELIVERED: "DELIVERED",
    WriteBack.Action.FAILED: "ATTEMPTED_DELIVERY",
}


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if isinstance(connection, dict):
        return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]
    return [n for n in connection or [] if isinstance(n, dict)]


def _order_gid(order: Order) -> str:
    shopify_id = order.external_id.strip()
    if not shopify_id.isdigit():
        raise PermanentError(f"The order's Shopify id ({shopify_id or 'none'}) is not one.")
    return f"gid://shopify/Order/{shopify_id}"


#: The order's own status whose time (and reason) an event carries.
STATUS_OF = {
    WriteBack.Action.SET_OFF: OrderStatus.EN_ROUTE,
    WriteBack.Action.DELIVERED: OrderStatus.DELIVERED,
    WriteBack.Action.FAILED: OrderStatus.FAILED,
}


def _when_and_why(order: Order, action: str) -> tuple[dt.datetime, str]:
    """When it happened (the order's newest change to that status: a retry hours later
    still tells the right time) and the reason given. A set-off counts only when the
    order went en route after it was last given to a driver: another order's set-off, or
    a rebooked order still waiting in the van, is now."""
    statuses = [STATUS_OF[action]]
    if action == WriteBack.Action.SET_OFF:
        statuses.append(OrderStatus.DISPATCHED)
    last = (
        order.events.filter(to_status__in=statuses)
        .order_by("-created_at", "-id")
        .values_list("to_status", "created_at", "reason")
        .first()
    )
    if last is None or last[0] != STATUS_OF[action]:
        return timezone.now(), ""
    return last[1], last[2]


def _graphql(integration: ShopifyIntegration, query: str, variables: dict) -> dict[str, Any]:
    """A call to the shop, not started once the write-back's try ran out of time."""
    deadline.check()
    return shopify_admin.graphql(integration, query, variables)


def _check(payload: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """A mutation's payload, or PermanentError with Shopify's own words."""
    errors = shopify_admin.user_errors(payload)
    if errors:
        raise PermanentError(f"Shopify refused the {what}: {'; '.join(errors)[:300]}")
    return payload or {}


class ShopifySource(StoreSource):
    key = Order.Source.SHOPIFY
    label = "Shopify"

    def connection(self, store: str) -> ShopifyIntegration | None:
        return ShopifyIntegration.objects.filter(shop_domain=store, is_active=True).first()

    def can_write_back(self, store: str) -> bool:
        found = self.connection(store)
        return bool(found and found.mode == ShopifyIntegration.Mode.APP and found.access_token)

    # --- the write-back ----------------------------------------------------------------

    def write_back(self, action: str, order: Order, *, store: str, state: dict) -> dict:
        integration = self.connection(store)
        if integration is None or integration.mode != ShopifyIntegration.Mode.APP:
            raise PermanentError("The shop is not connected through the app any more.")
        shop_order = self._read(integration, order)
        link = tracking_url(order)
        fulfillment = self._ours(shop_order, link, label_code(order), state.get("fulfillment_id"))
        if fulfillment is None:
            # every write-back makes sure of the fulfilment: the parcel left with the van
            # even when the set-off's own write-back has not got through yet
            fulfillment = self._fulfil(integration, order, shop_order, link)
            if fulfillment is None:
                return {"note": "Nothing left to ship in Shopify: nothing was fulfilled."}
        kept = {"fulfillment_id": fulfillment["id"]}
        status = EVENT_OF[action]
        events = [e.get("status") for e in _nodes(fulfillment.get("events"))]
        if "DELIVERED" in events:
            return kept  # delivered is the last word: nothing after it, nothing twice
        if events and events[-1] == status:
            return kept  # told already (a repeat, or an answer that was lost)
        happened_at, reason = _when_and_why(order, action)
        message = ""
        if action == WriteBack.Action.FAILED:
            message = reason or "The delivery could not be made."
        self._event(integration, fulfillment["id"], status, happened_at, message)
        return kept

    def _read(self, integration: ShopifyIntegration, order: Order) -> dict[str, Any]:
        data = _graphql(integration, ORDER_QUERY, {"id": _order_gid(order)})
        shop_order = data.get("order")
        if not isinstance(shop_order, dict):
            raise PermanentError("The order is not in Shopify any more (deleted there).")
        return shop_order

    @staticmethod
    def _ours(
        shop_order: dict, link: str, number: str, known_id: str | None
    ) -> dict[str, Any] | None:
        """Our fulfilment of the order: the one a write-back kept, else the one carrying our
        tracking link or our label's number (made by a try whose answer was lost; the
        number too, should Shopify write the link back another way). Cancelled ones do
        not count."""
        live = [
            f
            for f in _nodes(shop_order.get("fulfillments"))
            if str(f.get("status") or "").upper() not in ("CANCELLED", "ERROR", "FAILURE")
        ]
        for f in live:
            if known_id and f.get("id") == known_id:
                return f
        for f in live:
            for tracking in _nodes(f.get("trackingInfo")):
                url = str(tracking.get("url") or "").rstrip("/")
                if url == link.rstrip("/") or tracking.get("number") == number:
                    return f
        return None

    def _fulfil(
        self, integration: ShopifyIntegration, order: Order, shop_order: dict, link: str
    ) -> dict[str, Any] | None:
        """One fulfilment of every line still to ship; None when there is none."""
        if shop_order.get("cancelledAt"):
            raise PermanentError(
                "The order was cancelled in Shopify: nothing is fulfilled (take the parcel "
                "off the van)."
            )
        groups = []
        for fo in _nodes(shop_order.get("fulfillmentOrders")):
            actions = {a.get("action") for a in fo.get("supportedActions") or []}
            if fo.get("status") not in FULFILLABLE or "CREATE_FULFILLMENT" not in actions:
                continue
            lines = [
                {"id": line["id"], "quantity": int(line.get("remainingQuantity") or 0)}
                for line in _nodes(fo.get("lineItems"))
                if int(line.get("remainingQuantity") or 0) > 0
                and (line.get("lineItem") or {}).get("requiresShipping", True)
            ]
            if lines:
                groups.append({"fulfillmentOrderId": fo["id"], "fulfillmentOrderLineItems": lines})
        if not groups:
            return None
        data = _graphql(
            integration,
            FULFIL_MUTATION,
            {
                "fulfillment": {
                    "lineItemsByFulfillmentOrder": groups,
                    "trackingInfo": {
                        "company": current_tenant().name,
                        "number": label_code(order),
                        "url": link,
                    },
                    "notifyCustomer": True,
                }
            },
        )
        payload = _check(data.get("fulfillmentCreate"), "fulfilment")
        made = payload.get("fulfillment") or {}
        if not made.get("id"):
            raise PermanentError("Shopify made no fulfilment and said no reason.")
        return {"id": made["id"], "events": {"nodes": []}}

    def _event(
        self,
        integration: ShopifyIntegration,
        fulfillment_id: str,
        status: str,
        happened_at: dt.datetime,
        message: str,
    ) -> None:
        event: dict[str, Any] = {
            "fulfillmentId": fulfillment_id,
            "status": status,
            "happenedAt": happened_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        }
        if message:
            event["message"] = message[:255]
        data = _graphql(integration, EVENT_MUTATION, {"fulfillmentEvent": event})
        _check(data.get("fulfillmentEventCreate"), "delivery event")

    def record_error(self, store: str, message: str) -> None:
        ShopifyIntegration.objects.filter(shop_domain=store).update(
            last_error=message[:500], last_error_at=timezone.now()
        )


register(ShopifySource())
