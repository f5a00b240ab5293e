"""A dispatcher types an address into the order form, picks a suggestion from the
business's road region (central Helsinki, the real extract), creates the order, then drags
its pin on the order page: put back once, then saved and remembered for the address."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.conftest import tenant_today
from tests.e2e.conftest import live_tenant, sign_in, wait_until

pytestmark = pytest.mark.browser


def _drag(page, selector: str, dx: int, dy: int) -> None:
    page.locator("#order-map").scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()


def test_type_ahead_fills_the_order_and_the_pin_is_dragged_and_remembered(
    live_server_url, page, django_db_blocker, helsinki_roads
):
    from dispatch.models import LocationCorrection, Order
    from tenants.models import Tenant

    tenant = live_tenant(
        django_db_blocker, live_server_url, "geo", users=(("d@geo.test", "dispatcher"),)
    )
    with django_db_blocker.unblock():
        Tenant.objects.filter(pk=tenant.provisioned.tenant.pk).update(road_region="helsinki")
    sign_in(page, tenant, "d@geo.test")

    page.goto(f"{tenant.url}/orders/new/")
    page.get_by_label("Customer name").fill("Ada Lovelace")
    page.get_by_label("Delivery date").fill(tenant_today(1).isoformat())
    address = page.locator("#id_address_line1")
    address.press_sequentially("Aleksanterinktu 52", delay=20)  # a typo, as people type
    option = page.get_by_role("option", name="Aleksanterinkatu 52, 00100 Helsinki")
    option.wait_for()
    assert page.locator(".typeahead-attribution").inner_text() == "© OpenStreetMap contributors"
    assert address.get_attribute("aria-expanded") == "true"
    option.click()
    assert address.input_value() == "Aleksanterinkatu 52"
    assert page.locator("#id_postcode").input_value() == "00100"
    assert page.locator("#id_city").input_value() == "Helsinki"
    lat, lng = (
        float(page.locator("#id_lat").input_value()),
        float(page.locator("#id_lng").input_value()),
    )
    assert 60.16 < lat < 60.18 and 24.93 < lng < 24.96
    page.get_by_role("button", name="Create order").click()
    page.get_by_text("for Ada Lovelace created.").wait_for()

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        order = Order.objects.get(customer_name="Ada Lovelace")
        assert (order.geocode_status, round(order.lat, 5)) == ("provided", round(lat, 5))
    pin = page.locator("#order-pin")
    pin.wait_for()
    start = (pin.get_attribute("data-lat"), pin.get_attribute("data-lng"))

    # dragged, then put back: nothing is saved
    _drag(page, "#order-pin", 80, 50)
    page.get_by_role("button", name="Put it back").wait_for()
    assert (pin.get_attribute("data-lat"), pin.get_attribute("data-lng")) != start
    page.get_by_role("button", name="Put it back").click()
    assert (pin.get_attribute("data-lat"), pin.get_attribute("data-lng")) == start
    page.get_by_text("The pin is back where the order is.").wait_for()

    # dragged again, and saved
    _drag(page, "#order-pin", -70, 40)
    page.get_by_role("button", name="Save this location").click()
    page.get_by_text("Location saved. Orders to").wait_for()
    moved = (float(pin.get_attribute("data-lat")), float(pin.get_attribute("data-lng")))
    assert pin.get_attribute("data-saved") == "1"
    assert page.locator("#order-location").inner_text().startswith(f"{moved[0]:.5f}")

    def saved():
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            order.refresh_from_db()
            correction = LocationCorrection.objects.filter(order=order).first()
            return correction and (order, correction)

    order, correction = wait_until(saved, timeout=10)
    assert (round(order.lat, 5), round(order.lng, 5)) == (round(moved[0], 5), round(moved[1], 5))
    assert correction.address == "Aleksanterinkatu 52, 00100 Helsinki"
    assert order.lat < lat and order.lng < lng  # down and to the left of where it was


def test_an_address_needing_a_location_is_picked_in_the_csv_review(
    django_db_setup, page, django_db_blocker, helsinki_roads, tmp_path
):
    """A server of its own, with the local geocoder (the suite's servers have none)."""
    from dispatch.models import LocationCorrection
    from tenants.models import Tenant
    from tests.e2e.conftest import running_web

    day = tenant_today(2).isoformat()
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "Order ID,Customer,Address,City,Delivery Date\n"
        f"H-1,Ada,Aleksanterinkatu 52,Helsinki,{day}\n"
        f"H-2,Ben,Aleksanterinkatu 999,Helsinki,{day}\n"
    )
    with running_web(GEOCODER="local") as url:
        tenant = live_tenant(
            django_db_blocker, url, "geocsv", users=(("d@geocsv.test", "dispatcher"),)
        )
        with django_db_blocker.unblock():
            Tenant.objects.filter(pk=tenant.provisioned.tenant.pk).update(road_region="helsinki")
        sign_in(page, tenant, "d@geocsv.test")
        page.goto(f"{tenant.url}/imports/")
        page.get_by_label("CSV file").set_input_files(str(csv))
        page.get_by_role("button", name="Upload").click()
        page.get_by_role("button", name="Check the rows").click()
        page.locator("#preview").wait_for()
        found = page.locator("#sample-line-2 [data-location-cell]")
        assert found.get_attribute("data-located") == "found"
        assert "Aleksanterinkatu 52, 00100 Helsinki" in found.inner_text()
        needs = page.locator("#sample-line-3 [data-location-cell]")
        assert needs.get_attribute("data-located") == "needs"
        assert "needs a location" in needs.inner_text()
        search = page.get_by_label("Search the address of line 3")
        search.fill("")
        search.press_sequentially("Aleksanterinkatu 52", delay=20)
        page.get_by_role("option", name="Aleksanterinkatu 52, 00100 Helsinki").click()
        page.locator('#sample-line-3 [data-located="picked"]').wait_for()
        assert "✓ Aleksanterinkatu 52, 00100 Helsinki" in needs.inner_text()

        def remembered():
            with django_db_blocker.unblock(), schema_context(tenant.schema):
                return LocationCorrection.objects.filter(
                    address__startswith="Aleksanterinkatu 999"
                ).first()

        correction = wait_until(remembered, timeout=10)
        assert correction.source == "search" and correction.label.startswith("Aleksanterinkatu 52")
