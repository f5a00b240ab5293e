"""Websocket clients for the end-to-end tests: real sockets against the running web process,
with the tenant's host in the Host and Origin headers (the connection goes to 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


@asynccontextmanager
async def socket(host: str, path: str, *, cookie: str | None = None):
    """`host` is `<tenant domain>:<port>` (LiveTenant.host)."""
    port = int(host.rsplit(":", 1)[1])
    headers = {"Origin": f"http://{host}"}
    if cookie:
        headers["Cookie"] = cookie
    async with connect(
        f"ws://{host}{path}",
        host="127.0.0.1",
        port=port,
        additional_headers=headers,
        open_timeout=10,
    ) as ws:
        yield ws


async def receive(ws, *, timeout: float = 5.0, kind: str | None = None) -> dict[str, Any]:
    """The next message (of type `kind`, skipping others)."""
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if kind is None or message.get("type") == kind:
                return message


async def nothing_of(ws, kind: str, *, wait: float = 1.0) -> bool:
    """True when no message of type `kind` arrives within `wait` seconds."""
    try:
        await receive(ws, timeout=wait, kind=kind)
    except TimeoutError:
        return True
    except ConnectionClosed:
        return True
    return False


async def refusal(host: str, path: str, **kwargs) -> tuple[str, int]:
    """What a refused socket said and the close code it got."""
    async with socket(host, path, **kwargs) as ws:
        message = await receive(ws)
        with suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=5)
        return message.get("code", ""), ws.close_code


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def run(coroutine):
    """`asyncio.run(coroutine)` on a thread of its own: Playwright's sync API keeps an
    event loop on the test thread once a browser test has run in the session."""
    import threading

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=120)
    if thread.is_alive():
        raise TimeoutError("the websocket scenario did not finish in 120 s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
