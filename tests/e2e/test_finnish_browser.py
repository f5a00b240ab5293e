"""A Finnish customer of an English-speaking business, through a whole delivery (issue 26):
the SMS and the email that say the parcel is on its way, the tracking page in Chromium
while the driver comes, the delivered page and its rating, all in Finnish, because the
order says so. The words expected are looked up in the shipped Finnish catalogs, and each
must differ from its English (a catalog that lost them fails here, not silently)."""

from __future__ import annotations

from django.core import mail
from django.utils import translation
from django_tenants.utils import schema_context

from tests.e2e.conftest import csp_checked_page
from tests.e2e.test_tracking_page_browser import drive
from tests.e2e.test_tracking_ws import make_world


def _finnish(english: str, *, plural: str = "", n: int = 1) -> str:
    """`english` in the shipped Finnish catalog, which must have it."""
    with translation.override("fi"):
        words = translation.ngettext(english, plural, n) if plural else translation.gettext(english)
    assert words and words != english, f"no Finnish for {english!r}"
    return words


def _finnish_order(django_db_blocker, world) -> None:
    """The order the driver heads to speaks Finnish and hears by SMS and email."""
    from dispatch.models import Order
    from notifications.models import NotificationSettings

    with django_db_blocker.unblock(), schema_context(world.tenant.schema):
        NotificationSettings.objects.update_or_create(
            pk=1,
            defaults={
                "sms_events": ["out_for_delivery", "delivered"],
                "email_events": ["out_for_delivery", "delivered"],
            },
        )
        Order.objects.filter(pk=world.heading).update(
            language="fi",
            customer_name="Aino Virtanen",
            customer_phone="+358401234567",
            customer_email="aino@example.test",
        )


def _sent(django_db_blocker, world, event: str) -> tuple[str, object]:
    """The order's `event` messages, sent as the worker would (or already by the running
    server, which sends a delivery's own messages when the driver reports it): (the SMS's
    text as sent, the email as this process sent it, or None)."""
    from notifications.models import Notification
    from notifications.services import sending as services

    with django_db_blocker.unblock(), schema_context(world.tenant.schema):
        services.notify_orders([world.heading], event)
        for pk in Notification.objects.filter(status="pending").values_list("pk", flat=True):
            services.deliver(pk)
        sms = Notification.objects.get(order_id=world.heading, event=event, channel="sms")
        assert sms.status == "sent", (sms.status, sms.error)
    emails = [m for m in mail.outbox if m.to == ["aino@example.test"]]
    return sms.body, (emails[-1] if emails else None)


def _expected(django_db_blocker, world, event: str, channel: str) -> str:
    """The default `event` template as the Finnish catalog has it (placeholders and all)."""
    from notifications.models import NotificationSettings
    from notifications.services.messages import template_for

    with django_db_blocker.unblock(), schema_context(world.tenant.schema):
        row = NotificationSettings.objects.get(pk=1)
        with translation.override("fi"):
            finnish = str(template_for(row, event, channel))
        with translation.override("en"):
            english = str(template_for(row, event, channel))
    assert finnish != english, f"the {event} {channel} template has no Finnish"
    return finnish


def _words_of(template: str) -> list[str]:
    """The template's plain words (no placeholders, no optional parts), for finding in
    the text sent."""
    import re

    plain = re.sub(r"\[[^\]]*\]|\{[a-z_]+\}", " ", template)
    return [w.strip(".,:;!?") for w in plain.split() if len(w.strip(".,:;!?")) >= 4]


def test_a_finnish_customer_reads_messages_tracking_page_and_rating_in_finnish(
    live_server_url, django_db_blocker, browser, settings
):
    settings.SMS_BACKEND = "memory"
    mail.outbox.clear()
    world = make_world(django_db_blocker, live_server_url, "suomi")
    _finnish_order(django_db_blocker, world)

    # 1. on its way: the SMS and the email in Finnish, from the Finnish defaults
    sms, email = _sent(django_db_blocker, world, "out_for_delivery")
    assert email is not None
    words = _words_of(_expected(django_db_blocker, world, "out_for_delivery", "sms"))
    assert words and all(w in sms for w in words), (words, sms)
    assert "on its way" not in sms and "Track it" not in sms
    assert f"/t/{world.heading_link}" in sms
    email_words = _words_of(_expected(django_db_blocker, world, "out_for_delivery", "email"))
    assert all(w in email.body for w in email_words), (email_words, email.body)
    assert "Hello" not in email.body and "Aino" in email.body
    assert "Out for delivery" not in email.subject
    assert _finnish("Out for delivery") in email.subject

    url = f"{live_server_url}/t/{world.heading_link}"
    with csp_checked_page(browser, viewport={"width": 390, "height": 844}) as page:
        # 2. the tracking page while the driver comes
        assert page.goto(url).status == 200
        assert page.locator("html").get_attribute("lang") == "fi"
        page.get_by_role("heading", name=_finnish("On the way to you")).wait_for()
        assert "On the way to you" not in page.locator("body").inner_text()

        # 3. delivered: the page says so in Finnish and asks for a rating in Finnish
        drive(
            world.tenant.host,
            world.token,
            [{"type": "stop", "order": world.heading, "event": "delivered"}],
        )
        page.reload()
        page.get_by_role("heading", name=_finnish("Delivered")).wait_for()
        page.get_by_role("heading", name=_finnish("How did we do?")).wait_for()
        body = page.locator("body").inner_text()
        for english in ("Delivered", "How did we do?", "Send rating", "Anything to add?"):
            assert english not in body, english
        page.get_by_role("button", name=_finnish("Send rating")).click()  # no stars yet
        page.locator("#rating-stars-error").wait_for()
        assert page.locator("#rating-stars-error").inner_text() == _finnish(
            "Choose from 1 to 5 stars."
        )
        page.locator('label[for="rating-star-5"]').click()
        page.get_by_role("button", name=_finnish("Send rating")).click()
        thanks = _finnish(
            "Thanks \u2014 you rated %(stars)s star",
            plural="Thanks \u2014 you rated %(stars)s stars",
            n=5,
        ) % {"stars": 5}
        page.get_by_role("heading", name=thanks).wait_for()

    # 4. the delivered SMS in Finnish too
    sms, _ = _sent(django_db_blocker, world, "delivered")
    words = _words_of(_expected(django_db_blocker, world, "delivered", "sms"))
    assert words and all(w in sms for w in words), (words, sms)
    assert "was delivered" not in sms
