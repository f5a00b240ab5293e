"""End to end: a generated delivery history whose hidden truth has rush hours, a slow area
and slow doors is read (`tracking.services.observations`) and learned
(`routing.services.learning`) within stated tolerances; thin data falls back to the
configured times; a tenant never learns from another's days.

Tolerances (truth: `Truth.default_for`, noise sigma 0.15 on every leg and door):
- each weekday rush window (07-09 x1.45, 16-18 x1.3): the learned factors of its hours of
  the week, pooled (geometric mean weighted by legs), within 10% of the truth; each single
  hour of the week within 20% (about 20 legs each: noise alone moves one by ~3.5%). The
  learner's prior (the configured rush, x1.2 and x1.1 here, worth 5 legs) pulls them
  down: about 6% low on seeds 1-4 and 27;
- weekday hours outside the rush, pooled: within 10% of 1;
- the slow area (x1.25): within 15%;
- a slow door (+6 to 9 min) visited MIN_VISITS times or more: its learned door time
  within 90 s of the truth.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from dispatch.models import Depot, Driver, Order
from routing.models import (
    LearningDay,
    LegObservation,
    Plan,
    ServiceObservation,
    TravelFactor,
)
from routing.services import corrections as model
from routing.services.corrections import MIN_LEGS, MIN_VISITS, address_key, configured_factor
from tenants.models import Tenant
from tests.conftest import TENANT_ZONE, tenant_today
from tracking.models import LocationPing
from tracking.services.history import HISTORY_ACTOR, Truth, history_generate
from tracking.services.observations import days_unread, learn_run

pytestmark = pytest.mark.django_db

LONDON = (51.5072, -0.1276)
#: The tenant's configured rush hours: what thin data falls back to (not the truth's).
CONFIGURED = [
    {"days": [0, 1, 2, 3, 4], "start": "07:00", "end": "09:00", "factor": 1.2},
    {"days": [0, 1, 2, 3, 4], "start": "16:00", "end": "18:00", "factor": 1.1},
]


@pytest.fixture(autouse=True)
def straight_lines(settings):
    settings.ROUTING_MATRIX_PROVIDER = "straight"


def _configure(fixture) -> None:
    Tenant.objects.filter(pk=fixture.tenant.pk).update(rush_hours=CONFIGURED)


def _learn() -> model.Corrections:
    """What the nightly job does (read the unread days, refit), then the model it gives."""
    learn_run(today=tenant_today(), held_out=0)
    model.forget()  # the run's own forget waits for a commit the test never makes
    return model.corrections()


def _pooled(found: model.Corrections, hours: list[int]) -> tuple[float, int]:
    """Geometric mean of the learned factors of `hours` (weighted by legs), and the legs."""
    learned = [found.hours[h] for h in hours if h in found.hours]
    legs = sum(n for _, n in learned)
    return math.exp(sum(math.log(f) * n for f, n in learned) / max(legs, 1)), legs


def test_rush_hours_slow_area_and_slow_doors_are_learned_within_tolerance(alpha):
    with schema_context(alpha.tenant.schema_name):
        _configure(alpha)
        truth = Truth.default_for(LONDON, addresses=100, seed=27)
        history = history_generate(
            days=28, drivers=6, stops_per_route=12, truth=truth, seed=27, ping_every_s=60
        )
        assert len(history.dates) == 28 and len(history.stops) == 28 * 6 * 12
        assert LocationPing.objects.count() == history.pings > 28 * 6 * 60
        found = _learn()

        # every day read; (nearly) every leg and every door learned from
        assert LearningDay.objects.count() == 28
        # a leg shorter than the pings' cadence may hold no fix: not learned from (no_gps)
        assert LegObservation.objects.count() >= sum(s.travel_s >= 60 for s in history.stops)
        assert ServiceObservation.objects.count() == len(history.stops)

        # rush hours: each weekday window, pooled, within 10%; each hour within 20%
        legs = history.legs_by_hour(TENANT_ZONE)
        for window in truth.rush:
            hours = [
                day * 24 + hour
                for day in window.weekdays
                for hour in range(window.start_hour, window.end_hour)
            ]
            factor, used = _pooled(found, hours)
            assert used >= 100, f"{window}: only {used} legs learned from"
            assert abs(factor / window.factor - 1) <= 0.10, (window, factor)
            assert sum(h in found.hours for h in hours) >= 0.8 * len(hours)
            for hour in hours:
                if hour in found.hours:
                    learned, n = found.hours[hour]
                    assert abs(learned / window.factor - 1) <= 0.20, (hour, learned, n)
        quiet = [day * 24 + hour for day in range(5) for hour in range(10, 15)]
        factor, used = _pooled(found, quiet)
        assert used >= 100 and abs(factor - 1) <= 0.10, (factor, used)

        # the slow area
        ((cell, true_factor),) = truth.areas.items()
        learned, n = found.areas[cell]
        assert n >= MIN_LEGS and abs(learned / true_factor - 1) <= 0.15, (learned, n)
        stored = TravelFactor.objects.get(kind=TravelFactor.Kind.AREA, key=cell)
        assert stored.factor == learned

        # slow doors visited often enough: within 90 s of the truth
        visits = history.visits()
        orders = {address_key(o.lat, o.lng): o for o in Order.objects.filter(lat__isnull=False)}
        checked = 0
        for key, extra in truth.slow_doors.items():
            if visits[key] < MIN_VISITS:
                continue
            order = orders[key]
            seconds, note = found.service(order)
            assert note is not None and note.level == "address", key
            assert abs(seconds - truth.door_s(order)) <= 90, (key, seconds, truth.door_s(order))
            assert seconds - order.service_s >= extra - 90
            checked += 1
        assert checked >= 5, f"only {checked} slow doors visited {MIN_VISITS}+ times"

        # an hour of the week driven too little (if the history has one): configured
        for hour, n in legs.items():
            if 0 < n < MIN_LEGS:
                monday = tenant_today() - dt.timedelta(days=tenant_today().weekday())
                local = dt.datetime.combine(
                    monday + dt.timedelta(days=hour // 24), dt.time(hour % 24, 30)
                )
                expected = configured_factor(CONFIGURED, hour // 24, (hour % 24) * 3600 + 1800)
                assert found.hour_factor(local) == (expected, 0)


def test_thin_data_falls_back_to_the_configured_times(alpha):
    """Two days, one van, four stops from five addresses: no hour has MIN_LEGS legs and
    no address MIN_VISITS visits, so none is learned: the configured rush factor (exactly)
    and no address-level door time."""
    with schema_context(alpha.tenant.schema_name):
        _configure(alpha)
        truth = Truth.default_for(LONDON, addresses=5, seed=3)
        truth = Truth(
            center=truth.center,
            addresses=truth.addresses,
            rush=truth.rush,
            areas=truth.areas,
            slow_doors={key: 600 for key in map(lambda p: address_key(*p), truth.addresses)},
        )
        history = history_generate(
            days=2, drivers=1, stops_per_route=4, truth=truth, seed=3, ping_every_s=60
        )
        found = _learn()
        assert LegObservation.objects.count() >= 6  # read: the fallback is not for want of it
        assert not found.hours and not found.addresses and not found.customers
        zone = zoneinfo.ZoneInfo(TENANT_ZONE.key)
        for stop in history.stops:
            local = stop.set_off_at.astimezone(zone).replace(tzinfo=None)
            second = local.hour * 3600 + local.minute * 60 + local.second
            expected = configured_factor(CONFIGURED, local.weekday(), second)
            assert found.hour_factor(local) == (expected, 0)
        twice = [key for key, n in history.visits().items() if n == 2]
        assert twice, "some address must be visited twice"
        for order in Order.objects.filter(lat__isnull=False):
            if address_key(order.lat, order.lng) in twice:
                # slow (+10 min) at both visits, yet not learned at the address (nor the
                # customer): two visits; only the size classes, from every stop, may be
                assert address_key(order.lat, order.lng) not in found.addresses
                _, note = found.service(order)
                assert note is None or note.level == "size"


def test_a_tenant_never_learns_from_another_tenants_days(alpha, beta):
    with schema_context(beta.tenant.schema_name):
        truth = Truth.default_for(LONDON, addresses=60, seed=5)
        history_generate(days=14, drivers=2, stops_per_route=8, truth=truth, seed=5)
    with schema_context(alpha.tenant.schema_name):
        assert days_unread(tenant_today(-1)) == []
        run = learn_run(today=tenant_today(), held_out=0)
        model.forget()
        assert (run.days_read, run.legs, run.visits) == (0, 0, 0)
        assert LearningDay.objects.count() == LegObservation.objects.count() == 0
        assert model.corrections().is_empty
    with schema_context(beta.tenant.schema_name):  # the same run in beta does learn
        run = learn_run(today=tenant_today(), held_out=0)
        model.forget()
        assert run.days_read == 14 and run.legs > 100
        assert not model.corrections().is_empty


def test_history_is_deterministic_and_not_made_twice(alpha, beta):
    truth = Truth.default_for(LONDON, addresses=40, seed=9)
    end = tenant_today(-1)
    with schema_context(alpha.tenant.schema_name):
        first = history_generate(
            days=3, drivers=2, stops_per_route=5, truth=truth, seed=9, end=end, ping_every_s=120
        )
        again = history_generate(
            days=4, drivers=2, stops_per_route=5, truth=truth, seed=9, end=end, ping_every_s=120
        )
        assert again.skipped == first.dates and again.dates == [end - dt.timedelta(days=3)]
        assert Order.objects.count() == 4 * 2 * 5
    with schema_context(beta.tenant.schema_name):  # another cadence of pings, same days
        other = history_generate(
            days=3, drivers=2, stops_per_route=5, truth=truth, seed=9, end=end, ping_every_s=30
        )
    assert other.pings > 3 * first.pings
    assert [(s.date, s.address_key, s.travel_s, s.door_s) for s in other.stops] == [
        (s.date, s.address_key, s.travel_s, s.door_s) for s in first.stops
    ]


def test_seed_history_command_reuses_the_fleet_and_adds_only_new_days(alpha, settings):
    settings.DEMO_DATA = False
    with pytest.raises(CommandError, match="sample data"):
        call_command("seed_history", "--schema", alpha.tenant.schema_name)
    settings.DEMO_DATA = True
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        Depot.objects.create(name="Own depot", lat=LONDON[0], lng=LONDON[1])
    out = StringIO()
    call_command("seed_history", "--schema", schema, "--days", "56", "--drivers", "2", stdout=out)
    assert "56 new days" in out.getvalue()
    call_command("seed_history", "--schema", schema, "--days", "56", "--drivers", "2", stdout=out)
    assert "0 new days (56 there already)" in out.getvalue()
    with schema_context(schema):
        assert Depot.objects.count() == 1 and Driver.objects.count() == 2
        assert Plan.objects.filter(published_by=HISTORY_ACTOR).count() == 56
        assert set(Plan.objects.values_list("depot__name", flat=True)) == {"Own depot"}
