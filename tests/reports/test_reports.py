"""Report numbers against a fixture day computed by hand: two drivers, seven stops, a
late one, one with no window, one promised by ETA only, two failures (one booked again for
another day since), a stop moved from one driver to the other, one moved to another day, a
cancelled order, GPS tracks of known length."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order, OrderEvent, Vehicle
from reports.selectors import report
from routing.models import Plan, PlanRoute, RouteVersion
from tests.conftest import login_client
from tracking.models import EtaPromise, LocationPing

DAY = dt.date(2026, 12, 2)  # Europe/London in winter: local time is UTC
#: The reports are read the day after the fixture day, whatever the real date or TEST_CLOCK.
READ_AT = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(READ_AT, tick=True)]
ONE_HUNDREDTH_DEGREE_M = 6_371_008.8 * math.radians(0.01)  # 1,111.95 m along a meridian


def at(hhmm: str) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=dt.UTC)


def _order(name: str, status: str, steps: list[tuple[str, str, str]], windows=()) -> Order:
    order = Order.objects.create(
        customer_name=name,
        delivery_date=DAY,
        lat=51.5,
        lng=-0.1,
        weight_kg=Decimal("1"),
        time_windows=list(windows),
    )
    Order.objects.filter(pk=order.pk).update(status=status)
    previous = "dispatched"
    for to, hhmm, reason in steps:
        event = OrderEvent.objects.create(
            order=order, from_status=previous, to_status=to, actor="driver:1", reason=reason
        )
        OrderEvent.objects.filter(pk=event.pk).update(created_at=at(hhmm))
        previous = to
    return order


def _route(plan, driver, van, planned_m, planned_s, versions: list[list[Order]]) -> PlanRoute:
    route = PlanRoute.objects.create(
        plan=plan,
        driver=driver,
        vehicle=van,
        starts_at=at("08:30"),
        ends_at=at("16:00"),
        distance_m=planned_m + 999,
        duration_s=planned_s + 999,
        version=len(versions),
        planned_distance_m=planned_m,
        planned_duration_s=planned_s,
    )
    for number, orders in enumerate(versions, start=1):
        version = RouteVersion.objects.create(
            route=route,
            number=number,
            reason="test",
            stops=[
                {"order": o.pk, "sequence": k, "starts_at": at("09:00").isoformat()}
                for k, o in enumerate(orders, start=1)
            ],
        )
        RouteVersion.objects.filter(pk=version.pk).update(created_at=at(f"0{number}:00"))
    return route


def _track(driver: Driver, points: list[tuple[str, float, float]]) -> None:
    for k, (hhmm, lat, lng) in enumerate(points):
        LocationPing.objects.create(
            driver=driver, recorded_at=at(hhmm), received_at=at(hhmm), lat=lat, lng=lng, seq=k
        )


def fixture_day() -> tuple[PlanRoute, PlanRoute]:
    depot = Depot.objects.create(name="Rep depot", lat=51.5, lng=-0.1)
    ann = Driver.objects.create(name="Ann Report")
    bob = Driver.objects.create(name="Bob Report")
    van_a = Vehicle.objects.create(name="Van A", start_depot=depot)
    van_b = Vehicle.objects.create(name="Van B", start_depot=depot)
    plan = Plan.objects.create(date=DAY, status="done", published_at=at("07:00"))
    w = lambda a, b: [{"start": a, "end": b}]  # noqa: E731
    a1 = _order(
        "A1",
        "delivered",
        [("en_route", "09:00", ""), ("arrived", "09:30", ""), ("delivered", "09:35", "")],
        w("09:00", "10:00"),
    )  # on time
    a2 = _order(
        "A2",
        "delivered",
        [("en_route", "09:35", ""), ("arrived", "11:15", ""), ("delivered", "11:20", "")],
        w("10:00", "11:00"),
    )  # late
    a3 = _order(
        "A3",
        "delivered",
        [("en_route", "11:20", ""), ("arrived", "12:00", ""), ("delivered", "12:05", "")],
    )  # ETA window: on time
    EtaPromise.objects.create(
        order=a3,
        starts_at=at("12:30"),
        ends_at=at("13:30"),
        changes=1,
        first_starts_at=at("11:30"),
        first_ends_at=at("12:30"),
    )
    a4 = _order(
        "A4",
        "failed",
        [("en_route", "12:05", ""), ("arrived", "12:30", ""), ("failed", "12:45", "Nobody home")],
    )
    b1 = _order(
        "B1",
        "delivered",
        [("en_route", "13:00", ""), ("arrived", "13:20", ""), ("delivered", "13:30", "")],
    )  # no window: not counted
    b2 = _order(
        "B2",
        "failed",
        [("en_route", "13:30", ""), ("failed", "14:10", "Refused")],
        w("14:00", "15:00"),
    )
    b3 = _order(
        "B3",
        "delivered",
        [("en_route", "14:10", ""), ("arrived", "14:30", ""), ("delivered", "14:40", "")],
        w("14:00", "15:00"),
    )  # on time
    c1 = _order("C1", "cancelled", [("cancelled", "10:00", "customer asked")])
    # B2 was booked again for another day after it failed, and delivered then: still a
    # failure of this day
    Order.objects.filter(pk=b2.pk).update(
        status="delivered", delivery_date=DAY + dt.timedelta(days=2)
    )
    later = OrderEvent.objects.create(
        order=b2, from_status="arrived", to_status="delivered", actor="driver:2"
    )  # delivered two days later
    OrderEvent.objects.filter(pk=later.pk).update(created_at=at("10:00") + dt.timedelta(days=2))
    # A5 was moved to another day before Ann set off: not this day's at all
    a5 = _order("A5", "unassigned", [])
    Order.objects.filter(pk=a5.pk).update(delivery_date=DAY + dt.timedelta(days=1))
    # A4 failed and left A's route (version 2); B3 moved from A to B (B's version 2)
    route_a = _route(plan, ann, van_a, 20_000, 7_200, [[a1, a2, a3, a4, a5, b3], [a1, a2, a3]])
    route_b = _route(plan, bob, van_b, 10_000, 3_600, [[b1, b2, c1], [b1, b2, b3, c1]])
    _track(
        ann,
        [
            ("08:00", 51.40, -0.10),
            ("09:00", 51.50, -0.10),
            ("10:00", 51.51, -0.10),
            ("12:45", 51.52, -0.10),
            ("13:00", 51.60, -0.10),
        ],
    )
    _track(bob, [("13:00", 51.50, -0.12), ("14:40", 51.52, -0.12)])
    return route_a, route_b


def test_the_numbers_match_the_day_computed_by_hand(alpha):
    with schema_context(alpha.tenant.schema_name), timezone.override("Europe/London"):
        route_a, route_b = fixture_day()
        rows, total = report(DAY, DAY, "driver")
        by_route, _ = report(DAY, DAY, "route")
        by_day, day_total = report(DAY - dt.timedelta(days=1), DAY, "day")
    ann, bob = rows
    assert (ann.label, bob.label) == ("Ann Report", "Bob Report")
    assert (ann.stops, ann.delivered, ann.failed) == (4, 3, 1)
    assert (ann.with_window, ann.on_time) == (3, 2)  # A1, A3 on time; A2 late
    assert ann.hours == pytest.approx(3.75)  # 09:00 → 12:45
    assert ann.stops_per_hour == pytest.approx(4 / 3.75)
    assert ann.driven_m == round(2 * ONE_HUNDREDTH_DEGREE_M)  # the fixes before and after not
    assert (ann.planned_m, ann.planned_s, ann.driven_s) == (20_000, 7_200, 13_500)
    assert dict(ann.reasons) == {"Nobody home": 1}
    assert (bob.stops, bob.delivered, bob.failed) == (3, 2, 1)  # B3 counts for Bob; C1 not
    assert (bob.with_window, bob.on_time) == (1, 1)  # B1 has no window; B2 failed
    assert bob.hours == pytest.approx(100 / 60)  # 13:00 → 14:40
    assert bob.stops_per_hour == pytest.approx(1.8)
    assert bob.driven_m == round(2 * ONE_HUNDREDTH_DEGREE_M)
    assert dict(bob.reasons) == {"Refused": 1}
    assert (total.stops, total.delivered, total.failed) == (7, 5, 2)
    assert total.on_time_rate == pytest.approx(0.75)
    assert total.stops_per_hour == pytest.approx(7 / (3.75 + 100 / 60))
    assert (total.planned_m, total.planned_s) == (30_000, 10_800)
    assert [r.key for r in by_route] == [f"route-{route_a.pk}", f"route-{route_b.pk}"]
    assert [r.key for r in by_day] == ["2026-12-02"] and day_total.stops == 7


def test_the_page_shows_the_charts_and_tables_and_exports_csv(alpha, beta):
    with schema_context(alpha.tenant.schema_name):
        fixture_day()
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    query = "?date_from=2026-12-02&date_to=2026-12-02&group=driver"
    page = dispatcher.get(f"/reports/{query}").content.decode()
    assert "Ann Report: 3 delivered" in page and "Bob Report: 100.0% on time" in page
    assert "Nobody home: 1" in page
    summary = dispatcher.get(f"/reports/summary.csv{query}")
    assert summary["Content-Disposition"].startswith('attachment; filename="summary-driver')
    lines = list(csv.reader(io.StringIO(b"".join(summary.streaming_content).decode())))
    assert lines[0][:5] == ["driver", "Stops", "Delivered", "Failed", "On time %"]
    assert lines[1][:5] == ["Ann Report", "4", "3", "1", "66.7"]
    assert lines[-1][:5] == ["Total", "7", "5", "2", "75.0"]
    reasons = dispatcher.get(f"/reports/reasons.csv{query}")
    body = b"".join(reasons.streaming_content).decode()
    assert "Ann Report,Nobody home,1" in body and "Bob Report,Refused,1" in body
    bad = dispatcher.get("/reports/?date_from=2026-12-05&date_to=2026-12-01&group=day")
    assert bad.status_code == 400 and b"comes before" in bad.content
    assert dispatcher.get(f"/reports/other.csv{query}").status_code == 400
    assert login_client(alpha.host, alpha.driver_email).get("/reports/").status_code == 403
    theirs = login_client(beta.host, beta.dispatcher_email).get(f"/reports/{query}")
    assert b"Ann Report" not in theirs.content and b"No published routes" in theirs.content
