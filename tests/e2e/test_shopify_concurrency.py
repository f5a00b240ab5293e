"""One Shopify event delivered five times at once, through real web processes: one
stored event, one order (the job runs inline there, Q_SYNC=1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from django_tenants.utils import schema_context

from tests.dispatch import shopify_payloads as sp
from tests.e2e.conftest import live_tenant


def test_one_event_delivered_five_times_at_once_creates_one_order(
    live_server_url, second_live_server_url, django_db_blocker
):
    from dispatch.models import Order, WebhookEvent
    from dispatch.services.shopify import integration_save

    tenant = live_tenant(django_db_blocker, live_server_url, "shop")
    domain = tenant.provisioned.domain.domain
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        integration_save(shop_domain=sp.SHOP, client_secret=sp.SECRET)
    raw = sp.body(sp.order())
    headers = sp.http_headers(raw, topic="orders/create", event_id="evt-5x")
    # Django serves a process's sync views one at a time: two processes make it a race.
    ports = [url.rsplit(":", 1)[1] for url in (live_server_url, second_live_server_url)]

    with ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(lambda n: sp.deliver_over_http(ports[n % 2], domain, raw, headers), range(5))
        )
    assert [status for status, _ in answers] == [200] * 5
    assert sorted(body["status"] for _, body in answers) == ["accepted"] + ["duplicate"] * 4

    tampered = raw.replace(b"Baker Street", b"Evil Street")
    other = sp.http_headers(raw, topic="orders/create", event_id="evt-tampered")
    assert sp.deliver_over_http(ports[0], domain, tampered, other)[0] == 401

    with django_db_blocker.unblock(), schema_context(tenant.schema):
        assert list(WebhookEvent.objects.values_list("event_id", "status")) == [
            ("evt-5x", "processed")  # its job ran inline (Q_SYNC)
        ]
        order = Order.objects.get()
        assert (order.source, order.external_id) == ("shopify", str(sp.ORDER["id"]))
        assert order.events.count() == 1
