"""Customer ratings in the reports: count and average stars per driver and per delivery
day, for a small set worked out by hand, on the page and as CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django_tenants.utils import schema_context

from dispatch.models import Driver, Order
from reports.selectors import ratings
from tests.conftest import login_client, tenant_today
from tracking.models import DeliveryRating

pytestmark = pytest.mark.django_db


def rated(day_offset: int, stars: int, driver: Driver | None) -> DeliveryRating:
    order = Order.objects.create(
        customer_name=f"Rater {stars}", delivery_date=tenant_today(day_offset), status="delivered"
    )
    return DeliveryRating.objects.create(order=order, driver=driver, stars=stars)


def known_set() -> tuple[Driver, Driver]:
    """Ana: 5 and 4 two days ago, 2 yesterday (avg 3.67); Ben: 1 yesterday; nobody's: 3
    yesterday. Two days ago: 4.5 over 2; yesterday: 2.0 over 3. Ten days ago: out of range."""
    ana, ben = Driver.objects.create(name="Ana"), Driver.objects.create(name="Ben")
    rated(-2, 5, ana)
    rated(-2, 4, ana)
    rated(-1, 2, ana)
    rated(-1, 1, ben)
    rated(-1, 3, None)
    rated(-10, 1, ben)  # before the range
    return ana, ben


def test_averages_per_driver_and_per_day(alpha):
    with schema_context(alpha.tenant.schema_name):
        known_set()
        result = ratings(tenant_today(-6), tenant_today())
    per_driver = {r.label: (r.ratings, round(r.average, 2)) for r in result.per_driver}
    assert per_driver == {"Ana": (3, 3.67), "Ben": (1, 1.0), "No driver": (1, 3.0)}
    assert [r.label for r in result.per_driver][-1] == "No driver"
    per_day = [(r.key, r.ratings, r.average) for r in result.per_day]
    assert per_day == [
        (tenant_today(-2).isoformat(), 2, 4.5),
        (tenant_today(-1).isoformat(), 3, 2.0),
    ]
    assert (result.total.ratings, result.total.average) == (5, 3.0)


def test_the_page_shows_the_ratings_and_each_table_is_a_csv(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        known_set()
    with schema_context(beta.tenant.schema_name):  # another tenant's ratings stay theirs
        rated(-1, 5, Driver.objects.create(name="Beta driver"))
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    query = f"?date_from={tenant_today(-6)}&date_to={tenant_today()}&group=driver"
    page = dispatcher.get(f"/reports/{query}").content.decode()
    assert 'id="ratings-driver-table"' in page and 'id="ratings-day-table"' in page
    assert "Beta driver" not in page
    by_driver = dispatcher.get(f"/reports/ratings-driver.csv{query}")
    assert by_driver.status_code == 200
    lines = list(csv.reader(io.StringIO(b"".join(by_driver.streaming_content).decode())))
    assert lines == [
        ["driver", "Ratings", "Average stars"],
        ["Ana", "3", "3.67"],
        ["Ben", "1", "1.00"],
        ["No driver", "1", "3.00"],
        ["Total", "5", "3.00"],
    ]
    by_day = dispatcher.get(f"/reports/ratings-day.csv{query}")
    lines = list(csv.reader(io.StringIO(b"".join(by_day.streaming_content).decode())))
    assert [line[1:] for line in lines] == [
        ["Ratings", "Average stars"],
        ["2", "4.50"],
        ["3", "2.00"],
        ["5", "3.00"],
    ]
    empty = f"?date_from={tenant_today(30)}&date_to={tenant_today(31)}&group=day"
    assert (
        "No ratings for orders of these days."
        in dispatcher.get(f"/reports/{empty}").content.decode()
    )
