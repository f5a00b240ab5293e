"""Live updates to open pages, sent once the change is committed: the one way any app
(tracking's receivers, notifications' conversations) pushes to the tenant's sockets."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from core import metrics

logger = logging.getLogger(__name__)
_sending: set[asyncio.Task] = set()  # keeps scheduled broadcasts alive until they finish


def send_on_commit(messages: list[tuple[str, dict]]) -> None:
    """Send (group, message) pairs once the transaction commits (never, if it rolls back).
    The change is committed by then: a channel layer that is away (Redis down) costs the
    live update, not the request. Nothing is kept to send later: the database holds the
    change, and every open page fetches the state again when its socket reconnects."""

    async def broadcast() -> None:
        layer = get_channel_layer()
        try:
            for group, message in messages:
                await layer.group_send(group, message)
        except Exception:  # stop at the first failure: the others would wait as long
            metrics.BROADCASTS_FAILED.inc()
            logger.warning("live update not sent (%s)", messages[0][0], exc_info=True)

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
