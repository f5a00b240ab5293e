"""The hub's own connection stores each tenant's fixes in that tenant's schema only, and
after a failure connects again rather than reuse a connection in an unknown state."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from tracking.services import day as services
from tracking.services.day import Fix
from tracking.services.hub import Item, Writer


class FakeCursor:
    def __init__(self, rows):
        self.rows = rows

    async def fetchall(self):
        return self.rows


class FakeConnection:
    def __init__(self, *, fail: bool = False) -> None:
        self.closed, self.fail, self.log = False, fail, []

    async def execute(self, query, params=None):
        if isinstance(query, str):
            self.log.append(("store", params[0]))  # the drivers' array
            if self.fail:
                raise OSError("connection lost")
            return FakeCursor([])
        self.log.append(("path", query.as_string(None)))
        return FakeCursor([])

    async def close(self) -> None:
        self.closed = True


def items(driver_id: int) -> list[Item]:
    fix = Fix(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), 51.5, -0.1)
    return [Item(driver_id, fix, 1, 1, None, None)]


def test_each_tenant_is_stored_in_its_own_schema(monkeypatch):
    connection = FakeConnection()
    writer = Writer()

    async def connect():
        return connection

    monkeypatch.setattr(writer, "_connect", connect)

    async def run() -> None:
        await writer.store("alpha", items(1))
        await writer.store("alpha", items(2))
        await writer.store('beta"; DROP', items(3))
        await writer.store("alpha", items(4))

    asyncio.run(run())
    assert connection.log == [
        ("path", 'SET search_path TO "alpha"'),
        ("store", "{1}"),
        ("store", "{2}"),
        ("path", 'SET search_path TO "beta""; DROP"'),
        ("store", "{3}"),
        ("path", 'SET search_path TO "alpha"'),
        ("store", "{4}"),
    ]


def test_after_a_failure_the_next_flush_connects_again(monkeypatch):
    broken, fresh = FakeConnection(fail=True), FakeConnection()
    given = iter([broken, fresh])
    writer = Writer()

    async def connect():
        return next(given)

    monkeypatch.setattr(writer, "_connect", connect)
    with pytest.raises(OSError):
        asyncio.run(writer.store("alpha", items(1)))
    assert broken.closed and writer.connection is None
    stored = asyncio.run(writer.store("alpha", items(1)))
    assert stored == services.Stored([], set())
    assert fresh.log == [("path", 'SET search_path TO "alpha"'), ("store", "{1}")]
