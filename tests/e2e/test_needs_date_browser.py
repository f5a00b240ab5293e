"""A Shopify order whose delivery date cannot be read waits, needing a date: the dispatcher
sees it counted on the board, finds it on the orders page with the date as the store
wrote it, and gives it its day, in the browser."""

from __future__ import annotations

import urllib.request

import pytest
from django_tenants.utils import schema_context

from tests.conftest import tenant_today
from tests.dispatch import shopify_payloads as sp
from tests.e2e.conftest import live_tenant, sign_in

pytestmark = pytest.mark.browser

WRITTEN = "Saturday after the market"


def _post_webhook(tenant, payload: dict) -> int:
    raw = sp.body(payload)
    headers = {
        name.removeprefix("HTTP_").replace("_", "-").title(): value
        for name, value in sp.headers(raw, topic="orders/create", event_id="e2e-1").items()
    }
    port = tenant.host.rsplit(":", 1)[1]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/integrations/shopify/webhooks",
        data=raw,
        headers={**headers, "Host": tenant.host, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def test_dispatcher_gives_a_date_to_an_order_whose_date_could_not_be_read(
    live_server_url, page, django_db_blocker
):
    from dispatch.models import Order, WebhookEvent
    from dispatch.services import shopify

    tenant = live_tenant(
        django_db_blocker, live_server_url, "undated", users=(("d@undated.test", "dispatcher"),)
    )
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        shopify.integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
    payload = sp.order(note_attributes=[{"name": "Delivery-Date", "value": WRITTEN}], tags="")
    assert _post_webhook(tenant, payload) == 200
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        (event,) = WebhookEvent.objects.all()
        assert shopify.webhook_event_process(event.pk) == "processed"  # the queued job
        order = Order.objects.get()
        assert (order.delivery_date, order.delivery_date_as_written) == (None, WRITTEN)

    sign_in(page, tenant, "d@undated.test")
    page.goto(f"{tenant.url}/board/?date={tenant_today(1)}")
    page.get_by_role("link", name="1 order needs a date").click()

    page.get_by_role("heading", name="Orders").wait_for()
    row = page.get_by_role("row").filter(has_text="Jon Snow")
    assert "needs a date" in row.inner_text()
    assert WRITTEN in row.inner_text()
    day = tenant_today(3)
    row.get_by_label(f"Date for order {order.pk}").fill(day.isoformat())
    row.get_by_role("button", name="Set date").click()

    page.get_by_text(f"Order #{order.pk} is booked for").wait_for()
    assert page.get_by_text("No orders match.").is_visible()  # none left needing a date
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        order.refresh_from_db()
        assert (order.delivery_date, order.delivery_date_as_written) == (day, "")
        assert order.status == "unassigned"
    page.goto(f"{tenant.url}/orders/?delivery_date={day}")
    assert "Jon Snow" in page.get_by_role("table").inner_text()
