"""The web process's GPS pipeline: fixes from every driver socket are gathered and, every
TRACKING_FLUSH_S, written in one statement per tenant; only then are they acknowledged
to the phones (which keep a fix until it is acknowledged, so nothing is lost when a
process dies) and each driver's newest position is fanned out, as one message per
tenant, to the dispatchers' group, and to the customer of the order the driver is heading
to.

Groups carry the schema name: `<schema>.dispatch`, `<schema>.order.<id>`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django_tenants.utils import schema_context

from dispatch.models import Order
from tenants.selectors import current_tenant
from tenants.services.formats import Formats
from tracking.selectors import customer_promise, tracking_settings
from tracking.services import day as services
from tracking.services.day import Fix

log = logging.getLogger(__name__)

#: A driver's ETA is recomputed from their position at most this often.
ETA_EVERY_S = 10.0
#: Fixes kept for a retry while the database is away, per process; older ones are dropped
#: (unacknowledged: the phones send them again).
MAX_PENDING = 200_000


def dispatch_group(schema: str) -> str:
    return f"{schema}.dispatch"


def order_group(schema: str, order_id: int) -> str:
    return f"{schema}.order.{order_id}"


def user_group(schema: str, user_id: int) -> str:
    """The sockets of one user of one tenant (user ids repeat across schemas)."""
    return f"{schema}.user.{user_id}"


@dataclass(slots=True)
class Item:
    driver_id: int
    fix: Fix
    seq: int
    client_id: Any
    consumer: Any  # the driver's consumer, to acknowledge to (None: an HTTP batch)
    heading_to: int | None
    name: str = ""


class Hub:
    def __init__(self) -> None:
        self.pending: dict[str, list[Item]] = defaultdict(list)
        self.task: asyncio.Task | None = None
        self.last_eta: dict[tuple[str, int], float] = {}

    def add(self, schema: str, items: list[Item]) -> None:
        self.pending[schema].extend(items)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + settings.TRACKING_FLUSH_S
        while self.pending:
            # a flush every TRACKING_FLUSH_S from the start of the last, not that long
            # after its end: under load a flush takes a while, and waiting the full time
            # again after it is what spaced the positions out
            await asyncio.sleep(max(0.0, due - loop.time()))
            due = loop.time() + settings.TRACKING_FLUSH_S
            batch, self.pending = self.pending, defaultdict(list)
            for schema, items in batch.items():
                try:
                    await self.flush(schema, items)
                except Exception:
                    log.exception("storing %d fixes of %s failed; retrying", len(items), schema)
                    kept = self.pending[schema]
                    kept[:0] = items[-MAX_PENDING:]
                    await asyncio.sleep(1.0)

    async def flush(self, schema: str, items: list[Item]) -> None:
        stored = await database_sync_to_async(self._store, thread_sensitive=False)(schema, items)
        acks: dict[Any, list] = defaultdict(list)
        for item in items:
            if item.consumer is not None:
                acks[item.consumer].append(item.client_id)
        for consumer, ids in acks.items():
            try:
                await consumer.ack(ids)
            except Exception:  # noqa: BLE001 - the phone left; it resends what it lacks
                log.debug("ack to a closed driver socket dropped")
        heading = {i.driver_id: i.heading_to for i in items}
        try:
            await fan_out(schema, stored, heading, (), {i.driver_id: i.name for i in items})
        except Exception:  # stored and acknowledged: maps catch up from the snapshot
            log.exception("fan-out of %d fixes of %s failed", len(stored.new), schema)
        due = self._etas_due(schema, items, stored)
        if not due:
            return
        # after the phones have their acknowledgement and the maps their positions: timing a
        # route takes longer than storing a fix, and a failure here must not hold those up
        try:
            etas = await database_sync_to_async(promises_of, thread_sensitive=False)(schema, due)
            await fan_out_etas(schema, etas)
        except Exception:  # the next fix tries again
            log.exception("ETAs of %d drivers of %s failed", len(due), schema)

    def _store(self, schema: str, items: list[Item]):
        with schema_context(schema):
            return services.fixes_store((i.driver_id, i.fix, i.seq) for i in items)

    def _etas_due(self, schema: str, items: list[Item], stored) -> list[tuple[int, int, int]]:
        """`(driver, order heading to, seq)` for each driver whose customer's promise is due
        again (at most every ETA_EVERY_S) after a new fix."""
        now = time.monotonic()
        newest = {d: s for d, f, s in sorted(stored.new, key=lambda x: x[1].recorded_at)}
        due = {}
        for item in items:
            key = (schema, item.driver_id)
            if item.heading_to is None or item.driver_id not in newest:
                continue
            if now - self.last_eta.get(key, 0) < ETA_EVERY_S:
                continue
            self.last_eta[key] = now
            due[item.driver_id] = (item.driver_id, item.heading_to, newest[item.driver_id])
        return list(due.values())


def promises_of(schema: str, due: list[tuple[int, int, int]]) -> list[tuple[int, int, dict, int]]:
    """What each customer a driver heads to is told now, the new position counted (the
    route's timeline reads the driver's newest position): the words of their SMS and page.
    One order that cannot be timed is logged and left out, not the others."""
    out = []
    with schema_context(schema):
        row, formats = tracking_settings(), Formats.of(current_tenant())
        orders = Order.objects.in_bulk([order_id for _, order_id, _ in due])
        for driver, order_id, seq in due:
            order = orders.get(order_id)
            if order is None:
                continue
            try:
                promise = customer_promise(order, settings_row=row, formats=formats)
            except Exception:
                log.exception("the ETA of order %s of %s failed", order_id, schema)
                continue
            if promise.eta is not None:
                out.append((driver, order_id, promise.as_message(), seq))
    return out


async def fan_out(
    schema: str, stored, heading: dict[int, int | None], etas=(), names: dict | None = None
) -> None:
    """Each driver's newest fix, when it moved their position (an old fix from a late
    offline batch is history, not news), to the tenant's dispatchers in one message and
    to the customer the driver is heading to; the customer's promise (the window and
    its words, as their SMS says it) to both."""
    layer = get_channel_layer()
    names = names or {}
    newest: dict[int, tuple[Fix, int]] = {}
    for driver, fix, seq in stored.new:
        if driver not in newest or newest[driver][0].recorded_at < fix.recorded_at:
            newest[driver] = (fix, seq)
    moved = {d: fs for d, fs in newest.items() if d in stored.moved}
    if moved:
        # encoded once here, not once per dispatcher socket (and cheap for the layer to copy)
        positions = ", ".join(
            fix.as_json(driver, seq, names.get(driver, "")) for driver, (fix, seq) in moved.items()
        )
        text = '{"type": "positions", "positions": [' + positions + "]}"
        await layer.group_send(dispatch_group(schema), {"type": "positions", "text": text})
    for driver, (fix, seq) in moved.items():
        order_id = heading.get(driver)
        if order_id is not None:
            await layer.group_send(
                order_group(schema, order_id),
                {
                    "type": "position",
                    "lat": fix.lat,
                    "lng": fix.lng,
                    "seq": seq,
                    "t": fix.recorded_at.isoformat(),
                },
            )
    await fan_out_etas(schema, etas)


async def fan_out_etas(schema: str, etas) -> None:
    """Each customer's promise (`promises_of`) to the tenant's dispatchers and to them."""
    layer = get_channel_layer()
    for driver, order_id, promise, seq in etas:
        message = {"type": "eta", "order": order_id, **promise, "seq": seq}
        await layer.group_send(dispatch_group(schema), {**message, "driver": driver})
        await layer.group_send(order_group(schema, order_id), message)


hub = Hub()
