"""Live tracking in the browser: the dispatcher's map moves a driver's marker as fixes
arrive; the driver app shares the phone's position and reports a stop."""

from __future__ import annotations

import asyncio
import json
import time

from django_tenants.utils import schema_context

from tests.e2e.conftest import sign_in, wait_until
from tests.e2e.test_tracking_ws import fix, make_world
from tests.e2e.ws import receive, run, socket


def send_fixes_from_a_phone(host: str, token: str, fixes: list[dict]) -> dict:
    """A driver's phone on its own thread (Playwright holds this thread's event loop)."""
    outcome: dict = {}

    async def phone() -> None:
        async with socket(host, f"/ws/driver/?token={token}") as ws:
            await receive(ws, kind="hello")
            for item in fixes:
                await ws.send(json.dumps({"type": "fixes", "fixes": [item]}))
                outcome.setdefault("acks", []).append(await receive(ws, kind="ack"))
                await asyncio.sleep(0.3)

    run(phone())
    return outcome


def test_the_live_map_moves_a_driver_as_fixes_arrive(live_server_url, django_db_blocker, page):
    world = make_world(django_db_blocker, live_server_url, "livemap")
    sign_in(page, world.tenant, "dispatcher@livemap.test")
    page.locator(".topbar nav").get_by_role("link", name="Live map").click()
    page.get_by_text("Live", exact=True).wait_for()  # the socket is open

    first = fix(1, lat=51.50)
    send_fixes_from_a_phone(world.tenant.host, world.token, [first])
    marker = page.locator(f".driver-marker[data-driver='{world.driver_id}']")
    marker.wait_for()
    assert float(marker.get_attribute("data-lat")) == first["lat"]
    box = marker.bounding_box()

    later = {**fix(2, lat=51.51), "t": first["t"] + 5000}
    outcome = send_fixes_from_a_phone(world.tenant.host, world.token, [later])
    assert outcome["acks"][0]["ids"] == [later["id"]]
    page.wait_for_function(
        "([id, lat]) => Number(document.querySelector(`.driver-marker[data-driver='${id}']`)"
        ".dataset.lat) === lat",
        arg=[world.driver_id, later["lat"]],
    )
    assert marker.bounding_box()["y"] < box["y"]  # further north: higher on the map
    assert page.locator(f"#live-driver-{world.driver_id}").get_by_text("livemap Dana").count()

    # a fix older than what the map shows (a late offline batch) does not move it back
    stale = {**fix(3, lat=51.49), "t": first["t"] - 60_000}
    send_fixes_from_a_phone(world.tenant.host, world.token, [stale])
    time.sleep(0.5)
    assert float(marker.get_attribute("data-lat")) == later["lat"]


def test_the_driver_app_shares_the_position_and_reports_a_stop(
    live_server_url, django_db_blocker, browser
):
    from dispatch.models import Driver, Order
    from tracking.models import LocationPing
    from tracking.services.day import duty_set

    world = make_world(django_db_blocker, live_server_url, "drvapp")
    with django_db_blocker.unblock(), schema_context(world.tenant.schema):
        duty_set(driver=Driver.objects.get(pk=world.driver_id), on_duty=False)
    context = browser.new_context(
        geolocation={"latitude": 51.515, "longitude": -0.125},
        permissions=["geolocation"],
        viewport={"width": 390, "height": 844},
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, world.tenant, "driver@drvapp.test")
        page.goto(f"{world.tenant.url}/driver/")
        page.get_by_role("button", name="Start shift").click()
        page.get_by_text("Online").wait_for()

        def stored() -> int:
            with django_db_blocker.unblock(), schema_context(world.tenant.schema):
                return LocationPing.objects.filter(driver_id=world.driver_id).count()

        wait_until(lambda: stored() >= 1, timeout=15)
        with django_db_blocker.unblock(), schema_context(world.tenant.schema):
            ping = LocationPing.objects.filter(driver_id=world.driver_id).latest("recorded_at")
        assert (round(ping.lat, 3), round(ping.lng, 3)) == (51.515, -0.125)
        page.locator("body[data-fixes='0']").wait_for(state="attached")  # the outbox sent

        stop = page.locator(f"#driver-stop-{world.other}")
        stop.locator(".stop-head").click()  # the next stop is open; this one opens on a tap
        stop.get_by_role("button", name="On my way").click()
        page.locator(f"#driver-stop-{world.other}").get_by_text("En route").wait_for()
        stop.locator(".pending").wait_for(state="hidden")  # "Waiting to be sent": sent
        with django_db_blocker.unblock(), schema_context(world.tenant.schema):
            assert Order.objects.get(pk=world.other).status == "en_route"
    finally:
        context.close()
