"""A pickup-and-delivery pair's parcel on paper and at the door without JavaScript: one
label (its delivery's: the address it goes to), and a pickup's proof page speaks of
collection."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from routing.models import Plan, PlanStop
from routing.services import labels, plans
from tests.routing.factories import DAY, make_fleet_day
from tests.routing.test_labels import pages_of
from tests.routing.test_pickup_planning import make_pairs

pytestmark = pytest.mark.django_db


def test_a_pair_prints_one_label_its_deliverys(alpha):
    with schema_context(alpha.tenant.schema_name):
        fleet = make_fleet_day("lab", vans=1, orders=2)
        (delivery,) = make_pairs("lab", 1)
        pickup = delivery.pair_as_delivery.pickup
        plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        stops = PlanStop.objects.filter(route__plan=plan, order__isnull=False)
        placed = set(stops.values_list("order_id", flat=True))
        assert {pickup.pk, delivery.pk} <= placed
        text = "\n".join(pages_of(labels.plan_labels_pdf(plan, size="4x6")))
    assert text.count("ALPHA-") == len(placed) - 1  # every stop's parcel but the pickup's
    assert f"ALPHA-{delivery.pk}" in text
    assert f"ALPHA-{pickup.pk}" not in text


def test_a_pickups_proof_page_without_javascript_speaks_of_collection(alpha):
    from dispatch.models import Order
    from tests.conftest import login_client
    from tests.tracking.helpers import orders_on, solved_day

    with schema_context(alpha.tenant.schema_name):
        day = solved_day("pp", alpha.user_ids[alpha.driver_email])
        first, second, *_ = orders_on(day.mine)
        Order.objects.filter(pk=first).update(kind=Order.Kind.PICKUP)
    driver = login_client(alpha.host, alpha.driver_email)
    pickup = driver.get(f"/driver/stops/{first}/complete").content.decode()
    assert "Pick up ·" in pickup and "Picked up" in pickup and "Could not collect" in pickup
    assert "Handed over by" in pickup and "Delivered<" not in pickup
    delivery = driver.get(f"/driver/stops/{second}/complete").content.decode()
    assert "Delivered<" in delivery and "Received by" in delivery and "Pick up ·" not in delivery


def test_the_board_tags_a_pairs_pickup_stop(alpha):
    import re

    from tests.conftest import login_client

    with schema_context(alpha.tenant.schema_name):
        fleet = make_fleet_day("brd", vans=1, orders=2)
        (delivery,) = make_pairs("brd", 1)
        pickup = delivery.pair_as_delivery.pickup
        plan = plans.plan_create(date=DAY, depot=fleet.depot, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    page = login_client(alpha.host, alpha.dispatcher_email).get(f"/plans/{plan.pk}/board")
    html = page.content.decode()
    stop_html = {
        m.group(1): m.group(0)
        for m in re.finditer(r'id="board-stop-(\d+)".*?</li>', html, flags=re.S)
    }
    assert page.status_code == 200
    assert ">Pick up</span>" in stop_html[str(pickup.pk)]
    assert ">Pick up</span>" not in stop_html[str(delivery.pk)]
