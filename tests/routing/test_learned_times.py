"""Plans and live ETAs use what the drivers taught (routing.services.corrections), and the
plan says by how much and why: a slow address pushes the stops after it back by exactly
its learned extra seconds, a learned rush hour stretches every leg it starts, thin data
and a tenant that turned learning off change nothing, and one tenant's learning never
moves another's times."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from routing.models import LearningRun, Plan, PlanRoute, PlanStop, ServiceTime, TravelFactor
from routing.services import corrections as learned
from routing.services import plans
from routing.services.corrections import MIN_LEGS, MIN_VISITS, address_key, hour_of_week
from routing.services.matrix import travel_matrix
from routing.services.routes import arrival_from, route_retime
from tenants.models import Tenant
from tests.routing.factories import DAY, make_fleet_day

SLOW_S = 420  # what the slow address takes beyond its configured door time


@pytest.fixture(autouse=True)
def _nothing_kept():
    learned.forget()
    yield
    learned.forget()


def _learn(*, travel=(), doors=()) -> None:
    """Crafted learned rows (`travel`: (kind, key, factor, legs); `doors`: (level, key,
    delta_s, visits)) and a finished run, read at once by this process."""
    for kind, key, factor, legs in travel:
        TravelFactor.objects.create(kind=kind, key=str(key), factor=factor, legs=legs)
    for level, key, delta, visits in doors:
        ServiceTime.objects.create(
            level=level, key=str(key), delta_s=delta, median_s=300 + delta, visits=visits
        )
    now = timezone.now()
    LearningRun.objects.create(
        status=LearningRun.Status.DONE, started_at=now, finished_at=now, legs=100, visits=50
    )
    learned.forget()


def _solved_route(prefix: str, orders: int = 4) -> PlanRoute:
    """One van's solved (unpublished) plan of `orders` stops, timed with nothing learned."""
    make_fleet_day(prefix, vans=1, orders=orders, spread=0.02)
    plan = plans.plan_create(date=DAY, seconds=1)
    assert plans.plan_solve(plan.pk) == Plan.Status.DONE
    return PlanRoute.objects.filter(plan=plan, stops__isnull=False).distinct().get()


def _stops(route: PlanRoute) -> list[PlanStop]:
    return list(route.stops.select_related("order").order_by("sequence"))


def _moved(after: list[PlanStop], before: list[PlanStop]) -> list[int]:
    """Seconds each stop is reached later in `after` than in `before`."""
    return [
        int((a.arrives_at - b.arrives_at).total_seconds())
        for a, b in zip(after, before, strict=True)
    ]


def _arrivals(route: PlanRoute) -> list[dt.datetime]:
    return [s.arrives_at for s in _stops(route)]


def _all_hours(factor: float, legs: int) -> list[tuple]:
    """The planned day's every hour of the week, learned at `factor`."""
    monday_based = DAY.weekday() * 24
    return [("hour", monday_based + h, factor, legs) for h in range(24)]


