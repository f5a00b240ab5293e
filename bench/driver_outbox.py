"""How long the driver app takes to send what it kept offline, once the network returns.

On the demo day (as `make screens` builds it: central Helsinki, today's plan published, the
first route under way), the first route's driver signs in on a phone (headless Chromium,
390x844), the phone goes offline and its outbox is filled as a shift without signal would
fill it: an hour of GPS fixes (3,600, one a second) and `BENCH_OUTBOX_SCANS` parcel scans
(default 100). Then the network returns and the clock runs until the page says nothing
waits (`body[data-waiting=0][data-fixes=0]`) and the server holds every item. Rounds:
`BENCH_OUTBOX_RUNS` (default 3).

The peer, in the same run against the same server: the same items sent by a plain Python
client (requests) the way the app sends them (scans one by one with their keys, fixes in
batches of 500 to /api/v1/driver/pings): what the network path costs without a browser.

Usage: make bench-driver
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TEST_DATABASE_NAME", "bench_driver_outbox")

import screens  # sets Django up as `make screens` does
from django.db import connection
from django.test.utils import setup_databases
from django_tenants.utils import schema_context

RUNS = int(os.environ.get("BENCH_OUTBOX_RUNS", "3"))
SCANS = int(os.environ.get("BENCH_OUTBOX_SCANS", "100"))
FIXES = 3600


def counts(schema: str, driver_id: int) -> tuple[int, int]:
    from tracking.models import LocationPing, ParcelScan

    with schema_context(schema):
        return (
            LocationPing.objects.filter(driver_id=driver_id).count(),
            ParcelScan.objects.filter(driver_id=driver_id).count(),
        )


FILL = """([fixes, scans, start]) => {
  const app = JSON.parse(document.getElementById("driver-app-data").textContent);
  return idb.openDB("driver-app-" + app.schema + "-" + app.driver, 1).then(db => {
    const tx = db.transaction(["outbox", "fixes"], "readwrite");
    for (let k = 0; k < fixes; k++) {
      const t = start + k * 1000;
      tx.objectStore("fixes").add({fix: {id: crypto.randomUUID(), t: t, lat: 60.16 + k / 1e5,
        lng: 24.93, accuracy_m: 8, speed_mps: 6, heading_deg: 90}});
    }
    for (let k = 0; k < scans; k++) {
      tx.objectStore("outbox").add({kind: "scan", key: crypto.randomUUID(), t: start + k * 30000,
        state: "waiting", tries: 0, code: "BENCH-" + start + "-" + k, stage: "pickup"});
    }
    return tx.done.then(() => { db.close(); return app.driver; });
  });
}"""


def browser_rounds(base: str, schema: str) -> tuple[list[float], int]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=screens.CHROMIUM, args=screens.CHROMIUM_ARGS)
        try:
            context, page = screens.signed_in(
                browser,
                base,
                lambda r: r.abort() if "tile.openstreetmap" in r.request.url else r.continue_(),
                screens.DRIVER,
                screens.PHONE,
                True,
            )
            page.locator("body[data-service-worker=ready]").wait_for(state="attached")
            page.reload()
            page.locator("body[data-service-worker=ready]").wait_for(state="attached")
            driver = None
            for round_ in range(RUNS):
                context.set_offline(True)
                start_ms = int((time.time() - 3600 * (round_ + 1) - 60) * 1000)
                before = None
                driver = page.evaluate(FILL, [FIXES, SCANS, start_ms])
                before = counts(schema, driver)
                page.reload()  # the app as the driver reopens it: from the phone
                page.locator(f"body[data-waiting='{SCANS}']").wait_for(state="attached")
                context.set_offline(False)
                began = time.perf_counter()
                page.evaluate("() => window.dispatchEvent(new Event('online'))")
                page.locator("body[data-waiting='0'][data-fixes='0']").wait_for(
                    state="attached", timeout=300_000
                )
                took = time.perf_counter() - began
                after = counts(schema, driver)
                stored = (after[0] - before[0], after[1] - before[1])
                if stored != (FIXES, SCANS):
                    raise RuntimeError(f"round {round_}: stored {stored}, not {(FIXES, SCANS)}")
                times.append(took)
                screens.log(f"browser round {round_ + 1}: {took:.2f} s")
            context.close()
        finally:
            browser.close()
    return times, driver


def peer_rounds(base: str, schema: str, driver_id: int) -> list[float]:
    """The same items from a plain client: scans one by one, fixes in batches of 500."""
    import requests
    from django.test import Client

    from accounts.models import User
    from tracking.services.tokens import driver_token

    with schema_context(schema):
        user = User.objects.get(email=screens.DRIVER)
        client = Client(HTTP_HOST=base.split("//")[1])
        client.force_login(user)
        token = driver_token(schema=schema, driver_id=driver_id, user_id=user.pk)
    host = base.split("//")[1]
    base = f"http://127.0.0.1:{host.rsplit(':', 1)[1]}"  # *.localhost resolves in browsers only
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    session.headers.update({"Host": host})
    csrf = session.get(f"{base}/driver/token", timeout=30).json()["csrf"]
    session.headers.update({"X-CSRFToken": csrf, "Accept": "application/json"})
    times = []
    for round_ in range(RUNS):
        start_ms = int((time.time() - 3600 * (RUNS + round_ + 2)) * 1000)
        before = counts(schema, driver_id)
        began = time.perf_counter()
        for k in range(SCANS):
            answer = session.post(
                f"{base}/driver/scans",
                data={
                    "key": str(uuid.uuid4()),
                    "code": f"PEER-{start_ms}-{k}",
                    "stage": "pickup",
                    "t": start_ms + k * 30000,
                },
                timeout=30,
            )
            answer.raise_for_status()
        for first in range(0, FIXES, 500):
            batch = [
                {"t": start_ms + k * 1000, "lat": 60.16 + k / 1e5, "lng": 24.93, "accuracy_m": 8}
                for k in range(first, min(first + 500, FIXES))
            ]
            answer = requests.post(
                f"{base}/api/v1/driver/pings",
                json={"fixes": batch},
                headers={"Authorization": f"Driver {token}", "Host": host},
                timeout=60,
            )
            answer.raise_for_status()
        took = time.perf_counter() - began
        after = counts(schema, driver_id)
        if (after[0] - before[0], after[1] - before[1]) != (FIXES, SCANS):
            raise RuntimeError("the peer's items were not all stored")
        times.append(took)
        screens.log(f"peer round {round_ + 1}: {took:.2f} s")
    return times


def main() -> None:
    port = screens.free_port()
    os.environ["PORT"] = str(port)
    db_cfg = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    server = log_file = None
    try:
        screens.log(f"demo day: {screens.demo_day()}")
        from tenants.models import Tenant

        schema = Tenant.objects.get(slug="demo").schema_name
        connection.close()
        log_path = screens.ROOT / ".data" / f"bench-driver-web-{port}.log"
        log_path.parent.mkdir(exist_ok=True)
        server, log_file = screens.start_web(port, log_path)
        base = f"http://demo.localhost:{port}"
        app_times, driver_id = browser_rounds(base, schema)
        peer_times = peer_rounds(base, schema, driver_id)
        items = FIXES + SCANS
        print()
        print(f"Outbox after an hour offline: {FIXES:,} GPS fixes + {SCANS} scans, {RUNS} rounds")
        print("| sender | median s | min s | max s | items/s (median) |")
        print("|---|---:|---:|---:|---:|")
        for name, times in (
            ("driver app (Chromium, 390x844)", app_times),
            ("peer: requests, same endpoints", peer_times),
        ):
            median = statistics.median(times)
            print(
                f"| {name} | {median:.2f} | {min(times):.2f} | {max(times):.2f} "
                f"| {items / median:,.0f} |"
            )
    finally:
        screens.clean_up(server, log_file, db_cfg)


if __name__ == "__main__":
    main()
