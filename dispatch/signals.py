"""What the order layer announces."""

from django.dispatch import Signal

#: An order changed status (sent by `order_transition` inside its transaction): kwargs
#: `order`, `from_status`, `to_status`, `actor`, `reason`.
order_status_changed = Signal()
