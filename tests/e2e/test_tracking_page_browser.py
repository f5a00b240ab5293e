"""The customer's tracking page through a whole delivery, in Chromium: booked and out for
delivery, the driver on the way (the marker moves), delivered by the driver with a photo
and a signature in the driver app (the proof shown to the customer and the dispatcher, no
more position), and the link expired afterwards."""

from __future__ import annotations

import json

from django_tenants.utils import schema_context

from tests.e2e.conftest import sign_in
from tests.e2e.test_tracking_ws import fix, make_world
from tests.e2e.ws import receive, run, socket
from tracking.models import TrackingSettings

MAP_AT = "lat => Number(document.getElementById('track-map').dataset.lat) === lat"


def drive(host: str, token: str, messages: list[dict]) -> list[dict]:
    """The driver's phone sends `messages` and waits for each answer."""
    answers = []

    async def phone() -> None:
        async with socket(host, f"/ws/driver/?token={token}") as ws:
            await receive(ws, kind="hello")
            for message in messages:
                await ws.send(json.dumps(message))
                kind = "ack" if message["type"] == "fixes" else "stop_ok"
                answers.append(await receive(ws, kind=kind))

    run(phone())
    return answers


def _photo(path) -> str:
    from PIL import Image

    Image.new("RGB", (1200, 900), (40, 120, 200)).save(path, "JPEG")
    return str(path)


def _loaded(page, selector: str) -> None:
    """The picture arrived and decoded (not a broken image)."""
    script = "s => { const i = document.querySelector(s); return i && i.naturalWidth > 0; }"
    page.wait_for_function(script, arg=selector)


def driver_delivers_with_proof(browser, world, email: str, order_id: int, photo: str) -> None:
    """The driver, on their phone: Delivered → photo, name, signature → Finish."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    try:
        sign_in(phone, world.tenant, email)
        phone.goto(f"{world.tenant.url}/driver/")
        phone.locator(f"#driver-stop-{order_id}").get_by_role("link", name="Delivered").click()
        phone.get_by_label("Photo").set_input_files(photo)
        phone.get_by_label("Received by").fill("Robin Porch")
        pad = phone.locator("#signature-pad").bounding_box()
        phone.mouse.move(pad["x"] + 30, pad["y"] + 120)
        phone.mouse.down()
        for k in range(1, 12):
            phone.mouse.move(pad["x"] + 30 + 25 * k, pad["y"] + 120 - (k % 3) * 30, steps=3)
        phone.mouse.up()
        phone.get_by_role("button", name="Finish the stop").click()
        stop = phone.locator(f"#driver-stop-{order_id}")
        stop.locator("[data-status-label]").get_by_text("Delivered").wait_for()
        stop.locator(".pending").wait_for(state="hidden")  # sent from the app's outbox
        assert phone.url.endswith("/driver/")
    finally:
        context.close()


def test_the_tracking_page_follows_a_delivery_to_the_end(
    live_server_url, django_db_blocker, page, browser, tmp_path
):
    world = make_world(django_db_blocker, live_server_url, "trackpage")
    host, token = world.tenant.host, world.token
    # the driver finishes the stop before (this customer's order is the next one)
    drive(host, token, [{"type": "stop", "order": world.heading, "event": "delivered"}])
    public = live_server_url  # http://localhost:<port>: the public host
    url = f"{public}/t/{world.other_link}"

    response = page.goto(url)
    assert response.status == 200
    page.get_by_role("heading", name="Out for delivery today").wait_for()
    assert page.locator("#track-map").count() == 0  # no position before the driver sets off

    drive(host, token, [{"type": "stop", "order": world.other, "event": "en_route"}])
    page.get_by_role("heading", name="On the way to you").wait_for()  # reloaded by the socket
    page.locator("#track-map.leaflet-container").wait_for()
    first, later = fix(30, lat=51.50), {**fix(31, lat=51.505), "t": fix(30)["t"] + 5000}
    drive(host, token, [{"type": "fixes", "fixes": [first]}])
    page.wait_for_function(MAP_AT, arg=first["lat"])
    drive(host, token, [{"type": "fixes", "fixes": [later]}])
    page.wait_for_function(MAP_AT, arg=later["lat"])

    photo = _photo(tmp_path / "door.jpg")
    driver_delivers_with_proof(browser, world, "driver@trackpage.test", world.other, photo)
    page.get_by_role("heading", name="Delivered").wait_for()
    assert page.locator("#track-map").count() == 0  # no live location after the delivery
    proof = page.locator("#track-proof")
    assert "received by Robin Porch" in proof.inner_text()
    _loaded(page, "#track-proof img[alt='Photo of your delivery']")
    _loaded(page, "#track-proof img[alt='Signature']")

    office = browser.new_context()
    dispatcher = office.new_page()
    sign_in(dispatcher, world.tenant, "dispatcher@trackpage.test")
    dispatcher.goto(f"{world.tenant.url}/orders/{world.other}/")
    assert "Robin Porch" in dispatcher.locator("#order-proofs").inner_text()
    _loaded(dispatcher, "#order-proofs img[alt='Delivery photo']")
    _loaded(dispatcher, "#order-proofs img[alt='Signature of Robin Porch']")
    office.close()

    with django_db_blocker.unblock(), schema_context(world.tenant.schema):
        TrackingSettings.objects.update_or_create(pk=1, defaults={"tracking_link_ttl_hours": 0})
    expired = page.goto(url)
    assert expired.status == 410
    assert page.get_by_role("heading", name="This delivery is over").count() == 1
    missing = page.goto(f"{public}/t/not-a-real-token")
    assert missing.status == 404
