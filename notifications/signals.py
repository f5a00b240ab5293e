"""What the notifications layer announces."""

from django.dispatch import Signal

#: The live ETA left the window the customer was promised and a new one was promised
#: (sent inside the transaction): kwargs `order`, `starts_at`, `ends_at`, `eta`, `changes`.
eta_window_changed = Signal()
