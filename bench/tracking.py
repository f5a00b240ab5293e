"""Live tracking under load: drivers pinging once a second, dispatchers watching.

In a scratch database (created and dropped here) and a throw-away tenant with as many
drivers as the largest step (users with the driver role, Driver rows, on duty), each step
of the ladder starts a fresh web process on loopback, as production starts it
(`bin/dispatch web`: uvicorn; bench/web.py), then, in separate processes, a load generator
opening N driver sockets (`/ws/driver/?token=…`) that each send one fix a second (start
jittered over the first second) and D dispatcher sockets (`/ws/dispatch/`, a dispatcher's
session cookie). After a warm-up it measures a steady window, stops sending, lets the
server drain, then compares:

- sent (every fix the generator sent, by driver and phone time) with stored (the
  LocationPing rows of the step): messages lost = sent - stored;
- stored with what each dispatcher socket received. The hub sends each driver's newest
  fix per flush, so a stored fix a socket never got is "coalesced" when that socket got a
  later fix of the same driver (the flush held two of the driver's fixes: flushes more
  than a second apart), and "fan-out lost" otherwise;
- fan-out latency: dispatcher receive time - driver send time. The fix's `t` is the
  send time in ms since the epoch (one machine, one clock), so the latency has 1 ms
  resolution and includes the dispatcher process's own queueing;
- ack latency: driver send to its ack (fixes sent in the window);
- sustained stored/s: rows whose received_at falls in the window, divided by its length;
- CPU (100 % = one core) and peak RSS of the web process, CPU of PostgreSQL (this database's
  backends plus the WAL writer, checkpointer and background writer), of the load
  generator and dispatcher processes, and the machine's busy time not accounted for by
  any of them (other work on the machine: noise).

Everything shares the machine's cores: the generator competes with the web process and
PostgreSQL, while real drivers' phones would not. So the driver sockets are kept cheap:
the `websockets` library's sans-I/O client over plain asyncio transports on uvloop, and
one loop per generator process that wakes every SEND_TICK_S (1 ms) and sends the fixes
then due (its `t` is the real send time), instead of a task, a client and a timer per
driver: at 5,000 drivers 56 % of a core instead of the asyncio client's 87-99 %. Fixes
sent in bunches flatter the server: with a 10 ms tick the web process used about 25 % less
CPU at 3,000 drivers and 15 % less at 5,000 than with 1 ms (back to back), so the default
wakes every millisecond, about one fix per wake-up per 1,000 drivers, as phones arriving
one by one would. The dispatcher sockets use the asyncio client.

A step saturates when fan-out p99 > 250 ms, anything is lost or coalesced, or stored/s
< 98 % of the offered rate.

Usage: make bench-tracking
  BENCH_TRACKING_SIZES=250,1000,2000,3000,4000,5000  drivers per step
  BENCH_TRACKING_SECONDS=30               measured window (after the warm-up)
  BENCH_TRACKING_WARMUP=5                 seconds of sending before the window
  BENCH_TRACKING_DISPATCHERS=5            dispatcher sockets
  BENCH_TRACKING_GENERATORS=0             driver load processes (0: one per 1,000 drivers)
  BENCH_TRACKING_PROCESSES=1              web processes (2+ needs REDIS_URL)
  BENCH_TRACKING_PYSPY=docs/profiles/x    py-spy records the first web process over each step's
                                          window: x-<drivers>.svg (flame graph), or .txt
                                          (collapsed stacks) with BENCH_TRACKING_PYSPY_FORMAT=raw
  BENCH_TRACKING_TICK_MS=1                how often a driver process sends what is due
Writes the table into docs/benchmarks.md between the tracking markers (default sizes only).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import json
import math
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
from websockets.frames import BINARY, CONT, TEXT, CloseCode
from websockets.http11 import USER_AGENT
from websockets.protocol import OPEN
from websockets.typing import Origin
from websockets.uri import parse_uri

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
GOAL_DRIVERS = 5000
GOAL_P99_MS = 250.0

DEFAULT_SIZES = (250, 1000, 2000, 3000, 4000, 5000)  # up to the goal, step by step
SIZES = (
    tuple(int(x) for x in os.environ.get("BENCH_TRACKING_SIZES", "").split(",") if x.strip())
    or DEFAULT_SIZES
)
SECONDS = float(os.environ.get("BENCH_TRACKING_SECONDS", "30"))
WARMUP = float(os.environ.get("BENCH_TRACKING_WARMUP", "5"))
DRAIN = float(os.environ.get("BENCH_TRACKING_DRAIN", "15"))
DISPATCHERS = int(os.environ.get("BENCH_TRACKING_DISPATCHERS", "5"))
GENERATORS = int(os.environ.get("BENCH_TRACKING_GENERATORS", "0"))
PROCESSES = int(os.environ.get("BENCH_TRACKING_PROCESSES", "1"))
PYSPY = os.environ.get("BENCH_TRACKING_PYSPY", "")
PYSPY_FORMAT = os.environ.get("BENCH_TRACKING_PYSPY_FORMAT", "flamegraph")
CONNECT_CONCURRENCY = 50
# how often a driver process sends the fixes that are due
SEND_TICK_S = float(os.environ.get("BENCH_TRACKING_TICK_MS", "1")) / 1000


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1 if q else 0)]


# --- the load: runs in child processes, without Django --------------------------------------


def _ws_connect(host: str, port: int, path: str, headers: dict, **kwargs):
    from websockets.asyncio.client import connect

    return connect(
        f"ws://{host}:{port}{path}",
        host="127.0.0.1",
        port=port,
        additional_headers={"Origin": f"http://{host}:{port}", **headers},
        open_timeout=60,
        **kwargs,
    )


async def _open(host: str, port: int, path: str, headers: dict, sem, **kwargs):
    """A socket that said hello, or the reason it did not (after 3 tries)."""
    last = ""
    for attempt in range(3):
        async with sem:
            try:
                ws = await _ws_connect(host, port, path, headers, **kwargs)
                first = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                last = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
        if first.get("type") == "hello":
            return ws, ""
        await ws.close()
        return None, f"refused: {first.get('code')}"
    return None, last


async def _read_start() -> dict:
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return json.loads(line)


async def _loop_lag(samples: list[float], until: float) -> None:
    while time.time() < until:
        started = time.monotonic()
        await asyncio.sleep(0.1)
        samples.append((time.monotonic() - started - 0.1) * 1000)


class DriverSocket(asyncio.Protocol):
    """A driver's websocket without a task, queue or timer of its own: the `websockets`
    library's sans-I/O client (handshake, framing with a random mask per frame,
    permessage-deflate as its asyncio client offers it, pongs, closing handshake) over an
    asyncio transport. Each message after the first goes to `on_text` as it arrives."""

    def __init__(self, url: str, origin: str, on_text: Callable[[bytes], None]) -> None:
        self.protocol = ClientProtocol(
            parse_uri(url), origin=Origin(origin), extensions=enable_client_permessage_deflate(None)
        )
        self.on_text = on_text
        loop = asyncio.get_running_loop()
        self.first: asyncio.Future[bytes] = loop.create_future()  # the server's first message
        self.lost: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request = self.protocol.connect()
        request.headers["User-Agent"] = USER_AGENT  # as the asyncio client sends it
        self.protocol.send_request(request)
        self.flush()

    def data_received(self, data: bytes) -> None:
        self.protocol.receive_data(data)
        self.flush()  # pongs, the echo of a close frame
        for event in self.protocol.events_received():
            if getattr(event, "opcode", None) not in (TEXT, BINARY, CONT):
                continue
            self.fragments.append(event.data)
            if not event.fin:
                continue
            message = b"".join(self.fragments)
            self.fragments.clear()
            if not self.first.done():
                self.first.set_result(message)
            else:
                with contextlib.suppress(Exception):  # a reply the handler cannot read
                    self.on_text(message)
        if not self.first.done() and self.protocol.handshake_exc is not None:
            self.first.set_exception(self.protocol.handshake_exc)  # no upgrade, or not HTTP

    def connection_lost(self, exc: Exception | None) -> None:
        self.protocol.receive_eof()
        if not self.first.done():  # as the asyncio client's recv(): ConnectionClosed…
            self.first.set_exception(self.protocol.handshake_exc or self.protocol.close_exc)
        if not self.lost.done():
            self.lost.set_result(None)

    def flush(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():  # SEND_EOF: half-close
                self.transport.write_eof()

    def send_text(self, text: str) -> bool:
        """Send one text message; False when the connection is closing or closed."""
        if self.transport is None or self.transport.is_closing() or self.protocol.state is not OPEN:
            return False
        self.protocol.send_text(text.encode())
        self.flush()
        return True

    async def close(self, timeout: float = 10) -> None:
        """The closing handshake (1000, as the asyncio client's close()), then the server
        closes the TCP connection; aborted after `timeout`."""
        if self.protocol.state is OPEN and self.transport and not self.transport.is_closing():
            self.protocol.send_close(CloseCode.NORMAL_CLOSURE)
            self.flush()
        try:
            await asyncio.wait_for(asyncio.shield(self.lost), timeout)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()


async def _open_driver(
    host: str, port: int, path: str, sem, on_text: Callable[[bytes], None]
) -> tuple[DriverSocket | None, str]:
    """A driver socket that said hello, or the reason it did not (after 3 tries)."""
    loop = asyncio.get_running_loop()
    last = ""
    for attempt in range(3):
        async with sem:
            sock = DriverSocket(f"ws://{host}:{port}{path}", f"http://{host}:{port}", on_text)
            try:
                await asyncio.wait_for(
                    loop.create_connection(lambda sock=sock: sock, "127.0.0.1", port), timeout=60
                )
                first = json.loads(await asyncio.wait_for(sock.first, timeout=60))
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                last = f"{type(exc).__name__}: {exc}"
                sock.first.cancel()  # no-op when done; else nothing is left to set it later
                if sock.transport is not None:
                    sock.transport.abort()
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
        if first.get("type") == "hello":
            return sock, ""
        await sock.close()
        return None, f"refused: {first.get('code')}"
    return None, last


class Phone:
    """One driver's sending state: the next fix due, its number, its last `t`."""

    __slots__ = ("driver", "due", "last_t", "lat", "lng", "number", "pending", "socket")

    def __init__(self, driver: int) -> None:
        self.driver = driver
        self.pending: dict[int, tuple[float, int]] = {}  # fix id: (monotonic sent, t_ms)
        self.socket: DriverSocket | None = None
        self.due = self.lat = self.lng = 0.0
        self.number = self.last_t = 0


async def generator(config: dict) -> dict:
    """Driver sockets: one fix a second each; acks counted and timed. One loop sends the
    fixes due every SEND_TICK_S for all the process's drivers, and acks are read in the
    sockets' callbacks: the load costs little CPU of the cores it shares with the server."""
    host, sem = config["host"], asyncio.Semaphore(CONNECT_CONCURRENCY)
    drivers = config["drivers"]  # [driver_id, token, port]
    phones = [Phone(driver) for driver, _, _ in drivers]
    ack_ms: list[float] = []
    window_ms = [0.0, 0.0]  # w0, w1 in ms, once the orchestrator sent them
    counts = {"acked": 0, "closed": 0, "other": 0}

    def reader(phone: Phone) -> Callable[[bytes], None]:
        mine = phone.pending

        def on_text(raw: bytes) -> None:
            message = json.loads(raw)
            if message.get("type") != "ack":
                counts["other"] += 1
                return
            now = time.monotonic()
            for fix_id in message["ids"]:
                entry = mine.pop(fix_id, None)
                if entry is not None:
                    counts["acked"] += 1
                    if window_ms[0] <= entry[1] < window_ms[1]:
                        ack_ms.append((now - entry[0]) * 1000)

        return on_text

    started = time.monotonic()
    opened = await asyncio.gather(
        *(
            _open_driver(host, port, f"/ws/driver/?token={token}", sem, reader(phone))
            for phone, (_, token, port) in zip(phones, drivers, strict=True)
        )
    )
    connect_s = time.monotonic() - started
    refused = [why for sock, why in opened if sock is None]
    print(json.dumps({"ready": len(opened) - len(refused), "connect_s": connect_s}), flush=True)
    start = await _read_start()
    first, w0, w1 = start["first"], start["w0"], start["w1"]
    window_ms[:] = [w0 * 1000, w1 * 1000]
    rng = random.Random(config["seed"])

    live: list[Phone] = []
    for phone, (sock, _) in zip(phones, opened, strict=True):
        if sock is not None:
            phone.socket = sock
            live.append(phone)
    for phone in live:  # the same draws, in the same order, as one coroutine per driver took
        phone.due = first + rng.random()
        phone.lat, phone.lng = 51.45 + rng.random() / 10, -0.2 + rng.random() / 5

    sent: list[list[int]] = []  # [driver, t_ms]
    lateness_ms: list[float] = []
    lag_ms: list[float] = []
    lag = asyncio.create_task(_loop_lag(lag_ms, w1))
    due = [(phone.due, k) for k, phone in enumerate(live)]
    heapq.heapify(due)
    while due:
        while due and due[0][0] <= time.time():
            _, k = heapq.heappop(due)
            phone = live[k]
            now = time.time()
            if w0 <= now < w1:
                lateness_ms.append((now - phone.due) * 1000)
            phone.number += 1
            number = phone.number
            t_ms = max(int(now * 1000), phone.last_t + 1)
            phone.last_t = t_ms
            fix = {
                "id": number,
                "t": t_ms,
                "lat": round(phone.lat + number * 1e-5, 6),
                "lng": round(phone.lng, 6),
                "accuracy_m": 5,
                "speed_mps": 8.3,
                "heading_deg": 90,
            }
            phone.pending[number] = (time.monotonic(), t_ms)
            if not phone.socket.send_text(json.dumps({"type": "fixes", "fixes": [fix]})):
                phone.pending.pop(number, None)  # counted: the server closed the socket
                counts["closed"] += 1
                continue
            sent.append([phone.driver, t_ms])
            phone.due += 1.0
            if phone.due < w1:
                heapq.heappush(due, (phone.due, k))
        if due:
            await asyncio.sleep(max(SEND_TICK_S, due[0][0] - time.time()))
    deadline = time.time() + config["drain"]
    while time.time() < deadline and any(phone.pending for phone in live):
        await asyncio.sleep(0.1)
    unacked = sum(len(phone.pending) for phone in live)
    await asyncio.gather(*(phone.socket.close() for phone in live), return_exceptions=True)
    await asyncio.gather(lag, return_exceptions=True)
    return {
        "connected": len(live),
        "refused": refused[:20],
        "refused_n": len(refused),
        "connect_s": connect_s,
        "sent": sent,
        "ack_ms": ack_ms,
        "lateness_ms": lateness_ms,
        "lag_ms": lag_ms,
        "unacked": unacked,
        **counts,
    }


async def dispatchers(config: dict) -> dict:
    """Dispatcher sockets: every position received, with its latency from the send."""
    host, sem = config["host"], asyncio.Semaphore(CONNECT_CONCURRENCY)
    headers = {"Cookie": config["cookie"]}
    opened = await asyncio.gather(
        *(
            _open(host, port, "/ws/dispatch/", headers, sem, max_size=None)
            for port in config["ports"]
        )
    )
    refused = [why for ws, why in opened if ws is None]
    print(json.dumps({"ready": len(opened) - len(refused)}), flush=True)
    start = await _read_start()
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    ms = dt.timedelta(milliseconds=1)
    received: list[list[list]] = [[] for _ in opened]  # per socket: [driver, t_ms, latency]
    stopping: list[bool] = []
    closed: list[str] = []
    messages = [0] * len(opened)  # positions messages received in the window
    last = [time.time()]  # when the last positions message arrived
    lag_ms: list[float] = []
    w0_ms, w1_ms = start["w0"] * 1000, start["w1"] * 1000

    async def reader(k: int, ws) -> None:
        mine = received[k]
        try:
            async for raw in ws:
                now_ms = time.time() * 1000
                message = json.loads(raw)
                if message.get("type") != "positions":
                    continue
                last[0] = now_ms / 1000
                messages[k] += w0_ms <= now_ms < w1_ms
                for p in message["positions"]:
                    t_ms = (dt.datetime.fromisoformat(p["t"]) - epoch) // ms
                    mine.append([p["driver"], t_ms, round(now_ms - t_ms, 2)])
        except Exception:  # noqa: BLE001, S110 - a socket the server dropped is counted below
            pass
        if not stopping:  # the server closed it (1011: an exception inside the consumer)
            closed.append(f"{ws.close_code} at {time.time() - start['first']:+.0f} s")

    tasks = [asyncio.create_task(reader(k, ws)) for k, (ws, _) in enumerate(opened) if ws]
    lag = asyncio.create_task(_loop_lag(lag_ms, start["w1"]))
    stop = await _read_start()  # sent once the drivers have their acks
    deadline = time.time() + stop["max"]
    while time.time() - last[0] < stop["quiet"] and time.time() < deadline:
        await asyncio.sleep(0.1)
    stopping.append(True)
    await asyncio.gather(*(ws.close() for ws, _ in opened if ws), return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, lag, return_exceptions=True)
    return {
        "connected": len(opened) - len(refused),
        "refused": refused,
        "received": [r for (ws, _), r in zip(opened, received, strict=True) if ws],
        "messages": messages,
        "lag_ms": lag_ms,
        "last": last[0],
        "closed": closed,
    }


def child(role: str, config_path: str) -> None:
    raise_fd_limit()
    config = json.loads(Path(config_path).read_text())
    import uvloop

    work = generator(config) if role == "--generator" else dispatchers(config)
    result = asyncio.run(work, loop_factory=uvloop.new_event_loop)
    Path(config["out"]).write_text(json.dumps(result))
    print(json.dumps({"done": True}), flush=True)


# --- measuring processes ---------------------------------------------------------------------


class Sampler(threading.Thread):
    """CPU seconds and RSS of groups of processes, and the machine's busy time, sampled
    every half second; `window()` gives the use between two wall-clock times."""

    def __init__(self, groups: dict[str, list[int]], dbname: str) -> None:
        super().__init__(daemon=True)
        import psutil

        self.psutil = psutil
        self.groups = groups
        self.dbname = dbname
        self.samples: list[tuple[float, dict[str, dict[int, tuple[float, int]]], float]] = []
        self.stop_event = threading.Event()
        self.procs: dict[int, object] = {}

    def postgres_pids(self) -> list[int]:
        pids = []
        for proc in self.psutil.process_iter(["name", "cmdline"]):
            line = " ".join(proc.info["cmdline"] or [])
            if proc.info["name"] != "postgres" and not line.startswith("postgres"):
                continue
            aux = ("walwriter", "checkpointer", "background writer")
            if f" {self.dbname} " in f"{line} " or any(a in line for a in aux):
                pids.append(proc.pid)
        return pids

    def run(self) -> None:
        rescan = 0.0
        while not self.stop_event.is_set():
            if time.time() > rescan:
                self.groups["postgres"] = self.postgres_pids()
                rescan = time.time() + 2
            taken: dict[str, dict[int, tuple[float, int]]] = {}
            for group, pids in list(self.groups.items()):
                taken[group] = {}
                for pid in pids:
                    try:
                        proc = self.procs.get(pid) or self.psutil.Process(pid)
                        self.procs[pid] = proc
                        with proc.oneshot():
                            cpu = proc.cpu_times()
                            taken[group][pid] = (cpu.user + cpu.system, proc.memory_info().rss)
                    except (self.psutil.NoSuchProcess, self.psutil.AccessDenied):
                        continue
            times = self.psutil.cpu_times()
            busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
            self.samples.append((time.time(), taken, busy))
            self.stop_event.wait(0.5)

    def window(self, start: float, end: float) -> dict:
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return {}
        (t0, first, busy0), (t1, last, busy1) = inside[0], inside[-1]
        span = t1 - t0
        use = {}
        for group, pids in last.items():
            seconds = sum(
                cpu - first.get(group, {}).get(pid, (0.0, 0))[0] for pid, (cpu, _) in pids.items()
            )
            peak = max(
                (sum(rss for _, rss in s[1].get(group, {}).values()) for s in inside), default=0
            )
            use[group] = {"cpu": 100 * seconds / span, "rss_mb": peak / 2**20}
        use["machine"] = {"cpu": 100 * (busy1 - busy0) / span, "rss_mb": 0}
        return use


# --- the orchestrator ------------------------------------------------------------------------


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def spawn_child(role: str, config: dict, workdir: Path, name: str) -> subprocess.Popen:
    path = workdir / f"{name}.json"
    path.write_text(json.dumps(config))
    return subprocess.Popen(
        [sys.executable, __file__, role, str(path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def read_line(process: subprocess.Popen, what: str, timeout: float = 300) -> dict:
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(process.stdout.readline()))
    thread.start()
    thread.join(timeout)
    if not result or not result[0]:
        raise RuntimeError(f"{what}: no answer (exit {process.poll()})")
    return json.loads(result[0])


def tell(process: subprocess.Popen, message: dict) -> None:
    process.stdin.write(json.dumps(message) + "\n")
    process.stdin.flush()


def wait_stored(schema: str, first: float, sent: int, w1: float) -> float:
    """Wait until every sent fix is stored, or the count has not moved for 5 s (at most
    DRAIN + 120 s); returns when the last one was stored, in seconds after the last send."""
    from django.db import connection
    from django_tenants.utils import schema_context

    since = dt.datetime.fromtimestamp(first - 1, tz=dt.UTC)
    last, changed, deadline = -1, time.time(), time.time() + DRAIN + 120
    with schema_context(schema), connection.cursor() as cursor:
        while time.time() < deadline:
            cursor.execute(
                "SELECT count(*) FROM tracking_locationping WHERE recorded_at >= %s", [since]
            )
            count = cursor.fetchone()[0]
            if count != last:
                last, changed = count, time.time()
            if count >= sent or time.time() - changed > 5:
                break
            time.sleep(0.5)
        cursor.execute(
            "SELECT max(received_at) FROM tracking_locationping WHERE recorded_at >= %s", [since]
        )
        newest = cursor.fetchone()[0]
    return newest.timestamp() - w1 if newest else float("nan")


def run_step(world: dict, n: int, workdir: Path) -> dict:
    from django.db import connection
    from django_tenants.utils import schema_context

    from bench.web import free_port, spy_on, start_web, stop_web

    ports = [free_port() for _ in range(PROCESSES)]
    env = {**os.environ, **world["web_env"]}
    servers: list[tuple[subprocess.Popen, IO]] = []
    sampler = Sampler({"web": []}, world["dbname"])
    children: list[subprocess.Popen] = []
    try:
        for k, port in enumerate(ports):
            log_path = ROOT / ".data" / f"bench-tracking-web-{n}-{k}.log"
            log = open(log_path, "w")  # noqa: SIM115 - closed with its server below
            try:
                servers.append((start_web(port, env, log), log))
            except RuntimeError as exc:
                log.close()
                raise RuntimeError(f"{exc}; see {log_path}") from exc
        # `bin/dispatch web` execs uvicorn (one process, no workers): its pid is the server's
        sampler.groups["web"] = [process.pid for process, _ in servers]
        sampler.start()
        gens = GENERATORS or max(1, math.ceil(n / 1000))
        drivers = [
            [d, token, ports[k % len(ports)]] for k, (d, token) in enumerate(world["drivers"][:n])
        ]
        watch = spawn_child(
            "--dispatchers",
            {
                "host": world["host"],
                "cookie": world["cookie"],
                "out": str(workdir / "disp-out.json"),
                "ports": [ports[k % len(ports)] for k in range(DISPATCHERS)],
            },
            workdir,
            "disp",
        )
        children.append(watch)
        ready = read_line(watch, "dispatchers")
        if ready["ready"] != DISPATCHERS:
            raise RuntimeError(f"only {ready['ready']} of {DISPATCHERS} dispatchers connected")
        ramp_started = time.time()
        loads = []
        for g in range(gens):
            config = {
                "host": world["host"],
                "drivers": drivers[g::gens],
                "seed": g,
                "drain": DRAIN,
                "out": str(workdir / f"gen-{g}-out.json"),
            }
            loads.append(spawn_child("--generator", config, workdir, f"gen-{g}"))
        children.extend(loads)
        sampler.groups["generators"] = [p.pid for p in loads]
        sampler.groups["dispatchers"] = [watch.pid]
        connected = sum(read_line(p, "generator", timeout=600)["ready"] for p in loads)
        ramp_s = time.time() - ramp_started
        first = time.time() + 1.0
        w0 = first + WARMUP
        w1 = w0 + SECONDS
        window = {"first": first, "w0": w0, "w1": w1}
        for process in [watch, *loads]:
            tell(process, window)
        print(
            f"  {n} drivers: {connected} connected in {ramp_s:.1f} s; sending until "
            f"{SECONDS + WARMUP + 1:.0f} s from now",
            flush=True,
        )
        time.sleep(max(0.0, w0 - time.time()))
        spy = None
        if PYSPY:
            out = ROOT / f"{PYSPY}-{n}{'.svg' if PYSPY_FORMAT == 'flamegraph' else '.txt'}"
            spy = spy_on(servers[0][0].pid, out, seconds=SECONDS)
        for process in loads:
            read_line(process, "generator", timeout=w1 - time.time() + DRAIN + 120)
        if spy is not None:
            spy.wait(timeout=60)
        gens_out = [json.loads((workdir / f"gen-{g}-out.json").read_text()) for g in range(gens)]
        sent = {(d, t) for g in gens_out for d, t in g["sent"]}
        settled_s = wait_stored(world["schema"], first, len(sent), w1)
        # then the dispatchers stop once nothing has come for 3 s
        tell(watch, {"quiet": 3.0, "max": DRAIN + 60})
        read_line(watch, "dispatchers", timeout=DRAIN + 180)
        usage = sampler.window(w0, w1)
    finally:
        sampler.stop_event.set()
        for process in children:
            if process.poll() is None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
                stop_process(process)
        for process, log in servers:
            stop_web(process)
            log.close()
    disp_out = json.loads((workdir / "disp-out.json").read_text())

    with schema_context(world["schema"]), connection.cursor() as cursor:
        cursor.execute(
            "SELECT driver_id, (extract(epoch FROM recorded_at) * 1000)::bigint "
            "FROM tracking_locationping WHERE recorded_at >= %s",
            [dt.datetime.fromtimestamp(first - 1, tz=dt.UTC)],
        )
        stored = {(d, t) for d, t in cursor.fetchall()}
        cursor.execute(
            "SELECT count(*) FROM tracking_locationping WHERE received_at >= %s "
            "AND received_at < %s",
            [dt.datetime.fromtimestamp(w0, tz=dt.UTC), dt.datetime.fromtimestamp(w1, tz=dt.UTC)],
        )
        stored_in_window = cursor.fetchone()[0]
        cursor.execute("TRUNCATE tracking_locationping, tracking_driverposition")
    errors = sum(
        log_path.read_text().count("Traceback")
        for log_path in (ROOT / ".data").glob(f"bench-tracking-web-{n}-*.log")
    )

    in_window = [t for _, t in sent if w0 * 1000 <= t < w1 * 1000]
    # A flush fans out each driver's newest fix only: a stored fix a socket never got is
    # "coalesced" when the socket got a later fix of the same driver, else lost.
    fan_ms, fan_lost, coalesced, fan_dupes = [], 0, 0, 0
    thirds: list[list[float]] = [[], [], []]  # fan-out latencies by third of the window
    for socket_rows in disp_out["received"]:
        keys = {(d, t) for d, t, _ in socket_rows}
        newest: dict[int, int] = {}
        for d, t in keys:
            newest[d] = max(t, newest.get(d, t))
        missing = stored - keys
        late = sum(1 for d, t in missing if newest.get(d, t) > t)
        coalesced += late
        fan_lost += len(missing) - late
        fan_dupes += len(socket_rows) - len(keys)
        fan_ms.extend(ms for _, t, ms in socket_rows if w0 * 1000 <= t < w1 * 1000)
        for _, t, ms in socket_rows:
            if w0 * 1000 <= t < w1 * 1000:
                thirds[min(2, int((t / 1000 - w0) * 3 / SECONDS))].append(ms)
    ack_ms = [x for g in gens_out for x in g["ack_ms"]]
    lateness = [x for g in gens_out for x in g["lateness_ms"]]
    lag = [x for g in gens_out for x in g["lag_ms"]]
    step = {
        "n": n,
        "gens": gens,
        "connected": connected,
        "ramp_s": ramp_s,
        "offered": len(in_window) / SECONDS,
        "stored_rate": stored_in_window / SECONDS,
        "acked_rate": sum(1 for _ in ack_ms) / SECONDS,
        "sent": len(sent),
        "stored": len(stored),
        "lost": len(sent - stored),
        "extra": len(stored - sent),
        "unacked": sum(g["unacked"] for g in gens_out),
        "closed": sum(g["closed"] for g in gens_out),
        "other": sum(g["other"] for g in gens_out),
        "refused": sum(g["refused_n"] for g in gens_out),
        "fan_lost": fan_lost,
        "coalesced": coalesced,
        "fan_dupes": fan_dupes,
        "dispatchers": disp_out["connected"],
        "disp_closed": disp_out["closed"],
        "fan": {
            q: percentile(fan_ms, v)
            for q, v in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1))
        },
        "ack": {q: percentile(ack_ms, v) for q, v in (("p50", 0.5), ("p99", 0.99))},
        "thirds": [percentile(x, 0.99) for x in thirds],
        "late_p99": percentile(lateness, 0.99),
        "lag_p99": percentile(lag, 0.99),
        "disp_lag_p99": percentile(disp_out["lag_ms"], 0.99),
        "messages": sum(disp_out["messages"]) / max(1, len(disp_out["messages"])) / SECONDS,
        "fan_drained_s": disp_out["last"] - w1,
        "settled_s": settled_s,
        "usage": usage,
        "errors": errors,
    }
    step["problems"] = problems(step)
    return step


def problems(step: dict) -> list[str]:
    found = []
    p99 = step["fan"]["p99"]
    if p99 is None or p99 > GOAL_P99_MS:
        found.append(f"fan-out p99 {fmt(p99, 0)} ms > {GOAL_P99_MS:.0f}")
    if step["lost"] or step["extra"]:
        found.append(f"{step['lost']:,} lost")
    if step["fan_lost"]:
        found.append(f"{step['fan_lost']:,} fan-out lost")
    if step["coalesced"]:
        found.append(f"{step['coalesced']:,} fixes coalesced (flushes over 1 s apart)")
    if step["offered"] < 0.98 * step["n"]:
        found.append(f"offered {step['offered']:,.0f}/s < {step['n']:,}/s (generator)")
    if step["stored_rate"] < 0.98 * step["offered"]:
        found.append(f"stored {step['stored_rate']:,.0f}/s < offered")
    if step["disp_closed"]:
        found.append(
            f"{len(step['disp_closed'])} dispatcher socket(s) closed by the server "
            f"(code, time from the first send: {', '.join(step['disp_closed'])})"
        )
    if step["refused"] or step["closed"]:
        found.append(f"{step['refused']} refused, {step['closed']} closed sockets")
    return found


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(steps: list[dict]) -> list[str]:
    lines = [
        "| drivers | offered fixes/s | **stored/s** | fan-out p50 / p95 / **p99** / max ms "
        "| ack p50 / p99 ms | lost (sent - stored) | fan-out lost / coalesced | web CPU % "
        "| web peak RSS MB | PostgreSQL CPU % | load generator CPU % (procs) "
        "| machine busy % (other) | verdict |",
        "|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for s in steps:
        use = s["usage"]

        def cpu(group: str, use=use) -> str:
            return fmt(use[group]["cpu"], 0) if group in use else "—"

        ours = sum(
            use[g]["cpu"] for g in ("web", "postgres", "generators", "dispatchers") if g in use
        )
        other = max(0.0, use["machine"]["cpu"] - ours) if "machine" in use else None
        fan, ack = s["fan"], s["ack"]
        verdict = "ok" if not s["problems"] else "**saturated**: " + "; ".join(s["problems"])
        lines.append(
            f"| {s['n']:,} | {s['offered']:,.0f} | **{s['stored_rate']:,.0f}** "
            f"| {fmt(fan['p50'])} / {fmt(fan['p95'])} / **{fmt(fan['p99'])}** "
            f"/ {fmt(fan['max'], 0)} "
            f"| {fmt(ack['p50'])} / {fmt(ack['p99'])} | {s['lost']:,} of {s['sent']:,} "
            f"| {s['fan_lost']:,} / {s['coalesced']:,} | {cpu('web')} "
            f"| {fmt(use.get('web', {}).get('rss_mb'), 0)} | {cpu('postgres')} "
            f"| {cpu('generators')} + {cpu('dispatchers')} ({s['gens']} + 1) "
            f"| {cpu('machine')} ({fmt(other, 0)}) | {verdict} |"
        )
    return lines


def details(steps: list[dict]) -> list[str]:
    lines = [
        "| drivers | connected in s | window fixes acked /s | unacked after drain "
        "| positions msgs/s per dispatcher | last row stored s after the last send "
        "| last position received s after the last send "
        "| fan-out p99 ms by third of the window | generator send lateness p99 ms "
        "| generator loop lag p99 ms | dispatcher loop lag p99 ms "
        "| server tracebacks |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in steps:
        lines.append(
            f"| {s['n']:,} | {s['ramp_s']:.1f} | {s['acked_rate']:,.0f} | {s['unacked']:,} "
            f"| {s['messages']:,.1f} | {s['settled_s']:,.1f} | {s['fan_drained_s']:,.1f} "
            f"| {' / '.join(fmt(x, 0) for x in s['thirds'])} | {fmt(s['late_p99'])} "
            f"| {fmt(s['lag_p99'])} | {fmt(s['disp_lag_p99'])} | {s['errors']} |"
        )
    return lines


def saturation(steps: list[dict]) -> str:
    bad = [s for s in steps if s["problems"]]
    if not bad:
        biggest = max(s["n"] for s in steps)
        return f"No step saturated: the largest, {biggest:,} drivers, met every target."
    s = bad[0]
    return f"First saturated step: {s['n']:,} drivers ({'; '.join(s['problems'])})."


def machine() -> str:
    from django.db import connection

    from bench.docs import cpu_model

    version = connection.pg_version
    return f"{cpu_model()}, {os.cpu_count()} cores, PostgreSQL {version // 10000}.{version % 100}"


def command() -> str:
    env = " ".join(
        f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_TRACKING_")
    )
    return f"{env} make bench-tracking".strip()


def notes(world: dict, fd_limit: int) -> list[str]:
    from django.conf import settings

    layer = "Redis" if world["web_env"].get("REDIS_URL") else "in-memory"
    return [
        f"- Server: {PROCESSES} web process(es) (`bin/dispatch web`: uvicorn, DEBUG=0), "
        f"channel layer {layer}, TRACKING_FLUSH_S={settings.TRACKING_FLUSH_S:g}; a fresh one "
        "per step. Every process (server, PostgreSQL, load) shares the same cores.",
        f"- Load: N driver sockets in separate processes (one per 1,000 drivers unless "
        f"BENCH_TRACKING_GENERATORS is set), each sending one fix a second, first send "
        f"jittered over a second (websockets' sans-I/O client; one send loop per process "
        f"waking every {SEND_TICK_S * 1000:g} ms, so a fix leaves up to that late: the "
        f"send lateness in the details); {DISPATCHERS} dispatcher sockets in another process. "
        f"{WARMUP:g} s warm-up, then a {SECONDS:g} s window; then sending stops, the drivers "
        f"wait up to {DRAIN:g} s for their acks, the bench waits until every sent fix is "
        "stored (or the count stops moving for 5 s) and the dispatchers until nothing has "
        f"come for 3 s. File-descriptor limit {fd_limit:,}.",
        "- stored/s: LocationPing rows whose received_at is in the window. lost: fixes sent "
        "(whole step) with no row after the drain. fan-out lost / coalesced: stored fixes a "
        "dispatcher socket never received (summed over the sockets), coalesced when the "
        "socket got a later fix of the same driver (the hub fans out each driver's newest "
        "fix per flush, so this happens only when flushes are over a second apart). "
        "Latencies: fixes sent in the "
        "window; fan-out = dispatcher receive - driver send (one clock, 1 ms resolution), "
        "over every dispatcher socket.",
        "- CPU: % of one core over the window (200 % = the whole machine). PostgreSQL: this "
        "database's backends plus the WAL writer, checkpointer and background writer. "
        "Load generator: driver processes + the dispatcher process. Machine busy: all CPU "
        "time on the machine; (other) = what none of the listed processes used (this "
        "script's own sampling, other users: noise).",
    ]


def provision(sizes: tuple[int, ...]) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django_tenants.utils import schema_context

    from accounts.services import user_create
    from dispatch.models import Driver
    from tenants.services import provisioning as services
    from tracking.models import Duty
    from tracking.services.tokens import driver_token

    services.public_tenant_ensure()
    services.template_schema_ensure()
    result = services.tenant_provision(
        name="Bench tracking",
        slug=f"bench-tracking-{secrets.token_hex(3)}",
        owner_email="owner@bench.test",
        owner_password="a-long-bench-password-42",  # noqa: S106 - a throwaway
        country="GB",
        create_api_key=False,
    )
    schema, host = result.tenant.schema_name, result.domain.domain
    User = get_user_model()
    with schema_context(schema):
        users = User.objects.bulk_create(
            [
                User(email=f"driver{k}@bench.test", role="driver", password="!")  # noqa: S106
                for k in range(max(sizes))
            ],
            batch_size=1000,
        )
        drivers = Driver.objects.bulk_create(
            [Driver(name=f"Driver {k:04d}", user=u) for k, u in enumerate(users)], batch_size=1000
        )
        Duty.objects.bulk_create([Duty(driver=d, on_duty=True) for d in drivers], batch_size=1000)
        dispatcher = user_create(
            email="dispatcher@bench.test",
            password="a-long-bench-password-42",  # noqa: S106 - a throwaway
            role="dispatcher",
        )
        client = Client(HTTP_HOST=host)
        client.force_login(dispatcher)
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        tokens = [
            [d.pk, driver_token(schema=schema, driver_id=d.pk, user_id=d.user_id)] for d in drivers
        ]
    web_env = {
        "DATABASE_URL": os.environ["BENCH_DATABASE_URL"],
        "DEBUG": "0",
        "PUBLIC_BASE_URL": "http://localhost:8000",  # required with DEBUG=0; no SMS sent here
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": os.environ.get("REDIS_URL", "") if PROCESSES == 1 else os.environ["REDIS_URL"],
    }
    return {
        "schema": schema,
        "host": host,
        "cookie": cookie,
        "drivers": tokens,
        "dbname": connection.settings_dict["NAME"],
        "web_env": web_env,
    }


def write_docs(lines: list[str]) -> None:
    from bench.docs import write_section

    write_section(
        "tracking",
        lines,
        intro=(
            "## Live tracking over websockets\n\n"
            "`make bench-tracking` (`bench/tracking.py`): drivers' phones sending one GPS fix "
            "a second and dispatchers' live maps watching, over real websockets to the web "
            "process (uvicorn) on loopback; fixes stored per second, fan-out latency from the "
            "driver's send to the dispatcher's receive, anything lost, and the CPU and memory "
            "it takes, for 250 to 5,000 drivers. Goal: 5,000 drivers on one web process "
            "with p99 ≤ 250 ms and nothing lost (nor coalesced).\n\n"
        ),
    )


def main() -> None:
    fd_limit = raise_fd_limit()
    if fd_limit < 2 * max(SIZES) + 500:
        raise SystemExit(f"open-file limit {fd_limit} is too low for {max(SIZES)} drivers")
    if PROCESSES > 1 and not os.environ.get("REDIS_URL"):
        raise SystemExit("BENCH_TRACKING_PROCESSES > 1 needs REDIS_URL (a shared channel layer)")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ.setdefault("TEST_DATABASE_NAME", "bench_tracking")
    # The server checks the driver tokens and session this process signs: one key for both.
    os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from bench.docs import git_head
    from config.database import url_of

    (ROOT / ".data").mkdir(exist_ok=True)
    db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    steps: list[dict] = []
    try:
        os.environ["BENCH_DATABASE_URL"] = url_of(connection.settings_dict)
        described, measured = machine(), f"commit {git_head()}"
        load_before = os.getloadavg()
        started = time.perf_counter()
        world = provision(SIZES)
        print(
            f"provisioned {max(SIZES):,} drivers in {time.perf_counter() - started:.1f} s; "
            f"load average before: {load_before[0]:.2f}",
            flush=True,
        )
        connection.close()
        with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
            for n in SIZES:
                step = run_step(world, n, Path(tmp))
                steps.append(step)
                print("\n".join(table([step])), flush=True)
    finally:
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(db_cfg, verbosity=0)

    lines = [
        f"Command: `{command()}` — run on {time.strftime('%Y-%m-%d')} at {measured}, "
        f"{described}; "
        f"load average before the run {load_before[0]:.2f}.",
        "",
        *table(steps),
        "",
        saturation(steps),
        "",
        *notes(world, fd_limit),
        "",
        "Details:",
        "",
        *details(steps),
    ]
    print("\nLive tracking: drivers at one fix a second, dispatchers watching\n")
    print("\n".join(lines))
    if set(SIZES) == set(DEFAULT_SIZES) and not PYSPY:
        write_docs(lines)
    else:
        print(f"\n{DOCS.relative_to(ROOT)} not written: not the default ladder")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--generator", "--dispatchers"):
        child(sys.argv[1], sys.argv[2])
    else:
        main()
