"""The hub flushes every TRACKING_FLUSH_S from the start of the last flush: a flush that
took longer is followed at once by the next, not by a full wait as well (which spaced the
dispatchers' positions out to several a second apart at 3,000 drivers)."""

from __future__ import annotations

import asyncio
import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from tracking.services import hub as hub_module
from tracking.services.day import Fix
from tracking.services.hub import Hub, Item


def test_a_slow_flush_is_followed_by_the_next_without_a_wait(settings, monkeypatch):
    settings.TRACKING_FLUSH_S = 0.02
    real_sleep = asyncio.sleep
    waits: list[float] = []
    flushed: list[int] = []

    async def recording_sleep(delay, *args, **kwargs):
        waits.append(delay)
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(hub_module.asyncio, "sleep", recording_sleep)
    hub = Hub()

    async def slow_flush(schema: str, items: list[Item]) -> None:
        flushed.append(len(items))
        if len(flushed) < 3:
            hub.add(schema, items)  # more came in while this one was stored
        await real_sleep(0.05)  # longer than TRACKING_FLUSH_S

    hub.flush = slow_flush
    fix = Fix(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), 51.5, -0.1)

    async def run() -> None:
        hub.add("alpha", [Item(1, fix, 1, 1, None, None)])
        await asyncio.wait_for(hub.task, timeout=10)

    # a loop of its own in a thread of its own: the suite's browser tests may leave one
    # running in this thread
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=30)
    assert flushed == [1, 1, 1]
    assert waits[0] > 0  # the first fixes wait for company
    assert waits[1:] == [0.0, 0.0]  # each flush took longer than the interval
