"""What the order layer announces."""

from django.dispatch import Signal

#: An order changed status (sent by `order_transition` inside its transaction): kwargs
#: `order`, `from_status`, `to_status`, `actor`, `reason`.
order_status_changed = Signal()

#: Orders were created (sent by `orders_create` inside its transaction, once per batch):
#: kwargs `order_ids`.
orders_created = Signal()

#: Orders got coordinates (sent by geocoding when it finds them, and by `order_update`
#: inside its transaction when an order is given coordinates by hand, or new ones):
#: kwargs `order_ids`.
orders_located = Signal()

#: An order's delivery day or time windows changed (sent by `order_update` inside its
#: transaction): kwargs `order`, `old_date`, `old_windows`, `actor`.
order_rescheduled = Signal()

#: Orders' personal data was erased (a store's customers/redact or shop/redact): kwargs
#: `order_ids`. Every app that keeps personal data about an order forgets it too.
orders_redacted = Signal()

#: A store stopped being connected for good (a Shopify app uninstalled, by the shop or by
#: the owner): kwargs `platform` ("shopify"), `store` (its domain). What was still to be
#: written back to it is dropped (stores.receivers).
store_disconnected = Signal()
