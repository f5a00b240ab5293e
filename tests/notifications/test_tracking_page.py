"""The public tracking page: found by its token only, expires after the delivery, hides
what the business hides, and slows down token guessers."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django_tenants.utils import schema_context

from dispatch.models import Order
from dispatch.services.orders import order_transition
from notifications.models import NotificationSettings
from tests.conftest import host_client, tenant_today
from tracking.models import TrackingSettings
from tracking.selectors import link_state
from tracking.services.day import tracking_link_for

pytestmark = pytest.mark.django_db

#: The message settings form, filled in as an owner would (tests change a field or two).
MESSAGE_SETTINGS = {
    "sms_events": ["delivered"],
    "email_events": [],
    "monthly_sms_cap": 0,
    "arriving_soon_stops": 2,
    "arriving_soon_minutes": 0,
    "eta_window_minutes": 60,
    "eta_changes_max": 2,
    "order_messages_max": 4,
    "tracking_link_ttl_hours": 37,
}


@pytest.fixture(autouse=True)
def _fresh_guess_counts():
    cache.clear()
    yield
    cache.clear()


def _order(name: str, **fields) -> Order:
    return Order.objects.create(
        customer_name=name, delivery_date=tenant_today(1), lat=51.5, lng=-0.1, **fields
    )


def test_the_page_shows_its_own_order_only_and_expires_after_the_delivery(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        mine = _order(
            "Gil Mine", external_id="A-1", time_windows=[{"start": "09:00", "end": "12:00"}]
        )
        token = tracking_link_for(mine)
    with schema_context(beta.tenant.schema_name):
        theirs = _order("Hal Theirs", external_id="B-1")
        other_token = tracking_link_for(theirs)
    public = host_client("localhost")
    page = public.get(f"/t/{token}").content.decode()
    assert "Order A-1" in page and alpha.tenant.name in page
    assert "Delivery window 09:00-12:00" in page  # the window as every message writes it
    assert "B-1" not in page and beta.tenant.name not in page
    assert len(token) >= 43 and token != other_token  # 256 random bits each
    assert host_client(alpha.host).get(f"/t/{token}").status_code == 404  # public host only

    with schema_context(alpha.tenant.schema_name):
        for status in ("planned", "dispatched", "en_route", "arrived", "delivered"):
            mine = order_transition(order=mine, to=status, actor="t")
        assert not link_state(token).expired
        TrackingSettings.objects.update_or_create(pk=1, defaults={"tracking_link_ttl_hours": 0})
        assert link_state(token).expired
    assert public.get(f"/t/{token}").status_code == 410


def test_the_map_is_not_offered_when_the_business_hides_it(alpha):
    with schema_context(alpha.tenant.schema_name):
        TrackingSettings.objects.update_or_create(pk=1, defaults={"tracking_show_map": False})
        order = _order("Ivy Hidden")
        for status in ("planned", "dispatched", "en_route"):
            order = order_transition(order=order, to=status, actor="t")
        token = tracking_link_for(order)
    page = host_client("localhost").get(f"/t/{token}").content.decode()
    assert "On the way to you" in page and 'id="track-map"' not in page


def test_token_guessers_are_slowed_down(alpha, settings):
    settings.TRACKING_GUESS_LIMIT = 3
    public = host_client("localhost")
    assert [public.get(f"/t/guess-{k}").status_code for k in range(4)] == [404, 404, 404, 429]
    with schema_context(alpha.tenant.schema_name):
        token = tracking_link_for(_order("Jo Real"))
    assert public.get(f"/t/{token}").status_code == 429  # until the window passes


def test_the_owner_sets_templates_with_a_preview_and_broken_ones_are_refused(alpha):
    from tests.conftest import login_client

    owner = login_client(alpha.host, alpha.owner_email)
    assert owner.get("/settings/messages/").status_code == 200
    assert (
        login_client(alpha.host, alpha.dispatcher_email).get("/settings/messages/").status_code
        == 403
    )
    preview = owner.post(
        "/settings/messages/preview",
        {"key": "delivered.sms", "template_delivered_sms": "Hi {customer_name}! " * 24},
    )
    assert b"Hi Sam!" in preview.content and b"2 SMS segments (GSM-7)" in preview.content
    base = {**MESSAGE_SETTINGS, "tracking_show_map": "on"}
    bad = owner.post("/settings/messages/", {**base, "template_failed_sms": "{% if %}"})
    assert bad.status_code == 400 and b"is the old syntax" in bad.content
    with schema_context(alpha.tenant.schema_name):
        assert not TrackingSettings.objects.filter(tracking_link_ttl_hours=37).exists()
    good = owner.post("/settings/messages/", {**base, "template_delivered_sms": "Done {order}"})
    assert good.status_code == 302, good.content.decode()[-3000:]
    with schema_context(alpha.tenant.schema_name):
        row, shown = NotificationSettings.objects.get(), TrackingSettings.objects.get()
    assert row.sms_events == ["delivered"] and row.email_events == []
    assert row.templates == {"delivered.sms": "Done {order}"}
    assert not shown.tracking_show_driver_name and shown.tracking_show_map
    assert shown.tracking_link_ttl_hours == 37
    # the brand colour moved to the Brand page: this form neither shows nor takes it
    page = owner.get("/settings/messages/").content.decode()
    assert 'name="brand_colour"' not in page
    colour = owner.post("/settings/messages/", {**base, "brand_colour": "red;}"})
    assert colour.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        assert TrackingSettings.objects.get().brand_colour == shown.brand_colour
