"""Customer messages in the Prometheus metrics (core/metrics.py)."""

from tests.conftest import metric_sample


def test_messages_are_counted_by_channel_and_outcome(alpha, memory_sms):
    import datetime as dt

    from django_tenants.utils import schema_context

    from dispatch.models import Order
    from notifications.services import sending as services

    sent = {"channel": "sms", "outcome": "sent"}
    skipped = {"channel": "sms", "outcome": "skipped"}
    email_skipped = {"channel": "email", "outcome": "skipped"}
    before_sent, before_skipped, before_email = (
        metric_sample("dispatch_notifications_total", labels)
        for labels in (sent, skipped, email_skipped)
    )
    with schema_context(alpha.tenant.schema_name):
        order = Order.objects.create(
            customer_name="Metric Mo", customer_phone="+447700900123", delivery_date=dt.date.today()
        )
        note = services.notify(order=order, event="delivered", channel="sms", body="Done")
        assert services.deliver(note.pk) == "sent"
        services.notify(order=order, event="failed", channel="email", body="x")  # no email
    assert metric_sample("dispatch_notifications_total", sent) == before_sent + 1
    assert metric_sample("dispatch_notifications_total", email_skipped) == before_email + 1
    assert metric_sample("dispatch_notifications_total", skipped) == before_skipped
