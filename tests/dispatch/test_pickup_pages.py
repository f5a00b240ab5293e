"""The dashboard's order form with "Collect first from…", and the order pages showing
both ends of a pair linked."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Order, PickupDelivery
from tests.conftest import login_client, tenant_today

pytestmark = pytest.mark.django_db


def form(**extra) -> dict:
    return {
        "customer_name": "Grace Receiver",
        "address_line1": "1 Delivery Road",
        "lat": "51.52",
        "lng": "-0.11",
        "delivery_date": str(tenant_today(2)),
        "service_minutes": "4",
        "items": "2",
        "priority": "2",
        "pickup_service_minutes": "5",  # the field's initial value, sent by every browser
        **extra,
    }


PICKUP = {
    "pickup_name": "Corner Bakery",
    "pickup_address_line1": "1 Bakery Lane",
    "pickup_lat": "51.51",
    "pickup_lng": "-0.12",
    "pickup_window_start": "08:00",
    "pickup_window_end": "10:00",
    "pickup_service_minutes": "3",
}


def test_the_form_creates_a_pair_and_the_pages_link_both_ends(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post("/orders/new/", form(**PICKUP))
    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context("alpha"):
        delivery = Order.objects.get(customer_name="Grace Receiver")
        pickup = delivery.pair_as_delivery.pickup
        assert pickup.kind == "pickup" and pickup.customer_name == "Corner Bakery"
        assert pickup.time_windows == [{"start": "08:00", "end": "10:00"}]
        assert pickup.service_s == 180 and pickup.source == "dashboard"

    page = client.get(f"/orders/{delivery.pk}/").content.decode()
    assert "Collect first from" in page and f"/orders/{pickup.pk}/" in page
    page = client.get(f"/orders/{pickup.pk}/").content.decode()
    assert "Pickup for" in page and f"/orders/{delivery.pk}/" in page
    listed = client.get("/orders/").content.decode()
    assert "Pickup</span> Corner Bakery" in listed
    only_pickups = client.get("/orders/?kind=pickup").content.decode()
    assert "Corner Bakery" in only_pickups and "Grace Receiver" not in only_pickups

    edit = client.get(f"/orders/{delivery.pk}/edit/").content.decode()
    assert 'value="Corner Bakery"' in edit and "pickup-section" in edit
    saved = client.post(
        f"/orders/{delivery.pk}/edit/", form(**{**PICKUP, "pickup_name": "Other Bakery"})
    )
    assert saved.status_code == 302
    with schema_context("alpha"):
        pickup.refresh_from_db()
        assert pickup.customer_name == "Other Bakery"
        assert PickupDelivery.objects.count() == 1
    assert "pickup-section" not in client.get(f"/orders/{pickup.pk}/edit/").content.decode()


def test_an_order_without_a_pickup_is_a_plain_delivery(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    assert client.post("/orders/new/", form()).status_code == 302
    with schema_context("alpha"):
        assert Order.objects.get().kind == "delivery"
        assert not PickupDelivery.objects.exists()


def test_bad_pickup_values_are_shown_next_to_their_fields(alpha):
    client = login_client(alpha.host, alpha.dispatcher_email)
    response = client.post(
        "/orders/new/",
        form(**{**PICKUP, "pickup_lat": "95", "pickup_window_end": "07:00", "pickup_name": ""}),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"pickup_lat", "pickup_window_start", "pickup_name"} <= set(errors)
    with schema_context("alpha"):
        assert not Order.objects.exists()


def test_another_tenants_pickup_page_is_not_found(alpha, beta):
    theirs = login_client(beta.host, beta.dispatcher_email)
    assert theirs.post("/orders/new/", form(**PICKUP)).status_code == 302
    with schema_context("beta"):
        pickup_id = Order.objects.get(kind="pickup").pk
    ours = login_client(alpha.host, alpha.dispatcher_email)
    with schema_context("alpha"):
        mine = Order.objects.filter(pk=pickup_id).exists()  # ids repeat across schemas
    assert ours.get(f"/orders/{pickup_id}/").status_code == (200 if mine else 404)
    assert "Corner Bakery" not in ours.get("/orders/").content.decode()
