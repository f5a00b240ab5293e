import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Order
from tests.conftest import FIXED_NOW, login_client

# their dates are fixed: the clock is too (time-machine, ticking from FIXED_NOW)
pytestmark = pytest.mark.time_machine(FIXED_NOW, tick=True)

FORM = {
    "customer_name": "Grace Hopper",
    "customer_phone": "020 7946 0123",
    "address_line1": "1 Infinite Loop",
    "city": "London",
    "delivery_date": "2026-12-03",
    "window1_start": "09:00",
    "window1_end": "12:00",
    "service_minutes": "4",
    "items": "2",
    "priority": "2",
}


def _order(schema: str, **fields) -> Order:
    with schema_context(schema):
        return Order.objects.create(
            customer_name=fields.pop("customer_name", f"{schema} customer"),
            delivery_date=fields.pop("delivery_date", dt.date(2026, 12, 3)),
            address_line1="1 High Street",
            **fields,
        )


def test_dispatcher_creates_an_order_from_the_form(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post("/orders/new/", FORM)
    assert response.status_code == 302
    with schema_context("alpha"):
        order = Order.objects.get(customer_name="Grace Hopper")
        assert order.source == "dashboard"
        assert order.customer_phone == "+442079460123"
        assert order.time_windows == [{"start": "09:00", "end": "12:00"}]
        assert order.service_s == 240
        assert order.events.get().actor == f"user:{alpha.dispatcher_email}"
    detail = client.get(response["Location"])
    assert b"Grace Hopper" in detail.content and b"09:00" in detail.content


def test_the_form_shows_every_error_next_to_its_field(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post(
        "/orders/new/",
        {**FORM, "customer_phone": "123", "window1_end": "08:00", "delivery_date": "someday"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "is not a valid phone number" in content
    assert "must end after it starts" in content
    assert "YYYY-MM-DD" in content
    with schema_context("alpha"):
        assert not Order.objects.filter(customer_name="Grace Hopper").exists()


def test_list_filters_by_date_status_and_search(alpha):
    _order("alpha", customer_name="Kept Customer")
    _order("alpha", customer_name="Other Day", delivery_date=dt.date(2026, 12, 4))
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get("/orders/?delivery_date=2026-12-03&status=unassigned&search=kept").content
    assert b"Kept Customer" in page and b"Other Day" not in page
    assert client.get("/orders/?delivery_date=nonsense").status_code == 200


def test_the_unfiltered_list_and_export_show_every_order(alpha):
    _order("alpha", customer_name="Unfiltered Customer")
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert b"Unfiltered Customer" in client.get("/orders/").content
    assert b"Unfiltered Customer" in b"".join(client.get("/imports/export/").streaming_content)


def test_times_are_shown_in_the_tenants_time_zone(alpha):
    from tenants.models import Tenant
    from tenants.services.provisioning import tenant_settings_update

    copy = Tenant.objects.get(pk=alpha.tenant.pk)  # the session's alpha object stays as it was
    tenant_settings_update(
        tenant=copy, name=copy.name, time_zone="Asia/Tokyo", country="GB", locale="en"
    )
    client = login_client(alpha.host, alpha.dispatcher_email)
    created = client.post("/orders/new/", FORM)
    page = client.get(created["Location"]).content.decode()
    with schema_context("alpha"):
        event = Order.objects.get(customer_name="Grace Hopper").events.get()
    tokyo = timezone.localtime(event.created_at, zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"{tokyo.day} {tokyo:%b %Y}, {tokyo:%H:%M}" in page  # "6 Dec 2026, 20:05" (en_GB)


def test_edit_and_cancel_from_the_pages(alpha):
    order = _order("alpha")
    client = login_client(alpha.host, alpha.dispatcher_email)
    edit = client.post(f"/orders/{order.pk}/edit/", {**FORM, "notes": "Gate code 1234"})
    assert edit.status_code == 302
    cancel = client.post(f"/orders/{order.pk}/cancel/", {"reason": "duplicate"}, follow=True)
    assert b"is cancelled" in cancel.content
    with schema_context("alpha"):
        order.refresh_from_db()
        assert (order.notes, order.status) == ("Gate code 1234", "cancelled")
    assert client.post(f"/orders/{order.pk}/edit/", FORM).status_code == 200  # refused, shown


def test_another_tenants_order_is_not_found(alpha, beta):
    beta_order = _order("beta", customer_name="Beta Secret")
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.get(f"/orders/{beta_order.pk}/")
    assert response.status_code == 404 or b"Beta Secret" not in response.content
    assert b"Beta Secret" not in client.get("/orders/").content


def test_drivers_cannot_open_order_pages(alpha):
    client = login_client(alpha.host, alpha.driver_email)
    assert client.get("/orders/").status_code == 403
    assert client.post("/orders/new/", FORM).status_code == 403
