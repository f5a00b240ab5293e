"""Screenshots of the dispatch board and the overview from the demo day, into docs/screens/.

In a scratch database (`screens_demo`, created and dropped here; on the server of
DATABASE_URL, else a local PostgreSQL on 127.0.0.1:5432, else the embedded one, as the
tests choose) and a temporary ROADS_DIR: seeds the demo tenant as `make run` does
(`manage.py seed_demo`: central Helsinki on real roads), plans today's demo orders
(`plan_create`, then `plan_solve` here, as the worker would) and publishes the plan, then
makes some progress on it: on the first route two stops delivered and the driver on the
way to the third (a GPS fix between them), on the second one delivered and one failed, so
that the board shows done, en route and late stops and a driver on the map. Then it starts
the web process (`bin/dispatch web`: uvicorn) on loopback, signs in as the demo dispatcher in
headless Chromium (Playwright) and saves:

  docs/screens/board-1440x900.png        the board (routes, map, timeline)
  docs/screens/board-390x844.png         the board on a phone: the routes tab
  docs/screens/board-390x844-map.png     the board on a phone: the map tab
  docs/screens/overview-1440x900.png     the overview (dashboard home, "/")
  docs/screens/overview-390x844.png      the overview on a phone
  docs/screens/driver-390x844-route.png  the driver app (route 1's driver): the stops
  docs/screens/driver-390x844-map.png    the driver app's map tab
  docs/screens/driver-390x844-stop.png   finishing a stop: the proof sheet
  docs/screens/driver-390x844-outbox.png offline: what waits in the outbox
  docs/screens/driver-1440x900-route.png the driver app on a wide screen

There is no internet here: map tiles (tile.openstreetmap.org) are answered with a plain
light-grey tile, and every other request off this machine is refused.

Usage: make screens   (CHROMIUM_PATH=/usr/bin/chromium, SCREENS_DIR=docs/screens)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
os.environ.setdefault("TEST_DATABASE_NAME", "screens_demo")
os.environ.pop("Q_SYNC", None)  # plan_create must not solve inline: this script solves
TMP = Path(tempfile.mkdtemp(prefix="screens-"))
# The demo's road region is built here, out of the developer's and the tests' folders.
os.environ.setdefault("ROADS_DIR", str(TMP / "roads"))
os.environ.setdefault("MEDIA_ROOT", str(TMP / "media"))
# Playwright's sync API keeps an event loop in this thread; the ORM calls are plain ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from bench.web import free_port, start_web, stop_web  # noqa: E402
from config.database import url_of  # noqa: E402
from dispatch.services import demo  # noqa: E402
from routing.models import Plan, PlanRoute  # noqa: E402
from routing.services.plans import plan_create, plan_solve  # noqa: E402
from routing.services.publish import plan_publish  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tracking.services.day import Fix, duty_set, fixes_store, next_seq, stop_event  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
OUT = Path(os.environ.get("SCREENS_DIR", ROOT / "docs" / "screens"))
PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-dispatch-2026")
DISPATCHER = "dispatcher@demo.test"
DRIVER = "driver@demo.test"  # the first route's driver
DESKTOP, PHONE = (1440, 900), (390, 844)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1",
]


def log(line: str) -> None:
    print(line, flush=True)


def grey_tile(size: int = 256, grey: int = 0xEE) -> bytes:
    """A plain light-grey PNG tile, for maps without the internet."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes([grey]) * size  # filter 0, one grey byte a pixel
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size, 9))
        + chunk(b"IEND", b"")
    )


# --- the demo day ----------------------------------------------------------------------------


def demo_day() -> str:
    """The demo tenant, today's plan solved and published, some progress made; returns
    what was done."""
    call_command("seed_demo", port=os.environ["PORT"])
    tenant = Tenant.objects.get(slug="demo")
    today = dt.datetime.now(zoneinfo.ZoneInfo(demo.TIME_ZONE)).date()
    with schema_context(tenant.schema_name):
        plan = plan_create(date=today, seconds=5)
        status = plan_solve(plan.pk)
        plan.refresh_from_db()
        if status != Plan.Status.DONE:
            raise RuntimeError(f"the demo plan ended {plan.status}: {plan.error}")
        plan = plan_publish(plan=plan, actor=f"user:{DISPATCHER}")
        done = progress(plan)
    return f"plan {plan.pk} of {today}: {done}"


def _between(a, b, share: float) -> tuple[float, float]:
    return a.lat + (b.lat - a.lat) * share, a.lng + (b.lng - a.lng) * share


def progress(plan: Plan) -> str:
    """Route 1: two stops delivered, on the way to the third (a fix 60% of the way);
    route 2: one delivered, one failed, on the way to the next."""
    routes = [
        r
        for r in PlanRoute.objects.filter(plan=plan).select_related("driver").order_by("pk")
        if r.stops.filter(order__isnull=False).exists()
    ]
    script = [("delivered", "delivered", "en_route"), ("delivered", "failed", "en_route")]
    done = []
    now = timezone.now()
    for route, events in zip(routes, script, strict=False):
        stops = [s.order for s in route.stops.filter(order__isnull=False).order_by("sequence")]
        duty_set(driver=route.driver, on_duty=True)
        for order, event in zip(stops, events, strict=False):
            reason = "Nobody at home" if event == "failed" else ""
            stop_event(driver=route.driver, order_id=order.pk, event=event, reason=reason)
            done.append(f"{route.driver.name}: #{order.pk} {event}")
        if len(stops) >= 3:
            lat, lng = _between(stops[1], stops[2], 0.6)
            fix = Fix(now, lat, lng, accuracy_m=8.0, speed_mps=6.0, heading_deg=90.0)
            fixes_store([(route.driver_id, fix, next_seq())])
            done.append(f"{route.driver.name} at {lat:.5f}, {lng:.5f}")
    return "; ".join(done)


