"""A whole delivery day through the scaled-out shape, on loopback: two web processes, two
workers and two schedulers, each started by `bin/dispatch` as in production, against one
PostgreSQL and one Redis (channels-redis between the web processes, django-q2's Redis
broker between the workers).

Orders come in through both web processes (with retries sent to the other one), the day
is planned by whichever worker takes the job and published (twice, a double click),
drivers stream GPS and report their stops through both processes while a dispatcher
watches on each, and customers are told by SMS (the real `twilio` client against a local
fake of Twilio) and email (a real SMTP server). At the end nothing is lost or twice:
every order once and delivered, every fix stored once, every message sent once, both
dispatchers saw every driver, the scheduled job ran once though two schedulers looked,
and the processes' metrics and JSON logs agree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path

import pytest
from django_tenants.utils import schema_context

from tests.e2e.conftest import (
    ROOT,
    _free_port,
    database_url_of_test_db,
    live_tenant,
    start_redis,
    wait_until,
)
from tests.e2e.test_orders_concurrency import _post
from tests.e2e.ws import receive, run, socket
from tests.notifications.fake_twilio import running_fake_twilio

ORDERS = 24
DRIVERS = 3
FIXES_PER_STOP = 3
SCHEDULE = "scale-out test: watch ETAs"


@dataclass
class Process:
    role: str
    popen: subprocess.Popen
    log: Path
    port: int | None  # web: the HTTP port
    metrics_port: int

    def metrics(self) -> dict[tuple[str, frozenset], float]:
        """Its /metrics, parsed: {(name, labels): value}."""
        from prometheus_client.parser import text_string_to_metric_families

        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def json_logs(self) -> list[dict]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


def metric(processes: list[Process], name: str, **labels: str) -> float:
    """`name` summed over `processes` (and over labels not given)."""
    total = 0.0
    for process in processes:
        for (sample, sample_labels), value in process.metrics().items():
            if sample == name and set(labels.items()) <= sample_labels:
                total += value
    return total


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def redis_server(tmp_path: Path):
    process = start_redis(port := _free_port(), tmp_path)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def smtp_server():
    from aiosmtpd.controller import Controller

    received: list[tuple[list[str], bytes]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    port = _free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


@contextmanager
def started(role: str, env: dict[str, str], *, http: bool = False):
    """`bin/dispatch <role>` in its own process group, its metrics on a port of its own."""
    metrics_port = _free_port()
    port = _free_port() if http else None
    log = ROOT / ".data" / f"scale-{role}-{metrics_port}.log"
    log.parent.mkdir(exist_ok=True)
    extra = {"METRICS_PORT": str(metrics_port), "METRICS_ADDR": "127.0.0.1"}
    if port:
        extra |= {"HOST": "127.0.0.1", "PORT": str(port)}
    with open(log, "w") as out:
        popen = subprocess.Popen(
            [str(ROOT / "bin" / "dispatch"), role],
            cwd=ROOT,
            env={**env, **extra},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = Process(role, popen, log, port, metrics_port)

    def ready() -> bool:
        if popen.poll() is not None:
            raise RuntimeError(f"{role} exited; see {log}")
        return _ready(metrics_port) and (port is None or _ready(port))

    try:
        wait_until(ready, timeout=60, interval=0.3)
        yield process
    finally:
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(timeout=10)


def _fleet(schema: str, host: str):
    """A depot, DRIVERS vans and drivers on duty, their tokens and a dispatcher's cookie."""
    from django.test import Client

    from accounts.models import User
    from accounts.services import user_create
    from dispatch.models import Depot, Driver, Vehicle
    from tracking.services.day import duty_set
    from tracking.services.tokens import driver_token

    with schema_context(schema):
        depot = Depot.objects.create(name="Scale depot", lat=51.50, lng=-0.12)
        tokens = {}
        for k in range(DRIVERS):
            user = user_create(email=f"driver{k}@scale.test", password="x" * 12, role="driver")
            # eight stops at most: the day needs every van, so drivers use both processes
            van = Vehicle.objects.create(name=f"Van {k}", start_depot=depot, max_stops=8)
            driver = Driver.objects.create(name=f"Driver {k}", user=user, default_vehicle=van)
            duty_set(driver=driver, on_duty=True)
            tokens[driver.pk] = driver_token(schema=schema, driver_id=driver.pk, user_id=user.pk)
        dispatcher = user_create(
            email="dispatcher@scale.test", password="x" * 12, role="dispatcher"
        )
        client = Client(HTTP_HOST=host)
        client.force_login(User.objects.get(pk=dispatcher.pk))
        return tokens, f"sessionid={client.cookies['sessionid'].value}"


