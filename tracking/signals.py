"""Order status changes, from any source (driver app, dashboard, API), reach the
tenant's dispatchers and the order's customer once the change is committed."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from tracking.hub import dispatch_group, order_group


def on_order_status_changed(sender, *, order, from_status, to_status, actor, **kwargs) -> None:
    schema = connection.schema_name
    stop = {"type": "stop", "order": order.pk, "status": to_status, "from": from_status}
    status = {"type": "status", "status": to_status}

    def send() -> None:
        layer = get_channel_layer()
        async_to_sync(layer.group_send)(dispatch_group(schema), stop)
        async_to_sync(layer.group_send)(order_group(schema, order.pk), status)

    transaction.on_commit(send)
