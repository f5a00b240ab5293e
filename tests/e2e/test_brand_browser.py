"""The owner gives the business its look on the Brand page, in Chromium at 1440x900: a logo
and a brand colour, seen at once in the preview (before saving) and kept after saving; the
customer's tracking page, on a phone (390x844), then wears them: the logo in the header,
the header in the brand colour with readable text, the browser's theme colour; and so does
the driver app's header."""

from __future__ import annotations

import io
import os
from pathlib import Path

from django_tenants.utils import schema_context
from PIL import Image, ImageDraw

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in

SHOTS = Path(os.environ.get("E2E_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".data"))


def _logo(path: Path) -> Path:
    image = Image.new("RGBA", (640, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 632, 192), radius=40, fill=(255, 255, 255, 255))
    draw.ellipse((30, 30, 170, 170), fill=(122, 31, 92, 255))
    draw.rectangle((200, 80, 600, 120), fill=(40, 40, 40, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    path.write_bytes(out.getvalue())
    return path


def _rgb(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).{prop}")


def test_the_owner_brands_the_tracking_page_and_the_customer_sees_it(
    live_server_url, django_db_blocker, browser, tmp_path
):
    from dispatch.models import Order
    from tests.conftest import tenant_today
    from tracking.services.day import tracking_link_for

    tenant = live_tenant(
        django_db_blocker, live_server_url, "brand", users=(("driver@brand.test", "driver"),)
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        order = Order.objects.create(customer_name="Brand customer", delivery_date=tenant_today())
        link = tracking_link_for(order)
    SHOTS.mkdir(exist_ok=True)
    logo = _logo(tmp_path / "logo.png")

    with csp_checked_page(browser, viewport={"width": 1440, "height": 900}) as page:
        sign_in(page, tenant, tenant.owner_email)
        page.goto(f"{tenant.url}/settings/brand/")
        page.get_by_role("heading", name="Brand", exact=True).wait_for()
        page.get_by_label("Brand colour").fill("#7a1f5c")
        page.get_by_label("Logo").set_input_files(str(logo))
        head = "#preview-track-head"
        assert _rgb(page, head, "backgroundColor") == "rgb(122, 31, 92)"  # before saving
        assert _rgb(page, head, "color") == "rgb(255, 255, 255)"  # white reads best on it
        preview_logo = page.locator(f"{head} .preview-logo")
        preview_logo.wait_for()
        assert preview_logo.get_attribute("src").startswith("blob:")
        page.get_by_label("Brand colour").fill("#777777")  # unreadable with any text
        page.locator("#brand_colour-warning").wait_for()
        page.get_by_label("Brand colour").fill("#7a1f5c")
        assert page.locator("#brand_colour-warning").is_hidden()
        page.screenshot(path=str(SHOTS / "brand-page-1440.png"), full_page=True)
        page.get_by_role("button", name="Save brand").click()
        page.get_by_text("Brand saved.").wait_for()
        saved = page.locator("#brand-current-logo")
        saved.wait_for()
        assert page.eval_on_selector("#brand-current-logo", "img => img.naturalWidth") == 512
        assert "/settings/brand/logo/" in saved.get_attribute("src")
        assert _rgb(page, head, "backgroundColor") == "rgb(122, 31, 92)"
        page.set_viewport_size({"width": 390, "height": 844})  # the owner on a phone
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SHOTS / "brand-page-390.png"), full_page=True)

    with csp_checked_page(browser, viewport={"width": 390, "height": 844}) as phone:
        assert phone.goto(f"{live_server_url}/t/{link}").status == 200
        header = phone.locator("header.brand-head")
        header.wait_for()
        assert _rgb(phone, "header.brand-head", "backgroundColor") == "rgb(122, 31, 92)"
        assert _rgb(phone, "header.brand-head", "color") == "rgb(255, 255, 255)"
        logo_img = phone.get_by_role("img", name="Brand Co")
        logo_img.wait_for()
        phone.wait_for_function(
            "() => document.querySelector('header.brand-head img').naturalWidth > 0"
        )
        box = logo_img.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] <= 48
        theme = phone.eval_on_selector('meta[name="theme-color"]', "m => m.content")
        assert theme == "#7a1f5c"
        phone.screenshot(path=str(SHOTS / "brand-track-390.png"), full_page=True)
        phone.set_viewport_size({"width": 1440, "height": 900})
        phone.screenshot(path=str(SHOTS / "brand-track-1440.png"))

    with csp_checked_page(browser, viewport={"width": 390, "height": 844}) as driver:
        sign_in(driver, tenant, "driver@brand.test")
        driver.wait_for_url("**/driver/")
        assert _rgb(driver, "header.app-head", "backgroundColor") == "rgb(122, 31, 92)"
        driver.wait_for_function(
            "() => document.querySelector('header.app-head img.driver-logo').naturalWidth > 0"
        )
        driver.screenshot(path=str(SHOTS / "brand-driver-390.png"))
