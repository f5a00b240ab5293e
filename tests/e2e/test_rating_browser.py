"""The customer rates a delivered order on their tracking page, in Chromium on a phone-sized
screen: two stars and a comment, thanked in place (the page's script), the rating stored
for the driver who delivered it and the dispatcher alerted; the form never comes back. On
a desktop-sized screen without JavaScript, the plain form post does the same."""

from __future__ import annotations

from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, sign_in
from tests.e2e.test_tracking_page_browser import drive
from tests.e2e.test_tracking_ws import make_world


def _delivered(django_db_blocker, live_server_url, slug: str):
    """A tenant whose driver has just delivered the order it was heading to, and that
    order's tracking page."""
    world = make_world(django_db_blocker, live_server_url, slug)
    drive(
        world.tenant.host,
        world.token,
        [{"type": "stop", "order": world.heading, "event": "delivered"}],
    )
    return world, f"{live_server_url}/t/{world.heading_link}"


def _stored(django_db_blocker, world, order_id: int):
    from routing.models import DispatchAlert
    from tracking.models import DeliveryRating

    with django_db_blocker.unblock(), schema_context(world.tenant.schema):
        rating = DeliveryRating.objects.filter(order_id=order_id).first()
        alerts = list(
            DispatchAlert.objects.filter(order_id=order_id).values_list("kind", flat=True)
        )
    return rating, alerts


def test_the_customer_rates_a_delivery_with_two_stars_and_the_dispatcher_sees_it(
    live_server_url, django_db_blocker, browser
):
    world, url = _delivered(django_db_blocker, live_server_url, "rating")

    with csp_checked_page(browser, viewport={"width": 390, "height": 844}) as page:
        assert page.goto(url).status == 200
        page.get_by_role("heading", name="Delivered").wait_for()
        form = page.locator("#rating-form")
        form.wait_for()
        box = form.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # fits the phone's width
        page.get_by_role("button", name="Send rating").click()  # no stars chosen
        error = page.locator("#rating-stars-error")
        error.wait_for()
        assert error.inner_text() == "Choose from 1 to 5 stars."
        page.locator('label[for="rating-star-2"]').click()  # the second star
        assert page.get_by_label("2 stars").is_checked()
        page.get_by_label("Anything to add?").fill("Left at the wrong door")
        page.get_by_role("button", name="Send rating").click()
        page.get_by_role("heading", name="Thanks — you rated 2 stars").wait_for()
        assert page.locator("#rating-form").count() == 0
        assert "Left at the wrong door" in page.locator("#track-rating").inner_text()
        page.reload()
        page.get_by_role("heading", name="Thanks — you rated 2 stars").wait_for()
        assert page.locator("#rating-form").count() == 0
        assert "Left at the wrong door" in page.locator("#track-rating").inner_text()

    rating, alerts = _stored(django_db_blocker, world, world.heading)
    assert rating is not None and (rating.stars, rating.comment) == (2, "Left at the wrong door")
    assert rating.driver_id == world.driver_id
    assert alerts == ["low_rating"]

    with csp_checked_page(browser) as office:
        sign_in(office, world.tenant, "dispatcher@rating.test")
        office.goto(f"{world.tenant.url}/")
        alert = office.locator("#dispatch-alerts .kind-low_rating")
        alert.wait_for()
        assert "Low customer rating" in alert.inner_text()
        alert.get_by_role("link", name="Open order").click()
        office.wait_for_url(f"**/orders/{world.heading}/")


def test_without_javascript_the_form_posts_and_the_page_thanks(
    live_server_url, django_db_blocker, browser
):
    world, url = _delivered(django_db_blocker, live_server_url, "ratingnojs")
    viewport = {"width": 1440, "height": 900}
    with csp_checked_page(browser, viewport=viewport, java_script_enabled=False) as page:
        assert page.goto(url).status == 200
        page.get_by_label("5 stars").focus()
        page.keyboard.press("Space")  # the radios work from the keyboard
        assert page.get_by_label("5 stars").is_checked()
        page.get_by_role("button", name="Send rating").click()
        page.get_by_role("heading", name="Thanks — you rated 5 stars").wait_for()
        assert page.url == url + "#track-rating"
    rating, alerts = _stored(django_db_blocker, world, world.heading)
    assert rating.stars == 5 and alerts == []
