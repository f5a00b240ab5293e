"""The order page shows the customer's tracking link whole, to copy or open, and every
message body in full (issue 17: the bodies were cut short, and the link with them)."""

from __future__ import annotations

import html

from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order
from notifications.models import Notification
from notifications.services.sending import tracking_url
from tests.conftest import login_client


def test_the_order_page_shows_the_tracking_link_to_copy_and_open(alpha, settings):
    settings.PUBLIC_BASE_URL = "http://localhost:8100"
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Ada Link",
            address_line1="1 High Street",
            delivery_date=timezone.localdate(),
        )
        link = tracking_url(order)
        body = "Hello Ada, your parcel is on its way. " * 6 + f"Follow it here: {link} (end)"
        Notification.objects.create(
            order=order, event="out_for_delivery", channel="sms", to="+447700900123", body=body
        )
    assert link.startswith("http://localhost:8100/t/") and len(body) > 200

    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{order.pk}/")

    assert page.status_code == 200
    text = page.content.decode()
    assert f'<code id="tracking-link" class="wrap">{link}</code>' in text
    assert 'data-copy="tracking-link"' in text and ">Copy</button>" in text
    assert f'href="{link}" target="_blank" rel="noopener noreferrer"' in text
    assert html.escape(body) in text  # the whole body, the link in it too
    assert "onclick=" not in text  # the Content-Security-Policy allows no inline handlers
    again = login_client(alpha.host, alpha.dispatcher_email).get(f"/orders/{order.pk}/")
    assert link in again.content.decode()  # the same link every time


def test_the_tracking_link_is_not_shown_to_a_driver(alpha):
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(customer_name="Bo Hidden", delivery_date=timezone.localdate())
    page = login_client(alpha.host, alpha.driver_email).get(f"/orders/{order.pk}/")
    # signed in, so no redirect to the login page: the role check's page, with no link
    assert page.status_code == 403
    assert "/t/" not in page.content.decode() and "tracking-link" not in page.content.decode()
