"""The dispatcher copies an order's tracking link from its page, or opens it in a new tab
(issue 17: the link was only in message bodies cut short)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page, live_tenant, sign_in

pytestmark = pytest.mark.browser


def _order_with_link(django_db_blocker, tenant) -> tuple[int, str]:
    """An order of the live tenant, and its tracking token."""
    from dispatch.models import Order
    from tracking.services.day import tracking_link_for

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        order = Order.objects.create(
            customer_name="Cleo Copy",
            address_line1="1 High Street",
            delivery_date=timezone.localdate(),
        )
        return order.pk, tracking_link_for(order)


def test_the_dispatcher_copies_and_opens_the_tracking_link(
    live_server_url, django_db_blocker, browser
):
    dispatcher = "dispatcher@copylink.test"
    tenant = live_tenant(
        django_db_blocker, live_server_url, "copylink", users=((dispatcher, "dispatcher"),)
    )
    order_id, token = _order_with_link(django_db_blocker, tenant)
    link = f"{live_server_url}/t/{token}"  # the server's own port: PORT, as make run sets it
    with csp_checked_page(browser) as page:
        context = page.context
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=tenant.url)
        sign_in(page, tenant, dispatcher)
        page.goto(f"{tenant.url}/orders/{order_id}/")
        shown = page.locator("#tracking-link")
        assert shown.inner_text() == link

        page.get_by_role("button", name="Copy").click()
        page.get_by_role("status").filter(has_text="Copied.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == link

        opener = page.get_by_role("link", name="Open")
        assert opener.get_attribute("href") == link
        assert opener.get_attribute("target") == "_blank"
        with context.expect_page() as opened:
            opener.click()
        tracking = opened.value
        tracking.wait_for_load_state()
        assert tracking.url == link
        tracking.get_by_role("heading", name="Booked").wait_for()
        assert page.url.endswith(f"/orders/{order_id}/")  # the order page stays open


def test_without_the_clipboard_api_copy_selects_the_link(
    live_server_url, django_db_blocker, browser
):
    dispatcher = "dispatcher@selectlink.test"
    tenant = live_tenant(
        django_db_blocker, live_server_url, "selectlink", users=((dispatcher, "dispatcher"),)
    )
    order_id, token = _order_with_link(django_db_blocker, tenant)
    with csp_checked_page(browser) as page:
        # an old browser, or a page on plain HTTP at a public address: no navigator.clipboard
        page.context.add_init_script("delete Navigator.prototype.clipboard;")
        sign_in(page, tenant, dispatcher)
        page.goto(f"{tenant.url}/orders/{order_id}/")
        assert page.evaluate("navigator.clipboard === undefined")
        page.get_by_role("button", name="Copy").click()
        page.locator("#tracking-link-status").filter(has_text="Cop").or_(
            page.locator("#tracking-link-status").filter(has_text="Selected")
        ).wait_for()
        assert page.evaluate("window.getSelection().toString()") == f"{live_server_url}/t/{token}"
