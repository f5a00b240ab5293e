"""Order status changes, from any source (driver app, dashboard, API), reach the
tenant's dispatchers and the order's customer once the change is committed."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.dispatch import receiver

from dispatch.signals import order_status_changed
from tracking.services.day import next_seq
from tracking.services.hub import dispatch_group, order_group

_sending: set[asyncio.Task] = set()  # keeps scheduled broadcasts alive until they finish


@receiver(order_status_changed, dispatch_uid="tracking-broadcast")
def on_order_status_changed(sender, *, order, from_status, to_status, actor, **kwargs) -> None:
    schema = connection.schema_name
    seq = next_seq()
    stop = {"type": "stop", "order": order.pk, "status": to_status, "from": from_status, "seq": seq}
    status = {"type": "status", "status": to_status, "seq": seq}

    async def broadcast() -> None:
        layer = get_channel_layer()
        await layer.group_send(dispatch_group(schema), stop)
        await layer.group_send(order_group(schema, order.pk), status)

    def send() -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a sync thread (a request, a task, a consumer's ORM call)
            async_to_sync(broadcast)()
        else:  # called on an event loop's own thread: do not block it
            task = loop.create_task(broadcast())
            _sending.add(task)
            task.add_done_callback(_sending.discard)

    transaction.on_commit(send)
