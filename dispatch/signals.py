"""What the order layer announces."""

from django.dispatch import Signal

#: An order changed status (sent by `order_transition` inside its transaction): kwargs
#: `order`, `from_status`, `to_status`, `actor`, `reason`.
order_status_changed = Signal()

#: Orders were created (sent by `orders_create` inside its transaction, once per batch):
#: kwargs `order_ids`.
orders_created = Signal()
