"""The owner writes an SMS template with placeholders, a live preview and its segment
count, sees an unknown placeholder refused while typing and at save, saves a good one, and
the dispatcher sees the message and its attempts on the order."""

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
    box = page.get_by_label("Delivered by SMS", exact=True)
    preview = page.locator("#preview-deliveredsms")
    # a typo in a placeholder: the preview says so while typing, and the save is refused
    box.fill("Hello {custmer_name}, it is here.")
    preview.get_by_text("did you mean {customer_name}?", exact=False).wait_for()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Nothing was saved", exact=False).wait_for()
    field_errors = page.locator(".message-template", has=page.get_by_label("Delivered by SMS"))
    # the save's errors on the field (the live preview, loaded with the page, says so too)
    saved = field_errors.locator(".field-errors").inner_text()
    assert "{custmer_name} is not a placeholder" in saved
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert not services.notification_settings().templates

    box = page.get_by_label("Delivered by SMS", exact=True)
    box.fill("Hello ")
    # the chip inserts its placeholder where the cursor is, and the preview follows
    page.locator(
        '[data-insert-placeholder="customer_name"][data-target="id_template_delivered_sms"]'
    ).click()
    assert box.input_value() == "Hello {customer_name}"
    preview.get_by_text("Hello Sam", exact=False).wait_for()
    box.fill("Hello {customer_name}, order {order} is with you[ at {eta}]. " * 5)
    preview.get_by_text("Hello Sam, order #1042 is with you at 10:40.", exact=False).wait_for()
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
    # no ETA for this order: the optional part is left out
    messages.get_by_text("Hello Sam, order M-7 is with you. Hello", exact=False).wait_for()
    assert "Sent" in messages.inner_text() and "sent" in messages.inner_text()
