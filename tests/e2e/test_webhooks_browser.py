"""The owner adds a webhook on its page, an order comes in over the API, the receiver on
loopback gets it signed, and the owner sees the delivery in the log and replays it."""

from __future__ import annotations

import json
import urllib.request

from django_tenants.utils import schema_context
from standardwebhooks.webhooks import Webhook

from tests.conftest import tenant_today
from tests.e2e.conftest import live_tenant, sign_in, wait_until
from tests.webhooks.receiver import running_receiver


def _post_order(tenant, key: str) -> dict:
    body = json.dumps(
        {
            "customer_name": "Web Hook",
            "address_line1": "1 High St",
            "lat": 51.5,
            "lng": -0.1,
            "delivery_date": str(tenant_today(1)),
        }
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{tenant.port}/api/v1/orders",
        data=body.encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Host": tenant.host,
        },
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        return json.loads(response.read())


def test_the_owner_adds_a_webhook_and_replays_a_delivery(live_server_url, django_db_blocker, page):
    from tenants.services.provisioning import api_key_create
    from webhooks.models import Subscription

    tenant = live_tenant(django_db_blocker, live_server_url, "hooks")
    with django_db_blocker.unblock():
        _, key = api_key_create(tenant=tenant.provisioned.tenant, name="store")
    with running_receiver() as receiver:
        sign_in(page, tenant, tenant.owner_email)
        page.goto(f"{tenant.url}/settings/webhooks/")
        page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data/")
        page.get_by_label("Order created").check()
        page.get_by_role("button", name="Add webhook").click()
        page.get_by_text("public addresses only").wait_for()
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("Order created").check()
        page.get_by_role("button", name="Add webhook").click()
        page.get_by_text(f"Webhook to {receiver.url} added.").wait_for()

        order = _post_order(tenant, key)  # jobs run inline in the test server (Q_SYNC)
        wait_until(lambda: len(receiver.requests) == 1)
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            secret = Subscription.objects.get().secret
        first = receiver.requests[0]
        payload = Webhook(secret).verify(first["body"], first["headers"])
        assert payload["data"]["order"]["id"] == order["id"]

        page.reload()
        row = page.locator("#webhook-deliveries tbody tr").first
        assert "order.created" in row.inner_text() and "Delivered" in row.inner_text()
        assert "200" in row.inner_text()
        page.locator("summary", has_text="Show").click()
        assert page.locator("#webhook-secret").inner_text() == secret
        row.get_by_role("button", name="Replay").click()
        page.get_by_text("queued again").wait_for()
        wait_until(lambda: len(receiver.requests) == 2)
    again = receiver.requests[1]
    assert again["headers"]["webhook-id"] == first["headers"]["webhook-id"]
    Webhook(secret).verify(again["body"], again["headers"])
