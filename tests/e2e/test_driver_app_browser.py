"""The driver app on a phone (390x844, headless Chromium): installable, working offline
with one outbox sent exactly once and in order when the network returns, a route version
published meanwhile merged in, and parcels scanned with the camera (a generated QR code
fed to Chromium as its camera) with a wrong parcel warned about."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveTenant,
    live_driver,
    sign_in,
    wait_until,
)

PHONE = {"width": 390, "height": 844}
# a tiny signed PNG "photo" (1x1, white)
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffffff7f0009fb03fd2a86e38a0000000049454e44ae426082"
)


@dataclass
class Day:
    prefix: str
    tenant: LiveTenant
    driver: int
    route: int
    plan: int
    orders: list[int]  # on the route, in its order
    pool: int  # not on the route yet
    codes: dict[int, str]


def driver_day(django_db_blocker, url: str, prefix: str) -> Day:
    """A published route of two stops for the driver (on duty), a third order in the pool."""
    from dispatch.models import Order, OrderStatus
    from dispatch.selectors.codes import label_code
    from dispatch.services.orders import order_transition
    from routing.models import Plan, PlanRoute, PlanStop, PlanUnassigned
    from routing.services.routes import version_create

    tenant, driver, van = live_driver(django_db_blocker, url, prefix)
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        today = dt.date.today()
        orders = [
            Order.objects.create(
                customer_name=f"Customer {k}",
                address_line1=f"{k} High Street",
                delivery_date=today,
                lat=51.51 + k / 100,
                lng=-0.12,
                weight_kg=Decimal("1"),
                barcodes=[f"STORE{k}0001"],
            )
            for k in range(1, 4)
        ]
        now = dt.datetime.now(dt.UTC)
        plan = Plan.objects.create(date=today, status="done", solved_at=now, published_at=now)
        route = PlanRoute.objects.create(
            plan=plan,
            driver=driver,
            vehicle=van,
            starts_at=now,
            ends_at=now + dt.timedelta(hours=2),
            distance_m=0,
            duration_s=0,
        )
        for k, order in enumerate(orders[:2], start=1):
            at = now + dt.timedelta(minutes=20 * k)
            PlanStop.objects.create(
                route=route, sequence=k, order=order, arrives_at=at, starts_at=at, departs_at=at
            )
            for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
                order_transition(order=order, to=status, actor="test")
        PlanUnassigned.objects.create(plan=plan, order=orders[2], reason="capacity")
        version_create(route, reason="Published")
        codes = {order.pk: label_code(order) for order in orders}
    return Day(
        prefix,
        tenant,
        driver.pk,
        route.pk,
        plan.pk,
        [o.pk for o in orders[:2]],
        orders[2].pk,
        codes,
    )


def open_app(page, day: Day) -> None:
    """Sign in as the driver and wait until the service worker controls the app."""
    sign_in(page, day.tenant, f"driver@{day.prefix}.test")
    page.wait_for_url("**/driver/")
    page.locator("body[data-service-worker=ready]").wait_for(state="attached")
    page.reload()  # from now on the worker answers the app's requests
    page.locator("body[data-service-worker=ready]").wait_for(state="attached")
    assert page.evaluate("() => !!navigator.serviceWorker.controller")


PHONE_OPTIONS = {
    "viewport": PHONE,
    "is_mobile": True,
    "has_touch": True,
    "geolocation": {"latitude": 51.515, "longitude": -0.12},
    "permissions": ["geolocation", "camera"],
}


@contextmanager
def phone(browser, *extra_args: str, user_data_dir: Path | None = None) -> Iterator[object]:
    """A phone's browser context. With launch options (a fake camera), or a persistent
    profile (not incognito: installability is judged as on a phone), a Chromium of its own."""
    if not extra_args and user_data_dir is None:
        context = browser.new_context(**PHONE_OPTIONS)
        try:
            yield context
        finally:
            context.close()
        return
    kind, args = browser.browser_type, [*CHROMIUM_ARGS, *extra_args]
    if user_data_dir is not None:
        context = kind.launch_persistent_context(
            str(user_data_dir), executable_path=CHROMIUM, args=args, **PHONE_OPTIONS
        )
        try:
            yield context
        finally:
            context.close()
        return
    own = kind.launch(executable_path=CHROMIUM, args=args)
    try:
        yield own.new_context(**PHONE_OPTIONS)
    finally:
        own.close()


def test_the_driver_app_is_installable(live_server_url, django_db_blocker, browser, tmp_path):
    day = driver_day(django_db_blocker, live_server_url, "drvinstall")
    with phone(browser, user_data_dir=tmp_path / "profile") as context:
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(15_000)
        open_app(page, day)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"].endswith("/driver/manifest.webmanifest")
        assert manifest["errors"] == []
        data = json.loads(manifest["data"])
        assert (data["display"], data["start_url"], data["scope"]) == (
            "standalone",
            "/driver/?source=home-screen",
            "/driver/",
        )
        # Chromium's own check of the install prompt's criteria (manifest, icons, worker)
        assert cdp.send("Page.getInstallabilityErrors") == {"installabilityErrors": []}
        icons = page.evaluate(
            "() => fetch('/driver/manifest.webmanifest').then(r => r.json())"
            ".then(m => Promise.all(m.icons.map(i => fetch(i.src).then(r => [i.sizes, r.status]))))"
        )
        assert ["192x192", 200] in icons and ["512x512", 200] in icons
        # one-handed: every control of the open stop and the tabs is a thumb's size
        sizes = page.eval_on_selector_all(
            ".stop.open .stop-body a:visible, .stop.open .stop-body button:visible, .tabbar button",
            "els => els.map(el => [el.textContent.trim(), el.getBoundingClientRect().height])",
        )
        assert sizes and all(height >= 48 for _, height in sizes), sizes
        # from the home screen it opens today's route, even without a network
        context.set_offline(True)
        page.goto(f"{day.tenant.url}/driver/?source=home-screen")
        assert page.locator(f"#driver-stop-{day.orders[0]}").is_visible()


def test_stops_and_proof_done_offline_reach_the_server_once_and_in_order(
    live_server_url, django_db_blocker, browser
):
    from dispatch.models import OrderEvent
    from proofs.models import DeliveryProof
    from routing.models import Plan
    from routing.services.edits import stop_move
    from tracking.models import DriverReport

    day = driver_day(django_db_blocker, live_server_url, "drvoffline")
    with phone(browser) as context:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        first, second = day.orders
        open_app(page, day)
        context.set_offline(True)
        started = dt.datetime.now(dt.UTC)

        # stop 1: on my way, arrived, delivered with a photo, a name and a signature
        one = page.locator(f"#driver-stop-{first}")
        one.get_by_role("button", name="On my way").click()
        one.get_by_role("button", name="Arrived").click()
        one.get_by_role("link", name="Delivered").click()
        sheet = page.locator("#complete-dialog")
        sheet.get_by_label("Received by").fill("Pat at the door")
        sheet.locator("#proof-photo").set_input_files(
            {"name": "door.png", "mimeType": "image/png", "buffer": PHOTO}
        )
        pad = sheet.locator("#signature-pad").bounding_box()
        page.mouse.move(pad["x"] + 20, pad["y"] + 30)
        page.mouse.down()
        page.mouse.move(pad["x"] + 120, pad["y"] + 90, steps=8)
        page.mouse.up()
        sheet.get_by_role("button", name="Finish the stop").click()
        one.locator("[data-status-label]").get_by_text("Delivered").wait_for()
        assert one.locator(".pending").inner_text() == "Waiting to be sent"

        # stop 2: on my way, then could not deliver
        two = page.locator(f"#driver-stop-{second}")
        two.locator(".stop-head").click()
        two.get_by_role("button", name="On my way").click()
        two.get_by_role("link", name="Could not deliver").click()
        sheet.get_by_label("Why not?").select_option("Nobody home")
        sheet.get_by_role("button", name="Finish the stop").click()
        two.locator("[data-status-label]").get_by_text("Failed").wait_for()

        # five things wait on the phone; the server has none of them
        page.locator("body[data-waiting='5']").wait_for(state="attached")
        assert page.locator("#sync").inner_text().startswith("Offline")
        page.get_by_role("tab", name="More").click()
        assert page.locator("#outbox-list li.waiting").count() == 5
        assert "Waiting for a network" in page.locator("#outbox-list").inner_text()
        with django_db_blocker.unblock(), schema_context(day.tenant.schema):
            assert not DriverReport.objects.exists() and not DeliveryProof.objects.exists()
            # meanwhile the dispatcher adds the pool's order to this route (version 2)
            plan = Plan.objects.get(pk=day.plan)
            stop_move(plan=plan, order_id=day.pool, route_id=day.route, actor="user:dispatch")

        # a reload offline: the app comes from the phone, the outbox with it
        page.reload()
        page.locator("body[data-waiting='5']").wait_for(state="attached")
        assert page.locator(f"#driver-stop-{first}").get_attribute("data-status") == "delivered"
        finished_offline = dt.datetime.now(dt.UTC)

        context.set_offline(False)
        page.evaluate("() => window.dispatchEvent(new Event('online'))")
        # everything sent, then the new version merged in and the driver told
        page.locator("#offline-changes:not([hidden])").wait_for(timeout=30_000)
        changes = page.locator("#offline-changes").inner_text()
        assert "while you were offline" in changes and "Added: #2 Customer 3" in changes
        assert "Removed" not in changes  # the failed stop left the route: the driver knows
        assert page.locator(f"#driver-stop-{day.pool}").count() == 1
        assert page.locator(f"#driver-stop-{first}").get_attribute("data-status") == "delivered"
        page.locator("body[data-waiting='0']").wait_for(state="attached")

        with django_db_blocker.unblock(), schema_context(day.tenant.schema):
            events = list(
                OrderEvent.objects.filter(order_id__in=day.orders, actor=f"driver:{day.driver}")
                .order_by("created_at", "id")
                .values_list("order_id", "to_status", "created_at")
            )
            assert [(o, s) for o, s, _ in events] == [
                (first, "en_route"),
                (first, "arrived"),
                (first, "delivered"),
                (second, "en_route"),
                (second, "failed"),
            ]
            # each at the time the driver tapped, not when the network came back
            assert all(started <= at <= finished_offline for _, _, at in events)
            assert DriverReport.objects.count() == 3
            proofs = list(DeliveryProof.objects.order_by("created_at"))
            assert [(p.order_id, p.outcome) for p in proofs] == [
                (first, "delivered"),
                (second, "failed"),
            ]
            assert proofs[0].recipient_name == "Pat at the door"
            assert proofs[0].photo and proofs[0].signature
            assert proofs[1].reason == "Nobody home"

        # the same events sent again (an answer lost on the way back): answered, not repeated
        with django_db_blocker.unblock(), schema_context(day.tenant.schema):
            sent = list(DriverReport.objects.values("key", "order_id", "event"))
            proof_key = str(DeliveryProof.objects.get(order_id=first).key)
        statuses = page.evaluate(
            """([reports, proofKey, first]) => {
                const hx = JSON.parse(document.body.getAttribute("hx-headers"));
                const headers = {"X-CSRFToken": hx["X-CSRFToken"], "Accept": "application/json"};
                const post = (url, fields) => fetch(
                    url, {method: "POST", body: new URLSearchParams(fields), headers},
                ).then(r => r.status);
                return Promise.all([
                    ...reports.map(
                        r => post("/driver/stops", {key: r.key, order: r.order_id, event: r.event}),
                    ),
                    post(`/driver/stops/${first}/complete`, {key: proofKey, outcome: "delivered"}),
                ]);
            }""",
            [[{**r, "key": str(r["key"])} for r in sent], proof_key, first],
        )
        assert statuses == [200, 200, 200, 200]
        with django_db_blocker.unblock(), schema_context(day.tenant.schema):
            assert OrderEvent.objects.filter(actor=f"driver:{day.driver}").count() == 5
            assert DeliveryProof.objects.count() == 2 and DriverReport.objects.count() == 3
        assert not errors, errors


def qr_video(text: str, path: Path, *, width: int = 640, height: int = 480) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of a label's QR code, black on
    white, drawn from reportlab's QR encoder (the one that prints the labels)."""
    from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel

    qr = QRCode(None, QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.make()
    modules = qr.getModuleCount()
    scale = min(width, height) * 3 // 4 // (modules + 8)
    size = (modules + 8) * scale
    left, top = (width - size) // 2, (height - size) // 2
    luma = bytearray(b"\xeb" * (width * height))
    for row in range(modules):
        for col in range(modules):
            if qr.isDark(row, col):
                for y in range(top + (row + 4) * scale, top + (row + 5) * scale):
                    start = y * width + left + (col + 4) * scale
                    luma[start : start + scale] = b"\x10" * scale
    chroma = b"\x80" * (width * height // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 10)
    return path


def test_parcels_scanned_with_the_camera_and_a_wrong_one_warned(
    live_server_url, django_db_blocker, browser, tmp_path
):
    from tracking.models import ParcelScan

    day = driver_day(django_db_blocker, live_server_url, "drvscan")
    first, second = day.orders
    video = qr_video(day.codes[first], tmp_path / "label.y4m")  # stop 1's parcel in view
    with phone(
        browser,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ) as context:
        page = context.new_page()
        page.set_default_timeout(20_000)
        open_app(page, day)
        # loading the van: the camera reads stop 1's label
        page.get_by_role("tab", name="Scan").click()
        page.get_by_role("button", name="Scan parcels").click()
        try:  # decoding camera frames takes a while on a busy machine
            page.locator("#scan-result").get_by_text("✓ Loaded #1 Customer 1").wait_for(
                timeout=45_000
            )
        except PlaywrightTimeout:
            hint = page.locator("#scan-hint").inner_text()
            raise AssertionError(f"the camera read nothing; the sheet said: {hint}") from None
        assert page.locator("#scan-dialog[data-reading='1']").count() == 1
        page.locator("#scan-dialog [data-close]").click()
        assert "1 of 2 parcels loaded" in page.locator("#loaded-count").inner_text()
        # the store's own code, typed where there is no camera
        page.get_by_role("button", name="Scan parcels").click()
        page.get_by_label("Or type the code on the label").fill("STORE20001")
        page.locator("#scan-manual").get_by_role("button", name="Check").click()
        page.locator("#loaded-count").get_by_text("2 of 2 parcels loaded").wait_for()
        # the camera, started under the typing, grows the sheet when it shows: closed once
        # it reads, or the close button can move under the click
        page.locator("#scan-dialog[data-reading='1']").wait_for(timeout=45_000)
        page.locator("#scan-dialog [data-close]").click()  # stop 1's label, still in view
        page.locator("#scan-dialog").wait_for(state="hidden")

        # at stop 2's door, stop 1's parcel is in the camera: warned
        two = page.locator(f"#driver-stop-{second}")
        page.get_by_role("tab", name="Stops").click()
        two.locator(".stop-head").click()
        two.get_by_role("button", name="On my way").click()
        two.get_by_role("link", name="Delivered").click()
        page.locator("#door-scan").click()
        warning = page.locator("#scan-result")
        warning.get_by_text("⚠ Wrong parcel").wait_for(timeout=45_000)
        assert "is for #1 Customer 1, not this stop" in warning.inner_text()
        assert "scan-warn" in warning.get_attribute("class")
        page.locator("#scan-dialog [data-close]").click()
        assert "Wrong parcel" in page.locator("#door-scan-result").inner_text()

        def scans() -> list[tuple]:
            with django_db_blocker.unblock(), schema_context(day.tenant.schema):
                return sorted(
                    ParcelScan.objects.filter(driver_id=day.driver).values_list(
                        "stage", "code", "order_id", "matched"
                    )
                )

        wait_until(lambda: len(scans()) >= 3)
        # each parcel once, although its label stayed in front of the camera for seconds
        assert scans() == sorted(
            [
                ("pickup", day.codes[first], first, True),
                ("pickup", "STORE20001", second, True),
                ("door", day.codes[first], first, False),
            ]
        )


@pytest.mark.parametrize("choice", ["waze", "apple"])
def test_navigation_opens_in_the_app_the_driver_chose(
    live_server_url, django_db_blocker, browser, choice
):
    from tracking.models import DriverSettings

    day = driver_day(django_db_blocker, live_server_url, f"drvnav{choice}")
    with phone(browser) as context:
        page = context.new_page()
        page.set_default_timeout(15_000)
        open_app(page, day)
        link = page.locator(f"#driver-stop-{day.orders[0]} .nav-link")
        assert link.get_attribute("href").startswith("https://www.google.com/maps/dir/")
        page.get_by_role("tab", name="More").click()
        page.get_by_label("Navigate with").select_option(choice)

        def chosen() -> str | None:
            with django_db_blocker.unblock(), schema_context(day.tenant.schema):
                row = DriverSettings.objects.filter(driver_id=day.driver).first()
                return row.navigation_app if row else None

        wait_until(lambda: chosen() == choice)
        wanted = {"waze": "https://waze.com/ul?ll=", "apple": "https://maps.apple.com/?daddr="}
        assert link.get_attribute("href").startswith(wanted[choice])
        # remembered for the driver: another phone opens stops in it too
        with phone(browser) as other:
            second = other.new_page()
            second.set_default_timeout(15_000)
            open_app(second, day)
            href = second.locator(f"#driver-stop-{day.orders[0]} .nav-link").get_attribute("href")
            assert href.startswith(wanted[choice])


def test_signing_out_leaves_nothing_of_the_driver_on_the_phone(
    live_server_url, django_db_blocker, browser
):
    """A phone shared by drivers: after sign-out, no kept route page (with customers'
    names and addresses), no outbox, no service worker, for the next one to open."""
    day = driver_day(django_db_blocker, live_server_url, "drvshared")
    with phone(browser) as context:
        page = context.new_page()
        page.set_default_timeout(15_000)
        open_app(page, day)
        kept = page.evaluate("() => caches.keys()")
        assert any(name.startswith("driver-pages-") for name in kept), kept
        page.get_by_role("tab", name="More").click()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{day.tenant.url}/login/")
        left = page.evaluate(
            """async () => ({
                caches: await caches.keys(),
                databases: (await indexedDB.databases()).map(d => d.name),
                workers: (await navigator.serviceWorker.getRegistrations()).length,
            })"""
        )
        assert left == {"caches": [], "databases": [], "workers": 0}, left
        # offline now, nothing on the phone answers the app's address any more
        context.set_offline(True)
        with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
            page.goto(f"{day.tenant.url}/driver/")


def test_an_action_waits_for_another_tab_sending_and_is_sent_when_it_lets_go(
    live_server_url, django_db_blocker, browser
):
    """The installed app and a browser tab share one outbox and send it one at a time (a
    Web Lock). An action taken in one while the other holds the lock (sending, or about to
    be closed) is sent once the other lets go, not left waiting for the next GPS fix."""
    from dispatch.models import OrderEvent

    day = driver_day(django_db_blocker, live_server_url, "drvlock")
    with phone(browser) as context:
        context.clear_permissions()  # no GPS fixes: nothing else starts a send
        page = context.new_page()
        page.set_default_timeout(15_000)
        open_app(page, day)
        page.locator("#sync", has_text="all sent").wait_for()
        other = context.new_page()  # another tab of the app, holding the lock until told
        other.goto(page.url)
        other.locator("#sync", has_text="all sent").wait_for()
        other.evaluate(
            """() => new Promise(held => {
                 const app = JSON.parse(document.getElementById("driver-app-data").textContent);
                 const name = "driver-outbox-" + app.schema + "-" + app.driver;
                 navigator.locks.request(name, () => new Promise(letGo => {
                   window.letGo = letGo;
                   held();
                 }));
               })"""
        )
        first = page.locator(f"#driver-stop-{day.orders[0]}")
        first.get_by_role("button", name="On my way").click()
        first.locator(".pending", has_text="Waiting to be sent").wait_for()
        other.evaluate("() => window.letGo()")
        first.locator(".pending").wait_for(state="hidden")
        with django_db_blocker.unblock(), schema_context(day.tenant.schema):
            sent = OrderEvent.objects.filter(order_id=day.orders[0], to_status="en_route")
            assert sent.count() == 1