def test_a_slow_address_pushes_the_later_stops_back_by_its_learned_seconds(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = _solved_route("slow")
        before = _stops(route)
        assert all(s.learned_shift_s == 0 and s.learned == {} for s in before)
        slow = before[1].order  # the second stop
        _learn(doors=[("address", address_key(slow.lat, slow.lng), SLOW_S, MIN_VISITS + 3)])

        route_retime(route)
        after = _stops(route)
        moved = _moved(after, before)
        assert moved == [0, 0] + [SLOW_S] * (len(before) - 2)
        assert [s.learned_shift_s for s in after] == moved
        assert after[1].departs_at - before[1].departs_at == dt.timedelta(seconds=SLOW_S)
        assert after[1].learned == {
            "service": {
                "level": "address",
                "visits": MIN_VISITS + 3,
                "seconds": slow.service_s + SLOW_S,
                "configured": slow.service_s,
            }
        }
        assert after[2].learned == {}  # moved by the stop before it, nothing of its own
        route.refresh_from_db()
        assert route.learned_shift_s == SLOW_S


def test_a_learned_rush_hour_stretches_every_leg_it_starts(alpha):
    with schema_context(alpha.tenant.schema_name):
        Tenant.objects.filter(pk=alpha.tenant.pk).update(rush_hours=[])
        route = _solved_route("rush")
        before = _stops(route)
        _learn(travel=_all_hours(1.5, MIN_LEGS + 200))

        route_retime(route)
        after = _stops(route)
        # the same departure; each leg 1.5 times the road model's, rounded as the plan rounds
        expected, shift, left = [], 0, route.starts_at
        for stop in before:
            leg = int((stop.arrives_at - left).total_seconds())
            shift += round(leg * 1.5) - leg
            expected.append(shift)
            left = stop.departs_at
        assert expected[0] > 0
        moved = _moved(after, before)
        assert moved == expected
        assert [s.learned_shift_s for s in after] == expected
        first = after[0].learned["travel"]
        assert first["factor"] == 1.5 and first["legs"] == MIN_LEGS + 200
        departed = timezone.localtime(route.starts_at, timezone=_zone(alpha))
        assert first["hour_of_week"] == hour_of_week(departed)
        route.refresh_from_db()
        assert route.learned_shift_s > expected[-1]  # the way back to the depot too


def _zone(fixture):
    from zoneinfo import ZoneInfo

    return ZoneInfo(Tenant.objects.get(pk=fixture.tenant.pk).time_zone)


def test_thin_learning_and_learning_turned_off_change_nothing(alpha):
    with schema_context(alpha.tenant.schema_name):
        route = _solved_route("thin")
        before = _arrivals(route)
        slow = _stops(route)[0].order
        _learn(
            travel=_all_hours(2.0, MIN_LEGS - 1),  # too few legs behind each hour
            doors=[("address", address_key(slow.lat, slow.lng), SLOW_S, MIN_VISITS - 1)],
        )
        route_retime(route)
        assert _arrivals(route) == before
        assert {s.learned_shift_s for s in _stops(route)} == {0}

        # enough data now, but the business turned learning off
        TravelFactor.objects.update(legs=MIN_LEGS + 50)
        ServiceTime.objects.update(visits=MIN_VISITS + 5)
        Tenant.objects.filter(pk=alpha.tenant.pk).update(use_learned_times=False)
        learned.forget()
        route_retime(route)
        assert _arrivals(route) == before
        assert all(s.learned_shift_s == 0 and s.learned == {} for s in _stops(route))

        Tenant.objects.filter(pk=alpha.tenant.pk).update(use_learned_times=True)
        learned.forget()
        route_retime(route)  # on again: the same rows move the times
        assert _arrivals(route)[1] > before[1]


def test_a_plan_solved_with_learning_stores_what_it_moved(alpha):
    with schema_context(alpha.tenant.schema_name):
        make_fleet_day("first", vans=1, orders=4, spread=0.02)
        from dispatch.models import Order

        first_order = Order.objects.filter(external_id__startswith="first-").order_by("pk")
        doors = [
            ("address", address_key(o.lat, o.lng), SLOW_S, MIN_VISITS) for o in first_order
        ]  # every address slow: wherever the solver puts them, all but the first move
        _learn(doors=doors)
        plan = plans.plan_create(date=DAY, seconds=1)
        assert plans.plan_solve(plan.pk) == Plan.Status.DONE
        route = PlanRoute.objects.filter(plan=plan, stops__isnull=False).distinct().get()
        solved = _stops(route)
        assert [s.learned_shift_s for s in solved] == [SLOW_S * k for k in range(len(solved))]
        assert all(s.learned["service"]["level"] == "address" for s in solved)
        assert route.learned_shift_s == SLOW_S * len(solved)

        # the same order timed without learning: exactly the stored shifts earlier
        Tenant.objects.filter(pk=alpha.tenant.pk).update(use_learned_times=False)
        learned.forget()
        route_retime(route)
        plain = _stops(route)
        assert _moved(solved, plain) == [s.learned_shift_s for s in solved]


def test_the_live_eta_uses_the_learned_hour_and_area(alpha):
    with schema_context(alpha.tenant.schema_name):
        fleet = make_fleet_day("eta", vans=1, orders=1)
        order = fleet.orders[0]
        van = (order.lat + 0.01, order.lng - 0.01)
        zone = _zone(alpha)
        at = dt.datetime.combine(DAY, dt.time(10, 20), tzinfo=zone)
        road = int(travel_matrix([van, (order.lat, order.lng)]).durations_s[0][1])
        Tenant.objects.filter(pk=alpha.tenant.pk).update(rush_hours=[])
        assert arrival_from(at, *van, order.pk, now=at) == at + dt.timedelta(seconds=road)

        cell = learned.leg_cell(van, (order.lat, order.lng))
        _learn(
            travel=[
                ("hour", hour_of_week(at), 1.5, MIN_LEGS),
                ("area", cell, 1.2, MIN_LEGS + 10),
            ]
        )
        expected = round(round(road * 1.2) * 1.5)
        assert arrival_from(at, *van, order.pk, now=at) == at + dt.timedelta(seconds=expected)

        from tracking.services.day import Fix, eta_from

        fix = Fix(recorded_at=at, lat=van[0], lng=van[1])
        assert eta_from(fix, order.pk, now=at) == at + dt.timedelta(seconds=expected)
        # an hour later the hour is not learned: the area alone
        later = at + dt.timedelta(hours=1)
        assert arrival_from(later, *van, order.pk, now=later) == later + dt.timedelta(
            seconds=round(road * 1.2)
        )


def test_alphas_learning_never_moves_betas_plan(alpha, beta):
    with schema_context(beta.tenant.schema_name):
        beta_route = _solved_route("beta")
        beta_before = _arrivals(beta_route)
        beta_orders = [s.order for s in _stops(beta_route)]
    with schema_context(alpha.tenant.schema_name):
        # alpha learned slow doors at beta's very addresses and a slow day of the week
        _learn(
            travel=_all_hours(1.8, MIN_LEGS + 100),
            doors=[
                ("address", address_key(o.lat, o.lng), SLOW_S, MIN_VISITS + 1) for o in beta_orders
            ],
        )
        assert not learned.corrections().is_empty
    with schema_context(beta.tenant.schema_name):
        assert learned.corrections().is_empty
        route_retime(beta_route)
        assert _arrivals(beta_route) == beta_before
        assert {s.learned_shift_s for s in _stops(beta_route)} == {0}


def test_the_plan_page_says_which_times_learning_moved_and_why(alpha, beta):
    from django.urls import NoReverseMatch, reverse

    from tests.conftest import login_client

    with schema_context(alpha.tenant.schema_name):
        route = _solved_route("page")
        stops = _stops(route)
        slow = stops[1].order
        _learn(doors=[("address", address_key(slow.lat, slow.lng), SLOW_S, 6)])
        route_retime(route)
        plan_id = route.plan_id
    client = login_client(alpha.host, alpha.dispatcher_email)
    page = client.get(f"/plans/{plan_id}/").content.decode().replace("\xa0", " ")
    assert (
        "Times use what your drivers taught (hours of the week: 0, areas: 0, door times: 1)" in page
    )
    assert page.count('class="status learned-chip"') == 1
    assert "Learned: +7 min" in page
    note = page.split(f'id="stop-{slow.pk}"')[1].split("</tr>")[0]
    assert "this address took" in note and "on 6 visits" in note
    later = page.split(f'id="stop-{stops[2].order_id}"')[1].split("</tr>")[0]
    assert "+7 min learned" in later and "from the stops before it" in later
    first = page.split(f'id="stop-{stops[0].order_id}"')[1].split("</tr>")[0]
    assert "learned-note" not in first  # not moved, its door time configured
    try:
        learning_page = reverse("dashboard:learning")
    except NoReverseMatch:  # the learning page is not on this site (yet)
        learning_page = None
    assert learning_page is None or f'<a href="{learning_page}">Learning page</a>' in page
    # beta learned nothing: no line, no chip, no note, and alpha's plan is not beta's
    with schema_context(beta.tenant.schema_name):
        route = _solved_route("beta-page")
    other = login_client(beta.host, beta.dispatcher_email)
    page = other.get(f"/plans/{route.plan_id}/").content.decode().replace("\xa0", " ")
    assert 'id="learning-line"' not in page and 'class="learned-note"' not in page
    assert other.get(f"/plans/{plan_id}/").status_code == 404 or plan_id == route.plan_id


def test_each_day_of_a_multi_day_plan_stores_what_learning_moved(alpha):
    from decimal import Decimal

    from dispatch.models import Order
    from routing.models import MultiDayPlan
    from routing.services import multi_day
    from tests.conftest import tenant_today

    first = tenant_today(2)
    with schema_context(alpha.tenant.schema_name):
        make_fleet_day("md", vans=1, orders=0, day=first)
        made = [
            Order.objects.create(
                customer_name=f"md customer {k}",
                address_line1=f"{k} High Street",
                city="London",
                delivery_date=first + dt.timedelta(days=k % 2),
                lat=51.5 + 0.004 * k,
                lng=-0.12 + 0.005 * k,
                weight_kg=Decimal("1"),
                items=1,
                service_s=300,
            )
            for k in range(1, 7)
        ]
        _learn(doors=[("address", address_key(o.lat, o.lng), SLOW_S, MIN_VISITS) for o in made])
        multi = multi_day.multi_day_create(first_date=first, days=2, seconds=1)
        assert multi_day.multi_day_solve(multi.pk) == MultiDayPlan.Status.DONE
        routes = PlanRoute.objects.filter(plan__multi_day=multi, stops__isnull=False).distinct()
        assert routes.count() == 2  # one a day
        for route in routes:
            stops = _stops(route)
            assert len(stops) == 3
            assert [s.learned_shift_s for s in stops] == [0, SLOW_S, 2 * SLOW_S]
            assert stops[1].departs_at - stops[1].arrives_at == dt.timedelta(seconds=300 + SLOW_S)
            assert route.learned_shift_s == 3 * SLOW_S


def test_a_learned_leg_is_explained_with_its_hour_and_legs(alpha):
    from django.template.loader import render_to_string

    from routing.views.plans import _learned_note

    stop = PlanStop(
        learned_shift_s=-360,
        learned={
            "travel": {
                "factor": 1.4,
                "legs": 212,
                "hour_of_week": 8,  # Monday 08:00
                "hour": [1.4, 212],
                "area": [1.0, 0],
            }
        },
    )
    with schema_context(alpha.tenant.schema_name):
        html = render_to_string("routing/_learned_note.html", {"note": _learned_note(stop)})
    text = " ".join(html.replace("\xa0", " ").split())
    assert "\u22126 min learned" in text and "Monday 08:00 travel \u00d71.4 (212 legs)" in text
    assert _learned_note(PlanStop(learned_shift_s=59, learned={})) is None
