from io import StringIO

from django.core.management import call_command
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, Vehicle
from dispatch.services.orders import orders_create
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


def test_seed_demo_builds_the_demo_once_and_reuses_it(tenants):
    first, second = StringIO(), StringIO()
    call_command("seed_demo", stdout=first)
    call_command("seed_demo", stdout=second)
    assert "40 new orders" in first.getvalue()
    assert "0 new orders" in second.getvalue()
    assert "owner@demo.test" in first.getvalue()
    with schema_context("demo"):
        assert Depot.objects.count() == 1
        assert Vehicle.objects.count() == 3
        assert Driver.objects.filter(user__email="driver@demo.test").exists()
        orders = Order.objects.filter(external_id__startswith="DEMO-")
        assert orders.count() == 40
        assert all(o.lat and o.customer_phone.startswith("+44") for o in orders)
