import datetime as dt
import re
from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context

from dispatch.models import (
    Depot,
    Driver,
    Order,
    PickupDelivery,
    RecurringOccurrence,
    RecurringOrder,
    Vehicle,
)
from dispatch.services.demo import TIME_ZONE, demo_today
from dispatch.services.orders import orders_create
from tenants.models import Tenant
from tenants.selectors import travel_source
from tests.conftest import tenant_today


def test_orders_created_outside_a_request_read_phones_in_the_tenants_country(tenants):
    # A job or command only has the schema (schema_context), not the request's Tenant.
    with schema_context("alpha"):
        (result,) = orders_create(
            [
                {
                    "customer_name": "Job",
                    "customer_phone": "020 7946 0001",
                    "lat": 51.5,
                    "lng": 0,
                    "delivery_date": str(tenant_today(1)),
                }
            ],
            source="api",
            actor="system",
        )
        assert result.status == "created", result.errors
        assert Order.objects.get(pk=result.id).customer_phone == "+442079460001"


def test_seed_demo_builds_the_demo_once_and_reuses_it(tenants, settings, helsinki_roads):
    settings.ROADS_DIR = helsinki_roads  # built once per session: only the addresses are new
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    made = re.search(r"(\d+) new orders in central Helsinki, on its roads", first.getvalue())
    assert "OpenStreetMap contributors" in first.getvalue()
    assert "2 pickup-and-delivery pairs today" in first.getvalue()
    assert "0 new orders" in second.getvalue()
    assert "owner@demo.test" in first.getvalue()
    demo = Tenant.objects.get(slug="demo")
    assert (demo.road_region, demo.road_profile, demo.time_zone) == (
        "helsinki",
        "car",
        "Europe/Helsinki",
    )
    assert demo.rush_hours and travel_source(demo).label == "Roads: helsinki (car)"
    with schema_context("demo"):
        assert Depot.objects.count() == 1
        assert Vehicle.objects.count() == 3
        assert Driver.objects.filter(user__email="driver@demo.test").exists()
        orders = Order.objects.filter(external_id__regex=r"^DEMO-[0-9]{3}$")
        assert orders.count() == 40
        assert all(o.customer_phone.startswith("+358") for o in orders)
        located = [o for o in orders if o.lat is not None]
        assert len(located) == 37  # three typed by hand wait for the address search
        assert all(60.16 < o.lat < 60.18 and 24.93 < o.lng < 24.96 for o in located)
        recurring = demo_extras_exactly_once(today=demo_today(TIME_ZONE))
        # the schedule's orders count among the new ones; a pair's pickup is its order's
        assert made and int(made[1]) == 40 + 2 + 3 + recurring
    assert not demo.auto_dispatch and demo.auto_plan_at is None


def demo_extras_exactly_once(*, today: dt.date) -> int:
    """Today's two pairs, tomorrow's three orders that may wait three days and the weekly
    schedule with its orders, each once (after any number of runs); returns how many
    orders the schedule made."""
    pairs = PickupDelivery.objects.select_related("pickup", "delivery").order_by(
        "delivery__external_id"
    )
    assert [p.delivery.external_id for p in pairs] == ["DEMO-PAIR-1", "DEMO-PAIR-2"]
    assert [p.pickup.customer_name for p in pairs] == ["Kluuvi Bakery", "Kaisaniemi Florist"]
    for pair in pairs:
        assert pair.pickup.kind == Order.Kind.PICKUP and pair.delivery.kind != Order.Kind.PICKUP
        assert pair.pickup.delivery_date == pair.delivery.delivery_date == today
        assert pair.pickup.lat is not None and pair.delivery.lat is not None
    assert Order.objects.filter(kind=Order.Kind.PICKUP).count() == 2
    flexible = Order.objects.filter(external_id__startswith="DEMO-FLEX-")
    assert flexible.count() == 3
    tomorrow = today + dt.timedelta(days=1)
    assert {(o.delivery_date, o.latest_date) for o in flexible} == {
        (tomorrow, tomorrow + dt.timedelta(days=3))
    }
    (schedule,) = RecurringOrder.objects.all()
    assert (schedule.rule, schedule.starts_on, schedule.lead_days) == (
        "FREQ=WEEKLY;BYDAY=MO,TH",
        today,
        7,
    )
    made = Order.objects.filter(source=Order.Source.RECURRING).order_by("delivery_date")
    days = [o.delivery_date for o in made]
    # Mondays and Thursdays from today to a week ahead: two or three, each day once
    assert 2 <= len(days) <= 3 and len(set(days)) == len(days)
    assert all(d.weekday() in (0, 3) and today <= d <= today + dt.timedelta(days=7) for d in days)
    occurrences = RecurringOccurrence.objects.filter(recurring=schedule)
    assert sorted(occurrences.values_list("order_id", flat=True)) == sorted(o.pk for o in made)
    return len(days)


def test_without_the_extract_the_demo_runs_on_straight_lines_and_says_so(
    tenants, settings, tmp_path, monkeypatch
):
    from dispatch.services import demo

    settings.ROADS_DIR = tmp_path / "roads"  # nothing built here
    monkeypatch.setattr(demo, "demo_extract", lambda: None)  # as in the Docker image
    monkeypatch.setattr(demo, "REGION", "nowhere")  # and no addresses imported
    out = StringIO()
    call_command("seed_demo", stdout=out)
    said = out.getvalue()
    assert "no road region: pyrosm is not installed" in said
    tenant = Tenant.objects.get(slug="demo")
    assert tenant.road_region == "" and travel_source(tenant).kind == "straight"
    with schema_context("demo"):
        located = Order.objects.filter(external_id__regex=r"^DEMO-[0-9]{3}$", lat__isnull=False)
        assert located.count() == 37
        recurring = demo_extras_exactly_once(today=demo_today(TIME_ZONE))
    assert f"{40 + 2 + 3 + recurring} new orders in Helsinki" in said
