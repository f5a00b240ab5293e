"""A masked call in the browser (issue 26, item 2): the driver opens their stop on a phone
(headless Chromium, 390x844), taps "Call customer", and the app dials the pool number, not
the customer's; Twilio's signed voice webhook then puts the call through, and the order's
history in the dashboard shows it."""

from __future__ import annotations

import datetime as dt
import http.client
import urllib.parse
from collections.abc import Iterator
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from twilio.request_validator import RequestValidator

from tests.e2e.conftest import csp_checked_page, live_driver, running_web, sign_in, wait_until

TOKEN = "e2e-masked-auth-token-0123456789"
POOL_NUMBER = "+447700900041"
DRIVER_PHONE = "+447700900141"
CUSTOMER_PHONE = "+447700900541"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def masked_server_url(django_db_setup) -> Iterator[str]:
    """The web process with a Twilio auth token, so that signed webhooks are believed."""
    with running_web(TWILIO_AUTH_TOKEN=TOKEN) as url:
        yield url


def _stop_today(django_db_blocker, url: str, prefix: str):
    """A tenant whose driver (with a phone) has one stop today, and a pool of one number."""
    from dispatch.models import Driver, Order, OrderStatus
    from dispatch.services.orders import order_transition
    from notifications.models import ProxyNumber
    from routing.models import Plan, PlanRoute, PlanStop
    from routing.services.routes import version_create

    tenant, driver, van = live_driver(django_db_blocker, url, prefix)
    with django_db_blocker.unblock(), schema_context(tenant.schema):
        Driver.objects.filter(pk=driver.pk).update(phone=DRIVER_PHONE)
        zone = ZoneInfo(tenant.provisioned.tenant.time_zone)
        today = timezone.localdate(timezone=zone)
        order = Order.objects.create(
            customer_name="Masked Customer",
            customer_phone=CUSTOMER_PHONE,
            address_line1="1 High Street",
            delivery_date=today,
            lat=51.51,
            lng=-0.12,
            weight_kg=Decimal("1"),
        )
        now = timezone.now()
        plan = Plan.objects.create(date=today, status="done", solved_at=now, published_at=now)
        route = PlanRoute.objects.create(
            plan=plan,
            driver=driver,
            vehicle=van,
            starts_at=now,
            ends_at=now + dt.timedelta(hours=2),
            distance_m=0,
            duration_s=0,
        )
        at = now + dt.timedelta(minutes=20)
        PlanStop.objects.create(
            route=route, sequence=1, order=order, arrives_at=at, starts_at=at, departs_at=at
        )
        for status in (OrderStatus.PLANNED, OrderStatus.DISPATCHED):
            order_transition(order=order, to=status, actor="test")
        version_create(route, reason="Published")
        ProxyNumber.objects.create(phone=POOL_NUMBER)
    return tenant, driver, order.pk


def _twilio_calls(tenant, *, caller: str, to: str, sid: str) -> str:
    """Twilio's request to the voice webhook, signed as Twilio signs it (for the URL on
    the tenant's host, sent to loopback): the TwiML."""
    path = "/notifications/twilio/masked/voice"
    params = {"CallSid": sid, "From": caller, "To": to}
    signature = RequestValidator(TOKEN).compute_signature(f"{tenant.url}{path}", params)
    connection = http.client.HTTPConnection("127.0.0.1", int(tenant.port), timeout=20)
    try:
        connection.request(
            "POST",
            path,
            body=urllib.parse.urlencode(params),
            headers={
                "Host": tenant.host,
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )
        response = connection.getresponse()
        assert response.status == 200, response.status
        return response.read().decode()
    finally:
        connection.close()


def test_the_driver_calls_the_customer_through_the_pool_number(
    masked_server_url, django_db_blocker, browser
):
    tenant, _driver, order_id = _stop_today(django_db_blocker, masked_server_url, "masked")

    with csp_checked_page(browser, **PHONE) as page:
        sign_in(page, tenant, "driver@masked.test")
        page.wait_for_url("**/driver/")
        # the app is up (driver.js opens stops) once its service worker is
        page.locator("body[data-service-worker=ready]").wait_for(state="attached")
        stop = page.locator(f"#driver-stop-{order_id}")
        head = stop.locator(".stop-head")
        if head.get_attribute("aria-expanded") != "true":  # the app may have opened it
            head.click()
        call = stop.get_by_role("link", name="Call customer")
        call.wait_for()
        assert CUSTOMER_PHONE not in page.content()  # the customer's number is not on the page
        # watch the dialler open instead of leaving the page for tel:
        page.wait_for_function("() => window.driverMasked && window.driverMasked.open")
        page.evaluate("() => { window.driverMasked.open = (url) => { window.opened = url; }; }")
        call.click()
        page.wait_for_function("() => window.opened")
        assert page.evaluate("() => window.opened") == f"tel:{POOL_NUMBER}"
        assert call.get_attribute("href") == f"tel:{POOL_NUMBER}"

    # the driver's phone dials the pool number: Twilio asks what to do with the call
    twiml = _twilio_calls(tenant, caller=DRIVER_PHONE, to=POOL_NUMBER, sid="CA" + "e" * 32)
    assert f'callerId="{POOL_NUMBER}"' in twiml
    assert f"<Number>{CUSTOMER_PHONE}</Number>" in twiml and DRIVER_PHONE not in twiml

    with csp_checked_page(browser) as page:
        sign_in(page, tenant, "dispatcher@masked.test")
        page.wait_for_url(f"{tenant.url}/**")
        page.goto(f"{tenant.url}/orders/{order_id}/")
        row = page.locator("#masked-contacts .masked-contact")
        row.wait_for()
        assert "Call from masked Dana to the customer" in row.inner_text()

    from notifications.models import MaskedContact

    def recorded() -> bool:
        with django_db_blocker.unblock(), schema_context(tenant.schema):
            return MaskedContact.objects.filter(order_id=order_id, kind="call").count() == 1

    wait_until(recorded)