def _get_json(port: int, host: str, key: str, path: str) -> dict:
    headers = {"Host": host, "Authorization": f"Bearer {key}"}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_a_whole_day_through_two_web_processes_and_two_workers(
    live_server_url, django_db_blocker, tmp_path
):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on this machine: the scaled-out shape needs Redis")
    from django.utils import timezone
    from django_q.models import Schedule, Success

    from dispatch.models import Order
    from notifications.models import Notification
    from routing.models import PlanStop
    from tracking.models import LocationPing

    tenant = live_tenant(django_db_blocker, live_server_url, "scale")
    schema, domain = tenant.schema, tenant.provisioned.domain.domain
    key = tenant.provisioned.api_key_secret
    today = dt.date.today()
    phones = {k: f"+44207946{100 + k:04d}" for k in range(ORDERS)}  # Ofcom drama range

    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(tmp_path))
        smtp_port, mails = stack.enter_context(smtp_server())
        fake, twilio_url = stack.enter_context(running_fake_twilio())
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": database_url_of_test_db(),
            "REDIS_URL": redis_url,
            "LOG_FORMAT": "json",
            "Q_WORKERS": "2",
            "Q_SCHEDULER": "0",  # the schedulers below do it
            "SCHEDULER_INTERVAL_S": "1",
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": "AC" + "5" * 32,
            "TWILIO_AUTH_TOKEN": "secret-token",
            "TWILIO_FROM": "+447700900000",
            "TWILIO_API_URL": twilio_url,
            "SMS_RATE_PER_MINUTE": "1000",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "DEFAULT_FROM_EMAIL": "dispatch@scale.test",
        }
        env.pop("Q_SYNC", None)
        with django_db_blocker.unblock():
            tokens, cookie = _fleet(schema, f"{domain}:{tenant.port}")
            # only this test's schedule falls due while it runs (the test database may
            # hold others); they are put back afterwards
            others = dict(Schedule.objects.values_list("pk", "next_run"))
            Schedule.objects.update(next_run=timezone.now() + dt.timedelta(days=1))
            Schedule.objects.create(
                name=SCHEDULE,
                func="tenants.tasks.run_in_schema",
                args=repr((schema, "notifications.services.sending.eta_watch")),
                schedule_type=Schedule.MINUTES,
                minutes=60,
                next_run=timezone.now(),
            )
        stack.callback(_restore_schedules, django_db_blocker, others)

        webs = [stack.enter_context(started("web", env, http=True)) for _ in range(2)]
        workers = [stack.enter_context(started("worker", env)) for _ in range(2)]
        schedulers = [stack.enter_context(started("scheduler", env)) for _ in range(2)]
        hosts = [f"{domain}:{web.port}" for web in webs]

        # -- orders in, through both processes; every fourth sent again to the other one
        def send(k: int, web: int) -> tuple[int, dict, str]:
            body = {
                "external_id": f"SCALE-{k}",
                "customer_name": f"Customer {k}",
                "customer_phone": phones[k],
                "address_line1": f"{k} Scale Street",
                "lat": 51.50 + (k % 6) / 200,
                "lng": -0.12 + (k // 6) / 200,
                "delivery_date": today.isoformat(),
                "weight_kg": "2",
                **({"customer_email": f"customer{k}@scale.test"} if k % 2 == 0 else {}),
            }
            status, answer = _post(
                str(webs[web].port),
                hosts[web],
                key,
                "/api/v1/orders",
                body,
                {"Idempotency-Key": f"scale-{k}"},
            )
            return status, answer, f"SCALE-{k}"

        jobs = [(k, k % 2) for k in range(ORDERS)] + [(k, 1 - k % 2) for k in range(0, ORDERS, 4)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda job: send(*job), jobs))
        assert {status for status, _, _ in answers} <= {200, 201}, answers
        ids_by_external: dict[str, set] = {}
        for _, answer, external in answers:
            ids_by_external.setdefault(external, set()).add(answer["id"])
        assert all(len(ids) == 1 for ids in ids_by_external.values()), "a retry made a second order"

        # -- plan (solved by whichever worker takes it) and publish, twice
        status, plan = _post(
            str(webs[1].port),
            hosts[1],
            key,
            "/api/v1/plans",
            {"date": today.isoformat(), "seconds": 2},
        )
        assert status == 202, plan

        def plan_done() -> dict | None:
            current = _get_json(webs[0].port, hosts[0], key, f"/api/v1/plans/{plan['id']}")
            assert current["status"] != "failed", current
            return current if current["status"] == "done" else None

        wait_until(plan_done, timeout=120, interval=0.5)
        for web in (0, 1):
            status, published = _post(
                str(webs[web].port), hosts[web], key, f"/api/v1/plans/{plan['id']}/publish", {}
            )
            assert status == 200, published
        with django_db_blocker.unblock(), schema_context(schema):
            assert Order.objects.count() == ORDERS
            stops = list(
                PlanStop.objects.filter(route__plan_id=plan["id"], order__isnull=False)
                .order_by("route_id", "sequence")
                .values_list("route__driver_id", "order_id", "order__lat", "order__lng")
            )
        assert len(stops) == ORDERS, "every order planned"
        routes: dict[int, list] = {}
        for driver, order, lat, lng in stops:
            routes.setdefault(driver, []).append((order, float(lat), float(lng)))

        # -- the day: drivers on both processes, a dispatcher watching on each
        def told_out(order_id: int) -> bool:
            """The customer's "out for delivery" has gone, by every channel it goes by."""
            with django_db_blocker.unblock(), schema_context(schema):
                out = Notification.objects.filter(order_id=order_id, event="out_for_delivery")
                return out.exists() and not out.filter(status__in=("pending", "sending")).exists()

        day = run(_drive(routes, tokens, cookie, hosts, webs, told_out))  # a thread: ws.run
        seen_by_dispatchers, open_mid_day, fixes_sent = day

        # -- everything lands
        def settled() -> bool:
            with django_db_blocker.unblock(), schema_context(schema):
                open_orders = Order.objects.exclude(status="delivered").count()
                unsent = Notification.objects.filter(status__in=("pending", "sending")).count()
                ran = Success.objects.filter(group=SCHEDULE).exists()
            return not open_orders and not unsent and ran

        wait_until(settled, timeout=120, interval=0.5)
        wait_until(lambda: metric(workers, "dispatch_queue_depth") == 0, timeout=60)

        # the web processes: sockets counted while open, none left; every request counted
        assert len(routes) == DRIVERS
        assert open_mid_day == DRIVERS + 2  # drivers and a dispatcher on each
        wait_until(lambda: metric(webs, "dispatch_websocket_connections") == 0, timeout=10)
        assert metric(webs, "dispatch_websocket_connections_accepted_total", kind="driver") == (
            DRIVERS
        )
        created = metric(webs, "dispatch_http_requests_total", route="/api/v1/orders", status="201")
        replayed = metric(
            webs, "dispatch_http_requests_total", route="/api/v1/orders", status="200"
        )
        # every request counted; a replay answers as the first did (201, the same order)
        assert (created, replayed) == (len(jobs), 0)
        assert metric(webs, "dispatch_gps_fixes_stored_total") == fixes_sent
        # the workers: both did jobs; one plan solved; the messages counted as sent
        assert all(metric([worker], "dispatch_jobs_total") > 0 for worker in workers)
        assert metric(workers, "dispatch_jobs_total", result="failure") == 0
        assert metric(workers, "dispatch_optimiser_seconds_count", phase="solve") == 1
        counted = {
            channel: metric(
                workers, "dispatch_notifications_total", channel=channel, outcome="sent"
            )
            for channel in ("sms", "email")
        }
        # the schedulers: both looked; the job fell due once and was queued once
        assert all(metric([s], "dispatch_scheduler_runs_total") > 0 for s in schedulers)

        with django_db_blocker.unblock():
            assert Success.objects.filter(group=SCHEDULE).count() == 1
            plan_job = Success.objects.filter(name=f"{schema}:plan-{plan['id']}").first()
            with schema_context(schema):
                orders = {o.external_id: o for o in Order.objects.all()}
                notes = list(Notification.objects.select_related("order"))
                fixes_stored = LocationPing.objects.count()

    # nothing lost, nothing twice
    assert sorted(orders) == sorted(f"SCALE-{k}" for k in range(ORDERS))
    assert {o.status for o in orders.values()} == {"delivered"}
    assert fixes_stored == fixes_sent
    for name, positions in seen_by_dispatchers.items():
        assert positions == set(routes), f"dispatcher on {name} missed a driver"

    # skipped: emails to customers who gave no address, and news of when the van comes
    # still queued when the stop was done (these drivers deliver within milliseconds)
    skipped = [n for n in notes if n.status == "skipped"]
    stale = "the order was delivered before this could be sent"
    assert all(
        (n.channel == "email" and not n.order.customer_email)
        or (n.event in ("arriving_soon", "eta_changed") and n.error == stale)
        for n in skipped
    ), Counter((n.channel, n.event, n.error) for n in skipped)
    notes = [n for n in notes if n.status != "skipped"]
    assert {n.status for n in notes} == {"sent"}, Counter(n.status for n in notes)
    sms = [n for n in notes if n.channel == "sms"]
    emails = [n for n in notes if n.channel == "email"]
    ours = [m for m in fake.messages if m["To"] in phones.values()]
    assert len(ours) == len(sms), "a message sent twice, or one never sent"
    assert sorted(m["sid"] for m in ours) == sorted(n.provider_id for n in sms)
    told = Counter((n.order.external_id, n.event) for n in sms)
    for external in orders:
        assert told[(external, "out_for_delivery")] == 1
        assert told[(external, "delivered")] == 1
    assert counted == {"sms": len(sms), "email": len(emails)}
    mail_subjects = Counter(
        (tuple(rcpt), message_from_bytes(content)["Subject"]) for rcpt, content in mails
    )
    assert len(mails) == len(emails) and max(mail_subjects.values()) == 1
    by_event = Counter(n.event for n in emails)
    assert by_event["confirmed"] == by_event["delivered"] == ORDERS // 2

    # the logs: JSON lines naming tenant and request; the plan job knew its request
    web_lines = [line for web in webs for line in web.json_logs()]
    access = [line for line in web_lines if line.get("logger") == "dispatch.access"]
    assert any(
        line["route"] == "/api/v1/plans" and line["tenant"] == schema and line["status"] == 202
        for line in access
    )
    plan_request = next(line["request_id"] for line in access if line["route"] == "/api/v1/plans")
    assert plan_job is not None and plan_job.kwargs.get("_request_id") == plan_request


