"""The owner writes an SMS template with a live preview and its segment count, saves it,
and the dispatcher sees the message and its attempts on the order."""

from __future__ import annotations

from datetime import date

from django_tenants.utils import schema_context

from tests.e2e.conftest import live_tenant, sign_in


def test_the_owner_previews_and_saves_a_template(live_server_url, django_db_blocker, page):
    from dispatch.models import Order
    from notifications.services import sending as services

    tenant = live_tenant(django_db_blocker, live_server_url, "msgs")
    sign_in(page, tenant, tenant.owner_email)
    page.goto(f"{tenant.url}/settings/messages/")
    box = page.get_by_label("delivered.sms", exact=True)
    box.fill("Hello {{ customer }}, order {{ order }} is with you. " * 5)
    preview = page.locator("#preview-deliveredsms")
    preview.get_by_text("Hello Sam, order #1042 is with you.", exact=False).wait_for()
    assert "2 SMS segments (GSM-7)" in preview.inner_text()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Notification settings saved.").wait_for()

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        order = Order.objects.create(
            customer_name="Sam Lee",
            customer_phone="+447700900999",
            external_id="M-7",
            delivery_date=date.today(),
        )
        note = next(n for n in services.notify_event(order, "delivered") if n.channel == "sms")
        services.deliver(note.pk)
    page.goto(f"{tenant.url}/orders/{order.pk}/")
    messages = page.locator("#order-messages")
    messages.get_by_text("Hello Sam, order M-7 is with you.", exact=False).wait_for()
    assert "Sent" in messages.inner_text() and "sent" in messages.inner_text()