# --- the server ------------------------------------------------------------------------------


def serve(port: int, log_path: Path) -> tuple[subprocess.Popen, object]:
    """`bin/dispatch web` on loopback, against this script's database."""
    env = {
        **os.environ,
        "DATABASE_URL": url_of(connection.settings_dict),
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
    }
    log_file = open(log_path, "w")  # noqa: SIM115 - closed by the caller
    return start_web(port, env, log_file), log_file


# --- the screenshots -------------------------------------------------------------------------


def settle(page, seconds: float = 1.5) -> None:
    """Wait for the page's requests (tiles, route lines) to finish, then a moment more for
    the map to draw."""
    with contextlib.suppress(Exception):
        page.wait_for_load_state("networkidle", timeout=15_000)
    page.wait_for_timeout(seconds * 1000)


def shoot(base: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    tile = grey_tile()
    OUT.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    def route(r) -> None:
        url = r.request.url
        if url.startswith("https://tile.openstreetmap.org/"):
            r.fulfill(status=200, content_type="image/png", body=tile)
        elif url.startswith(("http://demo.localhost", "ws://demo.localhost", "data:")):
            r.continue_()
        else:
            r.abort()  # no internet here: nothing else leaves the machine

    def save(page, name: str) -> None:
        path = OUT / name
        page.screenshot(path=str(path))
        saved.append(path)
        log(f"saved {path.relative_to(ROOT)}")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for (width, height), phone in ((DESKTOP, False), (PHONE, True)):
                context, page = signed_in(browser, base, route, DISPATCHER, (width, height), phone)
                size = f"{width}x{height}"

                page.goto(f"{base}/board/")
                page.wait_for_selector("#board")
                settle(page)
                save(page, f"board-{size}.png")
                if phone:
                    page.get_by_role("tab", name="Map").click()
                    settle(page)
                    save(page, f"board-{size}-map.png")

                page.goto(f"{base}/")
                settle(page)
                save(page, f"overview-{size}.png")
                context.close()
                shoot_driver(browser, base, route, save, (width, height), phone)
        finally:
            browser.close()
    return saved


def signed_in(browser, base: str, route, email: str, viewport, phone: bool, **options):
    """A context of `viewport` (a phone's when `phone`) signed in as `email`: (context, page)."""
    width, height = viewport
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        is_mobile=phone,
        has_touch=phone,
        locale="en-GB",
        timezone_id=demo.TIME_ZONE,
        **options,
    )
    context.route("**/*", route)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return context, page


def shoot_driver(browser, base: str, route, save, viewport, phone: bool) -> None:
    """The driver app of the first route's driver: the stops, the map, the proof sheet,
    and (the phone offline) what waits in the outbox. Nothing of it is sent: the page is
    closed while still offline."""
    width, height = viewport
    context, page = signed_in(
        browser,
        base,
        route,
        DRIVER,
        viewport,
        phone,
        geolocation={"latitude": 60.1699, "longitude": 24.9384},
        permissions=["geolocation"],
    )
    page.locator("body[data-service-worker=ready]").wait_for(state="attached")
    size = f"{width}x{height}"
    settle(page)
    save(page, f"driver-{size}-route.png")
    if phone:
        page.get_by_role("tab", name="Map").click()
        settle(page)
        save(page, f"driver-{size}-map.png")
        page.get_by_role("tab", name="Stops").click()
        context.set_offline(True)
        stop = page.locator(".stop.open")
        stop.locator("[data-complete=delivered]").click()
        page.get_by_label("Received by").fill("Neighbour at no. 5")
        settle(page, 0.5)
        save(page, f"driver-{size}-stop.png")
        page.get_by_role("button", name="Finish the stop").click()
        following = page.locator(".stop[data-status=dispatched]").first
        following.locator(".stop-head").click()
        following.locator("[data-event=en_route]").click()
        page.get_by_role("tab", name="More").click()
        settle(page, 0.5)
        save(page, f"driver-{size}-outbox.png")
    context.close()


def clean_up(server, log_file, db_cfg) -> None:
    """Stop the server, drop the scratch database (its other sessions ended first) and the
    temporary folder."""
    if server is not None:
        stop_web(server)
        log_file.close()
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    teardown_databases(db_cfg, verbosity=0)
    shutil.rmtree(TMP, ignore_errors=True)


def main() -> None:
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    port = free_port()
    os.environ["PORT"] = str(port)
    db_cfg = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    server = log_file = None
    try:
        log(f"demo day: {demo_day()}")
        connection.close()
        (ROOT / ".data").mkdir(exist_ok=True)
        log_path = ROOT / ".data" / f"screens-web-{port}.log"
        server, log_file = serve(port, log_path)
        shoot(f"http://demo.localhost:{port}")
        log_file.flush()
        errors = log_path.read_text().count("Traceback")
        if errors:
            log(f"the server logged {errors} traceback(s): see {log_path}")
    finally:
        clean_up(server, log_file, db_cfg)


if __name__ == "__main__":
    main()