def _restore_schedules(django_db_blocker, others: dict) -> None:
    from django_q.models import Schedule

    with django_db_blocker.unblock():
        Schedule.objects.filter(name=SCHEDULE).delete()
        for pk, next_run in others.items():
            Schedule.objects.filter(pk=pk).update(next_run=next_run)


async def _drive(
    routes: dict, tokens: dict, cookie: str, hosts: list[str], webs: list[Process], told_out
):
    """Each driver, on web process (driver index % 2), sets off to each stop, streams
    FIXES_PER_STOP fixes towards it (one batch sent twice) and delivers it (tapped twice)
    once its customer's "out for delivery" has gone (news still queued when the order is
    delivered is dropped, as it should be: a real stop takes minutes, these milliseconds);
    a dispatcher on each process collects which drivers it saw move. Returns what the
    dispatchers saw, the sockets open mid-day (from the web processes' metrics) and the
    number of distinct fixes sent."""
    seen: dict[str, set] = {host: set() for host in hosts}
    all_connected = asyncio.Barrier(len(routes) + 1)
    done = asyncio.Event()
    start_ms = int(time.time() * 1000) - 600_000  # phone time: the last ten minutes
    sent = 0

    async def watch(host: str, ready: asyncio.Event) -> None:
        async with socket(host, "/ws/dispatch/", cookie=cookie) as ws:
            await receive(ws, kind="hello")
            ready.set()
            while not (done.is_set() and seen[host] == set(routes)):
                with suppress(TimeoutError):
                    message = await receive(ws, kind="positions", timeout=1)
                    seen[host] |= {p["driver"] for p in message["positions"]}
                if done.is_set() and not seen[host] >= set(routes):
                    await asyncio.sleep(0.1)

    async def drive(index: int, driver: int, stops: list) -> None:
        nonlocal sent
        host = hosts[index % 2]
        async with socket(host, f"/ws/driver/?token={tokens[driver]}") as ws:
            await receive(ws, kind="hello")
            await all_connected.wait()
            for n, (order, lat, lng) in enumerate(stops):
                await ws.send(json.dumps({"type": "stop", "order": order, "event": "en_route"}))
                assert (await receive(ws, kind="stop_ok", timeout=20))["status"] == "en_route"
                batch = [
                    {
                        "id": f"{driver}-{n}-{f}",
                        "lat": lat - (2 - f) / 1000,
                        "lng": lng,
                        "t": start_ms + (n * FIXES_PER_STOP + f) * 1000,
                        "accuracy_m": 5,
                    }
                    for f in range(FIXES_PER_STOP)
                ]
                for _ in range(2 if n == 0 else 1):  # the first batch resent (no ack seen)
                    await ws.send(json.dumps({"type": "fixes", "fixes": batch}))
                    acked: set = set()
                    while len(acked) < len(batch):
                        acked |= set((await receive(ws, kind="ack", timeout=20))["ids"])
                sent += len(batch)
                loop = asyncio.get_running_loop()
                async with asyncio.timeout(60):
                    while not await loop.run_in_executor(None, told_out, order):
                        await asyncio.sleep(0.2)
                for _ in range(2):  # a double tap
                    await ws.send(
                        json.dumps({"type": "stop", "order": order, "event": "delivered"})
                    )
                    answer = await receive(ws, kind="stop_ok", timeout=20)
                    assert answer["status"] == "delivered", answer

    ready = [asyncio.Event() for _ in hosts]
    watchers = [asyncio.create_task(watch(host, r)) for host, r in zip(hosts, ready, strict=True)]
    for r in ready:
        await r.wait()
    drivers = [
        asyncio.create_task(drive(k, driver, stops))
        for k, (driver, stops) in enumerate(sorted(routes.items()))
    ]
    await all_connected.wait()
    loop = asyncio.get_running_loop()
    open_mid_day = await loop.run_in_executor(
        None, lambda: metric(webs, "dispatch_websocket_connections")
    )
    await asyncio.gather(*drivers)
    done.set()
    await asyncio.wait_for(asyncio.gather(*watchers), timeout=30)
    return seen, open_mid_day, sent
